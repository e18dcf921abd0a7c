"""The overview, failures and workers pages: counts from the control database's rows, never the broker's.

A queue's latency is the age of its oldest queued stage row that is due (a retry waiting out its backoff is
not late), so it is right even when the broker lost the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from hosting.db.models import AuditEvent, Job, Stage, utcnow
from hosting.jobs.states import JobState, StageState

STAGE_ORDER = ("unpack", "instantiate", "publish", "assign")
NO_STAGE = "-"  # a job that failed outside any stage (fenced out before its first claim)


@dataclass
class QueueRow:
    stage: str
    depth: int  # queued and due
    scheduled: int  # queued, waiting out a retry's backoff
    latency_s: float  # age of the oldest due one; 0 when none


@dataclass
class RunningRow:
    job_id: str
    stage: str
    owner: str | None
    running_s: float
    lease_left_s: float | None  # negative: the lease expired (the sweeper takes it back)


@dataclass
class FailureGroup:
    code: str
    stage: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    example_job: str


@dataclass
class Overview:
    window_s: float
    by_kind_state: dict[str, dict[str, int]]
    queues: list[QueueRow]
    running: list[RunningRow]
    finished: dict[str, int]  # jobs finished in the window, by final state
    throughput_per_min: float
    failures: list[FailureGroup]


def _age(now: datetime, then: datetime | None) -> float:
    return (now - then).total_seconds() if then else 0.0


def of_hosting(query: Any, hosting: str | None, *, stages: bool = False) -> Any:
    """``query`` narrowed to one hosting's jobs (the operators' view of one customer), or as is."""
    if hosting is None:
        return query
    if stages:
        return query.where(Stage.job_id.in_(select(Job.id).where(Job.hosting_number == hosting)))
    return query.where(Job.hosting_number == hosting)


def queues(session: Session, now: datetime, hosting: str | None = None) -> list[QueueRow]:
    due = Stage.due_at <= now
    query = (select(Stage.name, func.count().filter(due), func.count().filter(~due),
                    func.min(Stage.due_at).filter(due)).where(Stage.state == StageState.QUEUED).group_by(Stage.name))
    query = of_hosting(query, hosting, stages=True)
    found = {name: QueueRow(name, depth, scheduled, _age(now, oldest))
             for name, depth, scheduled, oldest in session.execute(query)}
    names = (*STAGE_ORDER, *sorted(set(found) - set(STAGE_ORDER)))
    return [found.get(name, QueueRow(name, 0, 0, 0.0)) for name in names]


def running(session: Session, now: datetime, limit: int = 200, hosting: str | None = None) -> list[RunningRow]:
    query = (select(Stage.job_id, Stage.name, Stage.lease_owner, Stage.started_at, Stage.lease_expires_at)
             .where(Stage.state == StageState.RUNNING).order_by(Stage.started_at).limit(limit))
    query = of_hosting(query, hosting, stages=True)
    return [RunningRow(job_id, name, owner, _age(now, started),
                       (expires - now).total_seconds() if expires else None)
            for job_id, name, owner, started, expires in session.execute(query)]


def failure_groups(session: Session, since: datetime | None = None, limit: int = 100,
                   hosting: str | None = None) -> list[FailureGroup]:
    """Failed jobs grouped by error code x the stage that failed, most frequent first."""
    # (literal SQL, not bound parameters: PostgreSQL must see the GROUP BY expressions as the SELECT's)
    code = func.coalesce(Job.error_code, literal_column("'UNKNOWN'"))
    stage_name = func.coalesce(Stage.name, literal_column(f"'{NO_STAGE}'"))
    query = (select(code, stage_name, func.count(), func.min(Job.finished_at), func.max(Job.finished_at),
                    func.max(Job.id))
             .outerjoin(Stage, (Stage.job_id == Job.id) & (Stage.state == StageState.FAILED))
             .where(Job.state == JobState.FAILED)
             .group_by(code, stage_name)
             .order_by(func.count().desc()).limit(limit))
    if since is not None:
        query = query.where(Job.finished_at >= since)
    return [FailureGroup(*row) for row in session.execute(of_hosting(query, hosting))]


def overview(session: Session, window_s: float = 3600.0, hosting: str | None = None) -> Overview:
    now = utcnow()
    since = now - timedelta(seconds=window_s)
    by_kind_state: dict[str, dict[str, int]] = {}
    counted = select(Job.kind, Job.state, func.count()).where(Job.created_at >= since).group_by(Job.kind, Job.state)
    for kind, state, count in session.execute(of_hosting(counted, hosting)):
        by_kind_state.setdefault(kind, {})[state] = count
    finished_q = (select(Job.state, func.count()).where(Job.finished_at >= since).group_by(Job.state))
    finished = {state: count for state, count in session.execute(of_hosting(finished_q, hosting))}
    return Overview(window_s, by_kind_state, queues(session, now, hosting), running(session, now, hosting=hosting),
                    finished, sum(finished.values()) / (window_s / 60),
                    failure_groups(session, since, limit=10, hosting=hosting))


@dataclass
class WorkerRow:
    name: str
    last_seen: datetime | None
    heartbeat_age_s: float | None  # since its newest lease renewal, of the stages it runs now
    stages: list[str]
    stuck: list[str]  # job ids whose lease expired while this worker held it


def workers(session: Session, lease_s: float, window_s: float = 24 * 3600) -> list[WorkerRow]:
    """Each worker seen: from the leases it holds now and the claims it audited within the window."""
    now = utcnow()
    found: dict[str, WorkerRow] = {}
    claims = (select(AuditEvent.actor, func.max(AuditEvent.at)).where(
        AuditEvent.action == "stage.running", AuditEvent.at >= now - timedelta(seconds=window_s))
        .group_by(AuditEvent.actor))
    for actor, at in session.execute(claims):
        found[_worker_of(actor)] = WorkerRow(_worker_of(actor), at, None, [], [])
    leases = select(Stage.lease_owner, Stage.name, Stage.job_id, Stage.lease_expires_at).where(
        Stage.state == StageState.RUNNING, Stage.lease_owner.is_not(None))
    for owner, name, job_id, expires in session.execute(leases):
        row = found.setdefault(_worker_of(owner), WorkerRow(_worker_of(owner), None, None, [], []))
        row.stages.append(name)
        if expires is not None:
            age = _age(now, expires - timedelta(seconds=lease_s))
            row.heartbeat_age_s = age if row.heartbeat_age_s is None else min(age, row.heartbeat_age_s)
            if expires < now:
                row.stuck.append(job_id)
    return sorted(found.values(), key=lambda w: w.name)


def _worker_of(owner: str | None) -> str:
    """The worker process of a lease owner or claim actor (``<host>:<pid>:<token>`` -> ``<host>:<pid>``)."""
    return ":".join(owner.split(":")[:2]) if owner else "?"


def change_mark(session: Session) -> tuple[Any, ...]:
    """What changes whenever a page's numbers may have: the newest audit row and the stages' progress."""
    return (session.scalar(select(func.max(AuditEvent.id))),
            session.scalar(select(func.sum(Stage.progress_done)).where(Stage.state == StageState.RUNNING)))
