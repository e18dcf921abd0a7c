"""Nightly backups: Celery beat only rings; each due run is a ``backup_runs`` row claimed under a lease.

A tick (any number of beat processes, at any time) plans tonight's run of every planning with a base in
service (one row per planning and night: a unique key), claims due runs with a conditional update, and
enqueues each claimed run's ``backup_base`` job under an idempotency key naming the planning and the
night: two beats, or one restarted mid-tick, never make two backups of a night. Only the current night
is planned, so nights missed while no beat ran are caught up by one backup, not one each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hosting.backups.retention import Kept, apply_retention
from hosting.backups.service import checked_params
from hosting.db.models import BackupRun, Job, Planning
from hosting.db.session import rows_updated
from hosting.errors import Conflict
from hosting.jobs.control import stages
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.states import FINAL_JOB_STATES, JobState
from hosting.runtime import Runtime

MAX_ATTEMPTS = 3  # jobs of one night's run before it is left failed
Ring = Callable[[str, str], None]


def night_of(now: dt.datetime, hour_utc: int) -> str:
    """The night whose backup is due at ``now``: today's from ``hour_utc`` on, else yesterday's."""
    day = now.date() if now.hour >= hour_utc else now.date() - dt.timedelta(days=1)
    return day.isoformat()


def tick(rt: Runtime, *, now: dt.datetime, owner: str, ring: Ring) -> dict[str, Any]:
    """One beat: plan tonight's runs, settle finished ones, claim and enqueue due ones, apply retention."""
    settings = rt.settings
    night = night_of(now, settings.backup_hour_utc)
    with rt.db.transaction() as session:
        planned = _plan(session, night)
    with rt.db.transaction() as session:
        settled = _settle(session, now)
    enqueued = [run_id for run_id in _claim(rt, now, owner) if _enqueue(rt, run_id, owner, ring)]
    kept = Kept(settings.backup_keep_daily, settings.backup_keep_weekly, settings.backup_keep_monthly)
    deleted = apply_retention(rt, now, kept)
    return {"night": night, "planned": planned, "settled": settled, "enqueued": len(enqueued), "deleted": deleted}


def _plan(session: Session, night: str) -> int:
    served = session.scalars(select(Planning.id).where(Planning.current_base_id.is_not(None)))
    have = set(session.scalars(select(BackupRun.planning_id).where(BackupRun.night == night)))
    planned = 0
    for planning_id in served:
        if planning_id in have:
            continue
        try:
            with session.begin_nested():  # another beat may insert the same row: the unique key decides
                session.add(BackupRun(planning_id=planning_id, night=night, state="due"))
            planned += 1
        except IntegrityError:
            pass
    return planned


def _settle(session: Session, now: dt.datetime) -> int:
    """Runs whose job ended: done, or due again (a new job) until MAX_ATTEMPTS."""
    settled = 0
    for run, state in session.execute(select(BackupRun, Job.state).join(Job, Job.id == BackupRun.job_id)
                                      .where(BackupRun.state == "enqueued", Job.state.in_(FINAL_JOB_STATES))):
        settled += 1
        if state == JobState.SUCCEEDED:
            run.state = "done"
        else:
            run.state = "due" if run.attempts < MAX_ATTEMPTS else "failed"
        run.lease_owner, run.lease_expires_at, run.updated_at = None, None, now
    return settled


def _claim(rt: Runtime, now: dt.datetime, owner: str) -> list[int]:
    lease = dt.timedelta(seconds=rt.settings.lease_s)
    with rt.db.transaction() as session:
        candidates = list(session.scalars(select(BackupRun.id).where(or_(
            BackupRun.state == "due", (BackupRun.state == "claimed") & (BackupRun.lease_expires_at < now)))))
        return [run_id for run_id in candidates if rows_updated(session, update(BackupRun).where(
            BackupRun.id == run_id, or_(BackupRun.state == "due", (BackupRun.state == "claimed")
                                        & (BackupRun.lease_expires_at < now)))
            .values(state="claimed", lease_owner=owner, lease_expires_at=now + lease, updated_at=now,
                    attempts=BackupRun.attempts + 1).execution_options(synchronize_session=False))]


def _enqueue(rt: Runtime, run_id: int, owner: str, ring: Ring) -> bool:
    """The run's job (the same one for the same night and attempt, whoever asks); False when not now."""
    with rt.db.transaction() as session:
        run = session.get(BackupRun, run_id)
        if run is None or run.state != "claimed" or run.lease_owner != owner:
            return False  # the lease went to another beat meanwhile
        planning = session.get(Planning, run.planning_id)
        assert planning is not None
        try:
            params = checked_params(session, rt.basedbs, "backup_base", planning, {"night": run.night})
            with session.begin_nested():
                job, _created = enqueue(session, JobRequest(
                    kind="backup_base", planning=planning.id, params=params, requested_by=f"beat:{owner}",
                    idempotency_key=f"nightly:{planning.id}:{run.night}:{run.attempts}"))
        except Conflict:  # busy (a load running) or no base any more: due again at the next tick
            run.state, run.lease_owner, run.lease_expires_at = "due", None, None
            return False
        run.state, run.job_id = "enqueued", job.id
        first = stages(session, job.id)[0].name if job.state == JobState.QUEUED else None
        job_id = job.id
    if first is not None:
        try:
            ring(job_id, first)
        except Exception:  # noqa: BLE001 (the job row is queued: the sweeper re-sends its stage)
            pass
    return True
