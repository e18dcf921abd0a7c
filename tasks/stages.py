"""The stage tasks: each one line, because the work is in hosting.pipeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task

from config.celery import STAGE_QUEUE
from config.retry import RetryPolicy
from config.settings import get_settings
from tasks.dispatch import task_name
from tasks.runner import run_stage
from workers.app import app

# Options a stage task may set; anything else is a typo that Celery would ignore.
ALLOWED_OPTIONS = frozenset({"soft_time_limit", "time_limit", "rate_limit"})


def stage_task(stage: str, **options: Any) -> Callable[[Callable[..., str]], Task]:
    """Declare a stage task with its explicit name, its known queue and the retry policy."""
    invalid = set(options) - ALLOWED_OPTIONS
    if invalid:
        raise TypeError(f"stage {stage!r}: unknown task options {sorted(invalid)}")
    queue = STAGE_QUEUE.get(stage)
    if queue is None:
        raise TypeError(f"stage {stage!r} has no queue in config.celery.STAGE_QUEUE")
    policy = RetryPolicy.from_settings(get_settings())
    return app.task(name=task_name(stage), bind=True, queue=queue, acks_late=True,
                    reject_on_worker_lost=True, **policy.celery_options(), **options)


@stage_task("unpack")
def unpack(self: Task, job_id: str, stage: str = "unpack") -> str:
    return run_stage(self, job_id, "unpack")


@stage_task("instantiate")
def instantiate(self: Task, job_id: str, stage: str = "instantiate") -> str:
    return run_stage(self, job_id, "instantiate")


@stage_task("publish")
def publish(self: Task, job_id: str, stage: str = "publish") -> str:
    return run_stage(self, job_id, "publish")


@stage_task("assign")
def assign(self: Task, job_id: str, stage: str = "assign") -> str:
    return run_stage(self, job_id, "assign")


@stage_task("export")
def export(self: Task, job_id: str, stage: str = "export") -> str:
    return run_stage(self, job_id, "export")


@stage_task("backup")
def backup(self: Task, job_id: str, stage: str = "backup") -> str:
    return run_stage(self, job_id, "backup")


@stage_task("decrypt")
def decrypt(self: Task, job_id: str, stage: str = "decrypt") -> str:
    return run_stage(self, job_id, "decrypt")


@stage_task("derive")
def derive(self: Task, job_id: str, stage: str = "derive") -> str:
    return run_stage(self, job_id, "derive")
