"""Removing what a job made: the failed stage's partial output, or everything.

Every function here is idempotent, so the runner, the sweeper and the console
may all call them for the same job without harm.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hosting import audit
from hosting.basedb.base import BaseDatabases
from hosting.db.models import Job, Planning, Publication, Stage, utcnow
from hosting.db.session import ControlDB
from hosting.jobs.kinds import RESTORES_ROOT, job_prefix
from hosting.jobs.states import JobState, StageState
from hosting.pipeline.registry import STAGES
from hosting.store.base import ObjectStore

REFUSED_INPUT_PREFIXES = ("HHYP_", "PROFILS_")


def clean_failed_stage(store: ObjectStore, basedbs: BaseDatabases, owner_id: str,
                       stage: str | None) -> dict[str, Any]:
    """Remove what the failed stage half-made; earlier stages' committed outputs stay for a retry.
    ``owner_id``: the job's base id, or its own id when it makes no base (see ``ObjectsStage``)."""
    if stage is None:
        return {}
    return STAGES[stage].discard(store, basedbs, owner_id)


def clean_failed_job(db: ControlDB, store: ObjectStore, basedbs: BaseDatabases, job_id: str, *,
                     actor: str) -> bool:
    """Clean what a failed job's failed stage half-made, once, under the job's row lock.

    The lock and the state check make the cleanup and an operator's retry
    exclusive: a retry never starts while a cleanup runs, and a cleanup never
    deletes what a retried job has begun to write again.
    """
    with db.transaction() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.state != JobState.FAILED or job.cleaned_at is not None:
            return False
        stage = session.scalar(select(Stage.name).where(Stage.job_id == job_id, Stage.state == StageState.FAILED))
        removed = clean_failed_stage(store, basedbs, job.base_id or job.id, stage)
        if refused_input(job.error_code):  # never kept: it may hold a clear password, and a retry cannot pass
            removed["inputs"] = delete_inputs(store, job.params)
        mark_cleaned(session, job_id, actor=actor, discarded=False, removed=removed)
    return True


def delete_succeeded_inputs(db: ControlDB, store: ObjectStore, job_id: str) -> bool:
    """A succeeded job's uploads live on in its base and the Controller: delete them, then say so.

    ``cleaned_at`` is set only once they are gone, so the sweeper finishes the
    deletion of a worker that died between the job's success and this call.
    """
    with db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.state != JobState.SUCCEEDED or job.cleaned_at is not None:
            return False
        params, kind = dict(job.params), job.kind
    delete_inputs(store, params)
    if kind == "restore_base":  # the decrypted backup: the base and the Controller hold it now
        store.delete_prefix(job_prefix(RESTORES_ROOT, job_id))
    with db.transaction() as session:
        session.execute(update(Job).where(Job.id == job_id, Job.cleaned_at.is_(None)).values(cleaned_at=utcnow()))
    return True


def discard_job(db: ControlDB, store: ObjectStore, basedbs: BaseDatabases, job_id: str, *, actor: str) -> None:
    """The job is cancelled (or fenced out, or failed past its retention): remove every output and upload."""
    with db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None
    removed = discard_outputs(store, basedbs, job)
    with db.transaction() as session:
        mark_cleaned(session, job_id, actor=actor, discarded=True, removed=removed)


def discard_outputs(store: ObjectStore, basedbs: BaseDatabases, job: Job) -> dict[str, Any]:
    """Remove what every stage made (last stage first, each by its own ``discard``), and the uploaded inputs.
    A job that makes no base owns the outputs under its own id (an export, a backup: ``ObjectsStage``)."""
    done: Counter[str] = Counter()
    for stage in reversed(STAGES.values()):
        discarded = stage.discard(store, basedbs, job.base_id or job.id)
        done.update({what: int(count) for what, count in discarded.items()})
    done["inputs"] = delete_inputs(store, job.params)
    return dict(done)


def refused_input(error_code: str | None) -> bool:
    """Whether a job failed because its .HHYP or .profils breaks its format."""
    return error_code is not None and error_code.startswith(REFUSED_INPUT_PREFIXES)


def delete_inputs(store: ObjectStore, params: dict[str, Any]) -> int:
    keys = [params[name] for name in ("hhyp_key", "profils_key") if params.get(name)]
    for key in keys:
        store.delete(key)
    return len(keys)


def mark_cleaned(session: Session, job_id: str, *, actor: str, discarded: bool,
                 removed: dict[str, Any]) -> None:
    job = session.get(Job, job_id)
    if job is None:
        return
    now = utcnow()
    job.cleaned_at = job.cleaned_at or now
    if discarded:
        job.discarded_at = now
        if job.base_id:
            session.execute(delete(Publication).where(Publication.base_id == job.base_id))
    planning = session.get(Planning, job.planning_id)
    assert planning is not None  # jobs.planning_id is a non-null foreign key
    hosting_number = planning.hosting_number
    audit.record(session, "job.discarded" if discarded else "job.cleaned", actor=actor,
                 job_id=job.id, planning_id=job.planning_id, hosting_number=hosting_number,
                 **{k: v for k, v in removed.items() if v})
