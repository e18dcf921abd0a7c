"""What an operator does from the dashboard: cancel or retry a job, retry a failure group as one batch.

Each action needs a reason, written with the operator's name into an audit row of the same transaction as
the change. A bulk retry is a dry run first (how many jobs are eligible, how many not and why), then one
batch id for all of it. ``ring`` sends a queued stage's message (``tasks.dispatch``, injected by the web layer).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting import audit
from hosting.dashboard.overview import NO_STAGE, of_hosting
from hosting.db.models import Job, Stage
from hosting.errors import HphostError, InvalidInput
from hosting.jobs import control
from hosting.jobs.enqueue import PlanningBusy, _refuse_if_busy
from hosting.jobs.states import CancelOutcome, JobState, StageState
from hosting.runtime import Runtime

Ring = Callable[[str, str], None]
BATCH_LIMIT = 1000  # jobs in one bulk retry; a larger group is retried in several batches


def require_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < 3:
        raise InvalidInput(field="reason", reason="say why, in a few words (it goes into the audit trail)",
                           where={"field": "reason"})
    return text[:500]


def _output_present(rt: Runtime) -> Callable[[Job, str], bool]:
    from hosting.pipeline.registry import output_present  # the stages (and readers) load on an action, not with pages

    return output_present(rt.store, rt.basedbs)


def retry_job(rt: Runtime, job_id: str, *, actor: str, reason: str, ring: Ring, batch_id: str | None = None) -> str:
    """Re-queue a failed job (its failure cleanup first, as ``hphost jobs retry`` does); returns its stage."""
    from hosting.jobs import cleanup

    cleanup.clean_failed_job(rt.db, rt.store, rt.basedbs, job_id, actor=actor)
    with rt.db.transaction() as session:
        stage = control.retry(session, job_id, actor=actor, output_present=_output_present(rt))
        audit.record_for_job(session, control.get_job(session, job_id), "operator.retry", actor=actor,
                             reason=reason, batch_id=batch_id, from_stage=stage)
    ring(job_id, stage)
    return stage


def cancel_job(rt: Runtime, job_id: str, *, actor: str, reason: str) -> CancelOutcome:
    with rt.db.transaction() as session:
        outcome = control.request_cancel(session, job_id, actor=actor)
        audit.record_for_job(session, control.get_job(session, job_id), "operator.cancel", actor=actor,
                             reason=reason, outcome=outcome.value)
    if outcome == CancelOutcome.CANCELLED:
        from hosting.jobs import cleanup

        cleanup.discard_job(rt.db, rt.store, rt.basedbs, job_id, actor=actor)
    return outcome


@dataclass
class DryRun:
    """A failure group's bulk retry before it is confirmed."""

    code: str
    stage: str
    hosting: str | None = None  # the group within one hosting, or across all
    eligible: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # why-code -> jobs


def _group_jobs(session: Session, code: str, stage: str, hosting: str | None) -> list[Job]:
    query = of_hosting(select(Job).where(Job.state == JobState.FAILED, Job.error_code == code), hosting)
    failed_stage = select(Stage.job_id).where(Stage.state == StageState.FAILED)
    if stage == NO_STAGE:
        query = query.where(Job.id.not_in(failed_stage))
    else:
        query = query.where(Job.id.in_(failed_stage.where(Stage.name == stage)))
    return list(session.scalars(query.order_by(Job.finished_at).limit(BATCH_LIMIT)))


def _why_not(session: Session, job: Job, taken: set[str]) -> str | None:
    """The code that keeps ``job`` out of a retry now, else None (``taken``: plannings the batch retries)."""
    stale = control.stale_job(session, job)
    if stale is not None:
        return stale.code
    if job.planning_id in taken:
        return PlanningBusy.code
    try:
        _refuse_if_busy(session, job.planning_id)
    except PlanningBusy as busy:
        return busy.code
    return None


def dry_run(session: Session, code: str, stage: str, hosting: str | None = None) -> DryRun:
    """Which jobs of the group a retry would take, and why the others not (changes nothing)."""
    result = DryRun(code, stage, hosting)
    taken: set[str] = set()
    for job in _group_jobs(session, code, stage, hosting):
        why = _why_not(session, job, taken)
        if why is None:
            result.eligible.append(job.id)
            taken.add(job.planning_id)
        else:
            result.refused[why] += 1
    return result


@dataclass
class BatchResult:
    batch_id: str
    retried: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # job id -> code (changed since the dry run)


def retry_group(rt: Runtime, code: str, stage: str, *, actor: str, reason: str, ring: Ring,
                hosting: str | None = None) -> BatchResult:
    """Retry the eligible jobs of a failure group as one batch (one audit row for it, one per job)."""
    reason = require_reason(reason)
    with rt.db.transaction() as session:
        plan = dry_run(session, code, stage, hosting)
        batch = BatchResult(uuid.uuid4().hex)
        audit.record(session, "operator.bulk_retry", actor=actor, reason=reason, batch_id=batch.batch_id,
                     code=code, stage=stage, hosting_number=hosting, eligible=len(plan.eligible),
                     refused=dict(plan.refused))
    for job_id in plan.eligible:
        try:
            retry_job(rt, job_id, actor=actor, reason=reason, ring=ring, batch_id=batch.batch_id)
            batch.retried.append(job_id)
        except HphostError as refused:
            batch.refused[job_id] = refused.code
    return batch
