"""The Celery application. Workers: ``hphost worker`` (which runs ``celery -A workers.app worker`` with the
environment of :mod:`workers.shutdown`)."""

from __future__ import annotations

from celery import Celery

from config.celery import celery_config
from config.logging import configure_logging
from config.settings import get_settings


def make_app() -> Celery:
    settings = get_settings()
    # Before Celery's own start-up checks, so their warnings are JSON lines too.
    configure_logging(settings.log_level, settings.log_json)
    app = Celery("hphost", set_as_current=True)
    app.config_from_object(celery_config(settings))
    app.conf.imports = ("tasks.stages", "tasks.backups")
    return app


app = make_app()

# Signal handlers: one module per concern (log context, sweeper, how a worker stops).
from workers import liveness, logcontext, shutdown, sweeper  # noqa: E402,F401
