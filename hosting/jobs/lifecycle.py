"""Stage and job transitions. Each function is one transaction's worth of change,
written together with its audit rows; the caller owns the transaction.

The broker is a doorbell: a message names (job, stage) and the stage row decides
whether it runs. ``claim`` is a conditional update, so of two deliveries of one
stage (redelivery, sweeper, a duplicate) exactly one runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import EllipsisType
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import BaseRecord, Job, Planning, Stage, utcnow
from hosting.db.session import rows_updated
from hosting.errors import HphostError, PermanentError
from hosting.jobs.control import finalize_cancel, stale_job
from hosting.jobs.states import (
    ACTIVE_JOB_STATES,
    DONE_STAGE_STATES,
    BaseState,
    ClaimRefusal,
    Completed,
    Completion,
    JobState,
    RetryDecision,
    StageState,
)


class DeliveryLimit(PermanentError):
    """Stage {stage} was delivered {deliveries} times without finishing (its worker died each time)."""

    code = "STAGE_DELIVERY_LIMIT"


@dataclass
class Claim:
    """What a worker needs to run a stage it has claimed."""

    job_id: str
    stage: str
    stage_id: int
    owner: str
    kind: str
    planning_id: str
    hosting_number: str
    base_id: str | None
    params: dict[str, Any]
    attempts: int
    deliveries: int
    # Deliveries before this one that never recorded an outcome (their worker died).
    lost_deliveries: int = 0

    def log_context(self) -> dict[str, str | None]:
        return {"job_id": self.job_id, "stage": self.stage, "planning_id": self.planning_id,
                "hosting_number": self.hosting_number}


@dataclass
class ClaimRefused:
    reason: ClaimRefusal


def claim(session: Session, job_id: str, stage_name: str, owner: str, *, lease_s: float,
          max_deliveries: int) -> Claim | ClaimRefused:
    """Take the stage for ``owner`` if it is queued or its lease has expired."""
    now = utcnow()
    stage = session.scalars(select(Stage).where(Stage.job_id == job_id, Stage.name == stage_name)).first()
    job = session.get(Job, job_id)
    if stage is None or job is None:
        return ClaimRefused(ClaimRefusal.UNKNOWN)
    if job.state not in ACTIVE_JOB_STATES:
        return ClaimRefused(ClaimRefusal.JOB_FINAL)
    taken = rows_updated(session,
        update(Stage)
        .where(Stage.id == stage.id,
               or_(Stage.state == StageState.QUEUED,
                   (Stage.state == StageState.RUNNING) & (Stage.lease_expires_at < now)))
        .values(state=StageState.RUNNING, lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s),
                deliveries=Stage.deliveries + 1, started_at=now)
        .execution_options(synchronize_session=False)
    )
    if not taken:
        return ClaimRefused(ClaimRefusal.ALREADY_DONE if stage.state in DONE_STAGE_STATES else
                            ClaimRefusal.RUNNING_ELSEWHERE if stage.state == StageState.RUNNING
                            else ClaimRefusal.NOT_QUEUED)
    session.refresh(stage)
    planning = session.get(Planning, job.planning_id)
    assert planning is not None
    if job.state == JobState.QUEUED:
        job.state, job.started_at = JobState.RUNNING, now
        audit.record(session, "job.running", actor=owner, job_id=job_id,
                     planning_id=job.planning_id, hosting_number=planning.hosting_number)
    audit.record(session, "stage.running", actor=owner, job_id=job_id, stage=stage_name,
                 planning_id=job.planning_id, hosting_number=planning.hosting_number,
                 delivery=stage.deliveries, attempt=stage.attempts + 1)
    return Claim(job_id=job_id, stage=stage_name, stage_id=stage.id, owner=owner, kind=job.kind,
                 planning_id=job.planning_id, hosting_number=planning.hosting_number,
                 base_id=job.base_id, params=dict(job.params), attempts=stage.attempts,
                 deliveries=stage.deliveries, lost_deliveries=stage.deliveries - stage.attempts - 1)


def _owned_stage(session: Session, claim_: Claim) -> Stage | None:
    stage = session.get(Stage, claim_.stage_id, with_for_update=True)
    if stage is None or stage.state != StageState.RUNNING or stage.lease_owner != claim_.owner:
        return None
    return stage


def complete(session: Session, claim_: Claim, result: dict[str, Any], *, skipped: bool = False,
             skip_reason: str | None = None,
             apply: Callable[[Session], None] | None = None) -> Completed:
    """Record the stage's success; queue the next stage or finish the job.

    ``apply`` (the stage's control-DB effects) runs first in the same
    transaction, only if this worker still owns the stage. Returns what it led to
    (see :class:`~hosting.jobs.states.Completion`), with the stage to dispatch next.
    """
    stage = _owned_stage(session, claim_)
    if stage is None:
        return Completed(Completion.LOST)
    job = session.get(Job, claim_.job_id)
    assert job is not None
    if job.cancel_requested:
        finalize_cancel(session, job, actor=claim_.owner)
        return Completed(Completion.CANCELLED)
    following = session.scalars(
        select(Stage).where(Stage.job_id == claim_.job_id, Stage.position > stage.position)
        .order_by(Stage.position)
    ).first()
    stale = stale_job(session, job, lock=True) if following is None else None
    if stale is not None:
        fail_job(session, job.id, stale, stage=stage, actor=claim_.owner)
        return Completed(Completion.STALE)
    if apply is not None:
        apply(session)
    _record_done(session, claim_, stage, result, skipped=skipped, skip_reason=skip_reason)
    if following is not None:
        following.state, following.due_at = StageState.QUEUED, utcnow()
        _audit(session, claim_, "stage.queued", stage=following.name)
        return Completed(Completion.NEXT, following.name)
    finish_job(session, claim_)
    return Completed(Completion.FINISHED)


def _record_done(session: Session, claim_: Claim, stage: Stage, result: dict[str, Any], *, skipped: bool,
                 skip_reason: str | None) -> None:
    stage.state = StageState.SKIPPED if skipped else StageState.SUCCEEDED
    stage.finished_at, stage.lease_owner, stage.lease_expires_at = utcnow(), None, None
    stage.result = {**result, "skip_reason": skip_reason} if skipped else result
    if stage.progress_total:  # the last heartbeat may have recorded less than all of it
        stage.progress_done = stage.progress_total
    _audit(session, claim_, "stage.skipped" if skipped else "stage.succeeded",
           **({"reason": skip_reason} if skip_reason else {}))


def finish_job(session: Session, claim_: Claim) -> None:
    """The job succeeded: for a base job, put the new base in service, retire the old one and
    advance the planning's base generation (the fence of every job created before this swap)."""
    job = session.get(Job, claim_.job_id)
    assert job is not None
    now = utcnow()
    job.state, job.finished_at = JobState.SUCCEEDED, now
    if job.base_id:
        planning = session.get(Planning, job.planning_id, with_for_update=True)
        assert planning is not None
        old = session.scalars(select(BaseRecord).where(
            BaseRecord.planning_id == planning.id, BaseRecord.state == BaseState.IN_SERVICE)).first()
        if old is not None:
            old.state, old.retired_at = BaseState.RETIRED, now
            _audit(session, claim_, "base.retired", stage=None, base_id=old.id)
            session.flush()  # free the one-in-service slot before taking it
        new = session.get(BaseRecord, job.base_id)
        assert new is not None
        new.state, new.in_service_at = BaseState.IN_SERVICE, now
        planning.current_base_id = new.id
        planning.base_generation += 1
        _audit(session, claim_, "base.in_service", stage=None, base_id=new.id,
               replaced=old.id if old is not None else None)
    _audit(session, claim_, "job.succeeded", stage=None)


def schedule_retry(session: Session, claim_: Claim, error: HphostError, *, countdown_s: float,
                   max_retries: int) -> RetryDecision:
    """Put the stage back in the queue after a transient error (EXHAUSTED: the cap is reached, fail the job)."""
    stage = _owned_stage(session, claim_)
    if stage is None:
        return RetryDecision.LOST
    if stage.attempts >= max_retries:
        return RetryDecision.EXHAUSTED
    stage.attempts += 1
    stage.state, stage.lease_owner, stage.lease_expires_at = StageState.QUEUED, None, None
    stage.due_at = utcnow() + timedelta(seconds=countdown_s)
    stage.error_code, stage.error_message, stage.error_where = error.code, error.message, error.where
    _audit(session, claim_, "stage.retry", attempt=stage.attempts, code=error.code,
           countdown_s=round(countdown_s, 2))
    return RetryDecision.SCHEDULED


def fail(session: Session, claim_: Claim, error: HphostError) -> bool:
    """Fail the stage and its job with the error's code, message and place."""
    stage = _owned_stage(session, claim_)
    if stage is None:
        return False
    fail_job(session, claim_.job_id, error, stage=stage, actor=claim_.owner)
    return True


def fail_job(session: Session, job_id: str, error: HphostError, *, stage: Stage | None,
             actor: str) -> None:
    """Mark a job failed (its base too); the caller cleans what the failed stage left."""
    job = session.get(Job, job_id)
    assert job is not None
    now = utcnow()
    if stage is not None:
        stage.state, stage.finished_at = StageState.FAILED, now
        stage.lease_owner, stage.lease_expires_at = None, None
        stage.error_code, stage.error_message, stage.error_where = error.code, error.message, error.where
    job.state, job.finished_at, job.cleaned_at = JobState.FAILED, now, None
    job.error_code, job.error_message, job.error_where = error.code, error.message, error.where
    if job.base_id:
        base = session.get(BaseRecord, job.base_id)
        if base is not None and base.state in (BaseState.LOADING, BaseState.READY):
            base.state = BaseState.FAILED
    if stage is not None:
        audit.record_for_job(session, job, "stage.failed", actor=actor, stage=stage.name, code=error.code)
    audit.record_for_job(session, job, "job.failed", actor=actor, code=error.code, where=error.where or None)


def _audit(session: Session, claim_: Claim, action: str, stage: str | None | EllipsisType = ...,
           **data: Any) -> None:
    audit.record(session, action, actor=claim_.owner, job_id=claim_.job_id,
                 stage=claim_.stage if stage is ... else stage,
                 planning_id=claim_.planning_id, hosting_number=claim_.hosting_number, **data)

