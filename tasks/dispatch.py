"""Ringing the doorbell: send a stage's message to its queue."""

from __future__ import annotations

from hosting.jobs.kinds import STAGE_QUEUE


def task_name(stage: str) -> str:
    return f"hphost.stage.{stage}"


def dispatch(job_id: str, stage: str, countdown_s: float | None = None) -> None:
    """Enqueue (job, stage). Safe to call twice: the stage row lets one delivery run."""
    from workers.app import app

    app.send_task(task_name(stage), args=[job_id, stage], queue=STAGE_QUEUE[stage],
                  routing_key=STAGE_QUEUE[stage], countdown=countdown_s)
