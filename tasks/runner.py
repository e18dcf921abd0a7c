"""The Celery side of one delivery: claim the stage, hand it to hosting.jobs.delivery, map the outcome.

When the control DB cannot be reached to claim, the message is re-sent later;
when it cannot be reached to record, the runner lets go (the lease expires and
the sweeper re-enqueues the stage).
"""

from __future__ import annotations

import os
import socket
import uuid

import structlog
from celery import Task

from config.logging import get_logger
from hosting.errors import DatabaseUnavailable
from hosting.jobs import lifecycle
from hosting.jobs.delivery import RetryLater, run_claimed
from hosting.jobs.lifecycle import ClaimRefused
from hosting.jobs.states import Delivery
from hosting.runtime import get_runtime
from tasks.dispatch import dispatch

log = get_logger("hphost.stage")


def run_stage(task: Task, job_id: str, stage: str) -> str:
    """Run one delivery of ``stage`` of ``job_id``; returns what became of it."""
    rt = get_runtime()
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    try:
        with rt.db.transaction() as session:
            claim = lifecycle.claim(session, job_id, stage, owner, lease_s=rt.settings.lease_s,
                                    max_deliveries=rt.settings.max_deliveries)
    except DatabaseUnavailable as exc:
        # Not counted anywhere: the stage row that counts is out of reach, and the task allows
        # any number of re-sends (max_retries=None), so the stage waits the outage out.
        log.warning("claim_deferred", job_id=job_id, stage=stage, code=exc.code, reason=exc.message,
                    where=exc.where or None)
        raise task.retry(countdown=rt.settings.heartbeat_s) from None
    if isinstance(claim, ClaimRefused):
        log.info("delivery_ignored", job_id=job_id, stage=stage, reason=claim.reason)
        return claim.reason
    structlog.contextvars.bind_contextvars(**claim.log_context())
    try:
        return run_claimed(rt, claim, dispatch)
    except RetryLater as later:
        # Celery's own retry re-sends the message; if that send fails, the sweeper re-sends it.
        raise task.retry(countdown=later.countdown_s) from None
    except DatabaseUnavailable as exc:
        log.warning("outcome_not_recorded", code=exc.code, reason=exc.message, where=exc.where or None)
        return Delivery.LEASE_ABANDONED
