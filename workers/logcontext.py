"""Log context: JSON logging in every worker process, ids bound per task."""

from __future__ import annotations

import structlog
from celery.signals import setup_logging, task_postrun, worker_process_init

from config.logging import configure_logging
from config.settings import get_settings


@setup_logging.connect
def _configure(**_kwargs: object) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


@worker_process_init.connect
def _fresh_child(**_kwargs: object) -> None:
    structlog.contextvars.clear_contextvars()


@task_postrun.connect
def _unbind(**_kwargs: object) -> None:
    structlog.contextvars.clear_contextvars()
