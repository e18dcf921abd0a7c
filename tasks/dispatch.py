"""Ringing the doorbell: send a stage's message to its queue."""

from __future__ import annotations

import threading

from celery import Celery

from config.celery import STAGE_QUEUE, celery_config
from config.settings import Settings, get_settings

_producers: dict[tuple[str, str], Celery] = {}
_lock = threading.Lock()


def task_name(stage: str) -> str:
    return f"hphost.stage.{stage}"


def producer_app(settings: Settings) -> Celery:
    """A Celery app that only sends, one per broker (clients may talk to several)."""
    # Every embedded broker is "filesystem://": its folder tells them apart.
    key = (settings.broker_url, str(settings.broker_folder) if settings.embedded_broker else "")
    with _lock:
        app = _producers.get(key)
        if app is None:
            app = Celery("hphost-producer", set_as_current=False)
            app.config_from_object(celery_config(settings))
            _producers[key] = app
        return app


def dispatch(job_id: str, stage: str, countdown_s: float | None = None,
             settings: Settings | None = None) -> None:
    """Enqueue (job, stage). Safe to call twice: the stage row lets one delivery run."""
    app = producer_app(settings or get_settings())
    app.send_task(task_name(stage), args=[job_id, stage], queue=STAGE_QUEUE[stage],
                  routing_key=STAGE_QUEUE[stage], countdown=countdown_s)
