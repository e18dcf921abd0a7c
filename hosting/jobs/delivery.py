"""One delivery of a claimed stage, free of Celery: run it under its heartbeat, record what became
of it, and apply the job's policy (delivery limit, failure cleanup, next dispatch, input deletion,
discard of a cancelled or fenced-out job). ``tasks.runner`` only adapts it to a Celery task.

Every outcome is recorded in the stage row before the message is acknowledged
(acks_late). When even recording is impossible (control DB down), the caller
lets go: the lease expires and the sweeper re-enqueues the stage.
"""

from __future__ import annotations

from collections.abc import Callable

from config.logging import get_logger
from config.retry import RetryPolicy
from hosting.db.models import Job
from hosting.errors import HphostError, PermanentError, TransientError, TransientExhausted
from hosting.jobs import cleanup, lifecycle
from hosting.jobs.control import finalize_cancel
from hosting.jobs.heartbeat import Heartbeat
from hosting.jobs.lifecycle import Claim, DeliveryLimit
from hosting.jobs.states import Completion, Delivery, RetryDecision
from hosting.pipeline.context import JobCancelled, LeaseLost, StageContext, StageOutcome
from hosting.pipeline.registry import STAGES
from hosting.runtime import Runtime

log = get_logger("hphost.stage")
Dispatch = Callable[[str, str], None]


class InternalError(PermanentError):
    """An unexpected {kind} stopped the stage; the worker log has the details."""

    code = "INTERNAL_ERROR"


class RetryLater(Exception):  # noqa: N818 (a request to the adapter, not an error)
    """The stage is queued again after a transient error: re-send its message in ``countdown_s``."""

    def __init__(self, countdown_s: float):
        super().__init__(countdown_s)
        self.countdown_s = countdown_s


def run_claimed(rt: Runtime, claim: Claim, dispatch: Dispatch) -> Delivery | RetryDecision:
    """Run the claimed stage and record its outcome; raises :class:`RetryLater` for a scheduled retry."""
    if claim.lost_deliveries >= rt.settings.max_deliveries:
        return fail_stage(rt, claim, DeliveryLimit(stage=claim.stage, deliveries=claim.lost_deliveries,
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
        return _retry_or_fail(rt, claim, exc)
    except HphostError as exc:
        return fail_stage(rt, claim, exc)
    except Exception as exc:
        log.exception("stage_crashed", error=type(exc).__name__)
        return fail_stage(rt, claim, InternalError(kind=type(exc).__name__, where={"stage": claim.stage}))
    finally:
        heartbeat.stop()
    return _succeeded(rt, claim, outcome, dispatch)


def _succeeded(rt: Runtime, claim: Claim, outcome: StageOutcome, dispatch: Dispatch) -> Delivery:
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
        _ring(dispatch, claim.job_id, completed.next_stage)
    else:
        _delete_inputs(rt, claim)
    return Delivery.SKIPPED if outcome.skipped else Delivery.SUCCEEDED


def _delete_inputs(rt: Runtime, claim: Claim) -> None:
    """The job succeeded: its uploads are inside the base and the Controller now."""
    try:
        cleanup.delete_succeeded_inputs(rt.db, rt.store, claim.job_id)
    except HphostError as exc:  # storage or DB down: the sweeper deletes them later
        log.warning("inputs_cleanup_deferred", code=exc.code)


def _ring(dispatch: Dispatch, job_id: str, stage: str) -> None:
    try:
        dispatch(job_id, stage)
    except Exception as exc:  # the stage row says queued: the sweeper will re-send
        log.warning("dispatch_failed", next_stage=stage, error=type(exc).__name__)


def _retry_or_fail(rt: Runtime, claim: Claim, exc: TransientError) -> Delivery | RetryDecision:
    policy = RetryPolicy.from_settings(rt.settings)
    countdown_s = policy.stage_countdown_s(claim.attempts)
    with rt.db.transaction() as session:
        decision = lifecycle.schedule_retry(session, claim, exc, countdown_s=countdown_s,
                                            max_retries=policy.max_retries)
    if decision == RetryDecision.EXHAUSTED:
        return fail_stage(rt, claim, TransientExhausted(attempts=claim.attempts + 1,
                                                        last_code=f"{exc.code} ({exc.message.rstrip('.')})",
                                                        where={"stage": claim.stage, **exc.where}))
    if decision == RetryDecision.SCHEDULED:
        log.warning("stage_retry", code=exc.code, reason=exc.message, attempt=claim.attempts + 1,
                    countdown_s=round(countdown_s, 2), where=exc.where or None)
        # The adapter re-sends the message; if that send fails, the row
        # still says queued with its due time, and the sweeper re-sends it.
        raise RetryLater(countdown_s)
    return decision


def fail_stage(rt: Runtime, claim: Claim, error: HphostError) -> Delivery:
    """Fail the stage and its job, then clean what the stage half-made (the sweeper does it if this cannot)."""
    with rt.db.transaction() as session:
        if not lifecycle.fail(session, claim, error):
            return Delivery.LEASE_LOST
    log.info("stage_failed", code=error.code, where=error.where or None)
    try:
        cleanup.clean_failed_job(rt.db, rt.store, rt.basedbs, claim.job_id, actor=claim.owner)
    except HphostError as exc:  # storage or DB down: the sweeper finishes the cleanup later
        log.warning("cleanup_deferred", code=exc.code)
    return Delivery.FAILED


def _cancelled(rt: Runtime, claim: Claim) -> Delivery:
    with rt.db.transaction() as session:
        job = session.get(Job, claim.job_id)
        assert job is not None
        finalize_cancel(session, job, actor=claim.owner)
    return _discard(rt, claim)


def _discard(rt: Runtime, claim: Claim) -> Delivery:
    """The job was cancelled (or fenced out): remove every output and upload it had."""
    cleanup.discard_job(rt.db, rt.store, rt.basedbs, claim.job_id, actor=claim.owner)
    return Delivery.CANCELLED
