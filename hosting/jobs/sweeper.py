"""The sweeper: the stage rows are the truth, and it makes the broker agree with them.

It re-enqueues stages whose worker vanished (lease expired) or whose message
was lost (queued too long), finishes cancellations, and cleans what failed or
cancelled jobs left. Every decision is a conditional update plus an audit row,
so any number of sweepers may run at once: each decision is taken exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update

from config.logging import get_logger
from hosting import audit, uploads
from hosting.db.models import Job, Stage, utcnow
from hosting.db.session import rows_updated
from hosting.jobs import cleanup
from hosting.jobs.control import finalize_cancel
from hosting.jobs.delivery import Dispatch
from hosting.jobs.states import ACTIVE_JOB_STATES, JobState, StageState
from hosting.runtime import Runtime

log = get_logger("hphost.sweeper")
FAILED_CLEANUP_GRACE_S = 30.0


@dataclass
class SweepReport:
    requeued: list[tuple[str, str]] = field(default_factory=list)
    redispatched: list[tuple[str, str]] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)
    expired_uploads: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.requeued, self.redispatched, self.cleaned, self.discarded, self.expired_uploads))


def sweep(rt: Runtime, dispatch: Dispatch, *, actor: str = "sweeper",
          failed_retention_s: float = 7 * 86400) -> SweepReport:
    report = SweepReport()
    _requeue_expired(rt, actor, report)
    _redispatch_overdue(rt, actor, report)
    for job_id, stage in report.requeued + report.redispatched:
        dispatch(job_id, stage)
    _clean_failed(rt, actor, report)
    _clean_succeeded(rt, report)
    _discard(rt, actor, report, failed_retention_s)
    report.expired_uploads = uploads.expire(rt, actor=actor)
    if report:
        log.info("sweep", requeued=len(report.requeued), redispatched=len(report.redispatched),
                 cleaned=len(report.cleaned), discarded=len(report.discarded),
                 expired_uploads=len(report.expired_uploads))
    return report


def _requeue_expired(rt: Runtime, actor: str, report: SweepReport) -> None:
    now = utcnow()
    with rt.db.transaction() as session:
        expired = session.execute(
            select(Stage.id, Stage.job_id, Stage.name, Stage.lease_owner)
            .where(Stage.state == StageState.RUNNING, Stage.lease_expires_at < now)).all()
    for stage_id, job_id, name, owner in expired:
        with rt.db.transaction() as session:
            job = session.get(Job, job_id)
            won = rows_updated(session,
                update(Stage).where(Stage.id == stage_id, Stage.state == StageState.RUNNING,
                                    Stage.lease_owner == owner, Stage.lease_expires_at < now)
                .values(state=StageState.QUEUED, lease_owner=None, lease_expires_at=None, due_at=now,
                        dispatches=Stage.dispatches + 1))
            if not won or job is None:
                continue
            audit.record_for_job(session, job, "stage.lease_expired", actor=actor, stage=name, lost_owner=owner)
            if job.cancel_requested:
                finalize_cancel(session, job, actor=actor)
                continue
        report.requeued.append((job_id, name))


def _redispatch_overdue(rt: Runtime, actor: str, report: SweepReport) -> None:
    now = utcnow()
    limit = now - timedelta(seconds=rt.settings.redispatch_after_s)
    with rt.db.transaction() as session:
        overdue = session.execute(
            select(Stage.id, Stage.job_id, Stage.name, Stage.due_at).join(Job, Job.id == Stage.job_id)
            .where(Stage.state == StageState.QUEUED, Stage.due_at < limit,
                   Job.state.in_(ACTIVE_JOB_STATES))).all()
    for stage_id, job_id, name, due_at in overdue:
        with rt.db.transaction() as session:
            won = rows_updated(session,
                update(Stage).where(Stage.id == stage_id, Stage.state == StageState.QUEUED, Stage.due_at == due_at)
                .values(due_at=now, dispatches=Stage.dispatches + 1))
            job = session.get(Job, job_id)
            if not won or job is None:
                continue
            audit.record_for_job(session, job, "stage.redispatched", actor=actor, stage=name)
        report.redispatched.append((job_id, name))


def _clean_failed(rt: Runtime, actor: str, report: SweepReport) -> None:
    """Finish the cleanup of failed jobs whose worker could not clean up (died, storage down)."""
    grace = utcnow() - timedelta(seconds=FAILED_CLEANUP_GRACE_S)
    with rt.db.transaction() as session:
        job_ids = list(session.scalars(select(Job.id).where(
            Job.state == JobState.FAILED, Job.cleaned_at.is_(None), Job.finished_at < grace)))
    for job_id in job_ids:
        if cleanup.clean_failed_job(rt.db, rt.store, rt.basedbs, job_id, actor=actor):
            report.cleaned.append(job_id)


def _clean_succeeded(rt: Runtime, report: SweepReport) -> None:
    """Delete the uploads of succeeded jobs whose worker died before it could."""
    grace = utcnow() - timedelta(seconds=FAILED_CLEANUP_GRACE_S)
    with rt.db.transaction() as session:
        job_ids = list(session.scalars(select(Job.id).where(
            Job.state == JobState.SUCCEEDED, Job.cleaned_at.is_(None), Job.finished_at < grace)))
    for job_id in job_ids:
        if cleanup.delete_succeeded_inputs(rt.db, rt.store, job_id):
            report.cleaned.append(job_id)


def _discard(rt: Runtime, actor: str, report: SweepReport, failed_retention_s: float) -> None:
    """Remove every output of cancelled jobs, and of failed jobs past their retention."""
    expired = utcnow() - timedelta(seconds=failed_retention_s)
    with rt.db.transaction() as session:
        jobs = list(session.scalars(select(Job).where(
            Job.discarded_at.is_(None),
            (Job.state == JobState.CANCELLED) | ((Job.state == JobState.FAILED) & (Job.finished_at < expired)))))
    for job in jobs:
        cleanup.discard_job(rt.db, rt.store, rt.basedbs, job.id, actor=actor)
        report.discarded.append(job.id)
