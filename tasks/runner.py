"""Running one delivery of one stage: claim, heartbeat, call the domain, record.

Every outcome is recorded in the stage row before the message is acknowledged
(acks_late). When even recording is impossible (control DB down), the runner
lets go: the lease expires and the sweeper re-enqueues the stage.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid

import structlog
from celery import Task

from config.logging import get_logger
from config.retry import RetryPolicy
from hosting.db.models import Job
from hosting.errors import DatabaseUnavailable, HphostError, PermanentError, TransientError, TransientExhausted
from hosting.jobs import cleanup, lifecycle
from hosting.jobs.control import finalize_cancel
from hosting.jobs.lifecycle import Claim, ClaimRefused, DeliveryLimit
from hosting.jobs.states import Completion, Delivery, RetryDecision
from hosting.pipeline.context import JobCancelled, LeaseLost, StageContext
from hosting.pipeline.registry import STAGES
from hosting.runtime import Runtime, get_runtime
from tasks.dispatch import dispatch

log = get_logger("hphost.stage")


class InternalError(PermanentError):
    """An unexpected {kind} stopped the stage; the worker log has the details."""

    code = "INTERNAL_ERROR"


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
        return _run_claimed(task, rt, claim)
    except DatabaseUnavailable as exc:
        log.warning("outcome_not_recorded", code=exc.code, reason=exc.message, where=exc.where or None)
        return Delivery.LEASE_ABANDONED


def _run_claimed(task: Task, rt: Runtime, claim: Claim) -> str:
    if claim.lost_deliveries >= rt.settings.max_deliveries:
        return _failed(rt, claim, DeliveryLimit(stage=claim.stage, deliveries=claim.lost_deliveries,
                                                where={"stage": claim.stage}))
    heartbeat = Heartbeat(rt, claim)
    heartbeat.start()
    ctx = StageContext(claim=claim, settings=rt.settings, db=rt.db, store=rt.store, basedbs=rt.basedbs,
                       cancelled=heartbeat.cancel.is_set, lease_lost=heartbeat.lost.is_set,
                       progress=heartbeat.set_progress)
    try:
        outcome = STAGES[claim.stage].run(ctx)
    except JobCancelled:
        return _cancelled(rt, claim)
    except LeaseLost:
        log.warning("lease_lost")
        return Delivery.LEASE_LOST
    except TransientError as exc:
        return _retry_or_fail(task, rt, claim, exc)
    except HphostError as exc:
        return _failed(rt, claim, exc)
    except Exception as exc:
        log.exception("stage_crashed", error=type(exc).__name__)
        return _failed(rt, claim, InternalError(kind=type(exc).__name__, where={"stage": claim.stage}))
    finally:
        heartbeat.stop()
    with rt.db.transaction() as session:
        completed = lifecycle.complete(session, claim, outcome.result, skipped=outcome.skipped,
                                       skip_reason=outcome.skip_reason, apply=outcome.apply)
    if completed.outcome == Completion.LOST:
        log.warning("lease_lost_at_commit")
        return Delivery.LEASE_LOST
    if completed.outcome == Completion.CANCELLED:
        return _discard(rt, claim)
    if completed.outcome == Completion.STALE:
        log.info("stage_failed", code="STALE_JOB")
        _discard(rt, claim)
        return Delivery.FAILED
    if completed.next_stage is not None:
        _ring(claim.job_id, completed.next_stage)
    elif claim.kind != "create_base":
        # The job succeeded: its uploads are now inside the base and the Controller.
        cleanup.delete_inputs(rt.store, claim.params)
    return Delivery.SKIPPED if outcome.skipped else Delivery.SUCCEEDED


def _ring(job_id: str, stage: str, countdown_s: float | None = None) -> None:
    try:
        dispatch(job_id, stage, countdown_s)
    except Exception as exc:  # the stage row says queued: the sweeper will re-send
        log.warning("dispatch_failed", next_stage=stage, error=type(exc).__name__)


def _retry_or_fail(task: Task, rt: Runtime, claim: Claim, exc: TransientError) -> str:
    policy = RetryPolicy.from_settings(rt.settings)
    countdown_s = policy.stage_countdown_s(claim.attempts)
    with rt.db.transaction() as session:
        decision = lifecycle.schedule_retry(session, claim, exc, countdown_s=countdown_s,
                                            max_retries=policy.max_retries)
    if decision == RetryDecision.EXHAUSTED:
        return _failed(rt, claim, TransientExhausted(attempts=claim.attempts + 1,
                                                     last_code=f"{exc.code} ({exc.message.rstrip('.')})",
                                                     where={"stage": claim.stage, **exc.where}))
    if decision == RetryDecision.SCHEDULED:
        log.warning("stage_retry", code=exc.code, reason=exc.message, attempt=claim.attempts + 1,
                    countdown_s=round(countdown_s, 2), where=exc.where or None)
        # Celery's own retry re-sends the message; if that send fails, the row
        # still says queued with its due time, and the sweeper re-sends it.
        raise task.retry(countdown=countdown_s)
    return decision


def _failed(rt: Runtime, claim: Claim, error: HphostError) -> str:
    with rt.db.transaction() as session:
        if not lifecycle.fail(session, claim, error):
            return Delivery.LEASE_LOST
    log.info("stage_failed", code=error.code, where=error.where or None)
    try:
        cleanup.clean_failed_job(rt.db, rt.store, rt.basedbs, claim.job_id, actor=claim.owner)
    except HphostError as exc:  # storage or DB down: the sweeper finishes the cleanup later
        log.warning("cleanup_deferred", code=exc.code)
    return Delivery.FAILED


def _cancelled(rt: Runtime, claim: Claim) -> str:
    with rt.db.transaction() as session:
        job = session.get(Job, claim.job_id)
        assert job is not None
        finalize_cancel(session, job, actor=claim.owner)
    return _discard(rt, claim)


def _discard(rt: Runtime, claim: Claim) -> str:
    """The job was cancelled (or fenced out): remove every output and upload it had."""
    cleanup.discard_job(rt.db, rt.store, rt.basedbs, claim.job_id, actor=claim.owner)
    return Delivery.CANCELLED


class Heartbeat:
    """Renews the stage's lease while it runs; notices cancellation and lost leases.

    The lease is renewed every ``heartbeat_s``; a cancel request is looked for
    every ``CANCEL_POLL_S`` in between (one indexed read), so that a stage
    stops at its next checkpoint within seconds of ``jobs cancel``.
    """

    CANCEL_POLL_S = 1.0

    def __init__(self, rt: Runtime, claim: Claim):
        self._rt, self._claim = rt, claim
        self.cancel, self.lost, self._stop = threading.Event(), threading.Event(), threading.Event()
        self._progress: tuple[int | None, int | None] = (None, None)
        self._thread = threading.Thread(target=self._run, name="hphost-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def set_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)

    def _run(self) -> None:
        heartbeat_s = self._rt.settings.heartbeat_s
        next_beat = time.monotonic() + heartbeat_s
        while not self._stop.wait(min(self.CANCEL_POLL_S, heartbeat_s)):
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + heartbeat_s
                self._beat()
            else:
                self._look_for_cancel()

    def _beat(self) -> None:
        done, total = self._progress
        try:
            with self._rt.db.transaction() as session:
                beat = lifecycle.heartbeat(session, self._claim, lease_s=self._rt.settings.lease_s,
                                           done=done, total=total)
        except HphostError as exc:  # keep beating: the DB may come back before the lease ends
            log.warning("heartbeat_failed", code=exc.code, reason=exc.message, where=exc.where or None)
            return
        except Exception as exc:
            log.warning("heartbeat_failed", error=type(exc).__name__)
            return
        if beat.lost:
            self.lost.set()
        if beat.cancel:
            self.cancel.set()

    def _look_for_cancel(self) -> None:
        try:
            with self._rt.db.transaction() as session:
                wanted = lifecycle.cancel_requested(session, self._claim)
        except Exception:  # the next beat says what is wrong
            return
        if wanted:
            self.cancel.set()
