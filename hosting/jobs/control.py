"""Operator decisions on a job: cancel it, or retry it from where it failed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import BaseRecord, Job, Planning, Stage, utcnow
from hosting.errors import Conflict, NotFound, PermanentError, TransientError
from hosting.jobs.enqueue import _refuse_if_busy
from hosting.jobs.states import DONE_STAGE_STATES, OPEN_STAGE_STATES, BaseState, CancelOutcome, JobState, StageState


class CleanupPending(TransientError):
    """Job {job_id} is still being cleaned up after its failure; retry it in a moment."""

    code = "CLEANUP_PENDING"


class JobFinal(Conflict):
    """Job {job_id} is {state}; nothing to {action}."""

    code = "JOB_FINAL"


class StaleJob(PermanentError):
    """A newer base went into service since job {job_id} was created; enqueue a new job instead."""

    code = "STALE_JOB"


def stale_job(session: Session, job: Job, *, lock: bool = False) -> StaleJob | None:
    """The refusal of a base job whose fence is behind its planning's base generation, else None.

    ``lock`` takes the planning row first, as the swap does, so no swap commits in between.
    """
    if not job.base_id:
        return None
    planning = session.get(Planning, job.planning_id, with_for_update=lock)
    assert planning is not None  # jobs.planning_id is a non-null foreign key
    if planning.base_generation == job.fence:
        return None
    return StaleJob(job_id=job.id, where={"job_id": job.id, "planning_id": planning.id, "job_fence": job.fence,
                                          "base_generation": planning.base_generation})


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(kind="Job", ident=job_id, where={"job_id": job_id})
    return job


def stages(session: Session, job_id: str) -> list[Stage]:
    return list(session.scalars(select(Stage).where(Stage.job_id == job_id).order_by(Stage.position)))


def request_cancel(session: Session, job_id: str, *, actor: str) -> CancelOutcome:
    """Cancel a job; returns CANCELLED (outputs to discard now) or CANCELLING.

    A running stage is asked to stop at its next checkpoint and does the rest
    itself; a failed job is discarded (its retained outputs removed).
    """
    job = get_job(session, job_id)
    if job.state in (JobState.SUCCEEDED, JobState.CANCELLED):
        raise JobFinal(job_id=job_id, state=job.state, action="cancel", where={"job_id": job_id})
    running = [s for s in stages(session, job_id) if s.state == StageState.RUNNING
               and s.lease_expires_at is not None and s.lease_expires_at > utcnow()]
    if running:
        job.cancel_requested = True
        audit.record_for_job(session, job, "job.cancel_requested", actor=actor)
        return CancelOutcome.CANCELLING
    finalize_cancel(session, job, actor=actor)
    return CancelOutcome.CANCELLED


def finalize_cancel(session: Session, job: Job, *, actor: str) -> None:
    """The job stops here: its stages and base are marked, and its outputs are to be discarded."""
    now = utcnow()
    for stage in stages(session, job.id):
        if stage.state in OPEN_STAGE_STATES:
            stage.state, stage.finished_at, stage.lease_owner = StageState.CANCELLED, now, None
    job.state, job.finished_at, job.cancel_requested = JobState.CANCELLED, job.finished_at or now, False
    job.cleaned_at = job.discarded_at = None
    if job.base_id:
        base = session.get(BaseRecord, job.base_id)
        if base is not None and base.state != BaseState.IN_SERVICE:
            base.state = BaseState.FAILED
    audit.record_for_job(session, job, "job.cancelled", actor=actor)


def retry(session: Session, job_id: str, *, actor: str,
          output_present: Callable[[Job, str], bool]) -> str:
    """Re-queue a failed job from its first stage whose output is missing; returns that stage."""
    job = session.get(Job, job_id, with_for_update=True) or get_job(session, job_id)
    if job.state != JobState.FAILED:
        raise JobFinal(job_id=job_id, state=job.state, action="retry", where={"job_id": job_id})
    stale = stale_job(session, job)
    if stale is not None:
        raise stale
    if job.cleaned_at is None:
        raise CleanupPending(job_id=job_id, where={"job_id": job_id})
    _refuse_if_busy(session, job.planning_id)
    ordered = stages(session, job_id)
    restart = next((s for s in ordered if s.state not in DONE_STAGE_STATES
                    or not output_present(job, s.name)), ordered[-1])
    for stage in ordered[restart.position:]:
        stage.state = StageState.QUEUED if stage is restart else StageState.PENDING
        stage.attempts = stage.deliveries = 0
        stage.error_code = stage.error_message = stage.error_where = None
        stage.lease_owner = stage.lease_expires_at = stage.finished_at = None
        stage.due_at = utcnow() if stage is restart else None
    job.state, job.finished_at = JobState.QUEUED, None
    job.error_code = job.error_message = job.error_where = None
    job.cleaned_at = job.discarded_at = None
    if job.base_id:
        base = session.get(BaseRecord, job.base_id)
        if base is not None:
            base.state = BaseState.LOADING
    audit.record_for_job(session, job, "job.retried", actor=actor, from_stage=restart.name)
    return restart.name
