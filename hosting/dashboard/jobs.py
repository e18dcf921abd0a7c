"""The dashboard's jobs list (filters, search, a keyset cursor) and one job's page (spec, timeline, audit)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select, tuple_
from sqlalchemy.orm import Session

from hosting import audit
from hosting.dashboard.timeline import Timeline, build_timeline
from hosting.db.models import AuditEvent, Job, Planning, Stage
from hosting.errors import InvalidInput
from hosting.jobs.control import get_job, stages

PAGE_SIZE = 50
_HEX = re.compile(r"[0-9a-f]{4,40}")
_HOSTING = re.compile(r"[0-9]{12}")
Rows = Select[*tuple[Any, ...]]
_SECRET_WORDS = ("password", "secret", "token", "credential", "key_material")


@dataclass(frozen=True)
class JobFilter:
    """What the jobs page asks for; every field optional."""

    state: str | None = None
    kind: str | None = None
    hosting: str | None = None
    planning: str | None = None  # a planning's id or name
    error_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None  # a job id (or its first characters), a hosting number or a planning name


@dataclass
class JobRow:
    id: str
    kind: str
    state: str
    hosting_number: str | None
    planning_name: str
    created_at: datetime
    finished_at: datetime | None
    error_code: str | None


@dataclass
class JobPage:
    rows: list[JobRow]
    next_cursor: str | None


def encode_cursor(created_at: datetime, job_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{job_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), job_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(field="cursor", reason="not a cursor of this page", where={"field": "cursor"}) from None


def _filtered(query: Rows, f: JobFilter) -> Rows:
    exact = {Job.state: f.state, Job.kind: f.kind, Job.hosting_number: f.hosting, Job.error_code: f.error_code}
    for column, value in exact.items():
        if value:
            query = query.where(column == value)
    if f.planning:
        query = query.where(or_(Job.planning_id == f.planning, Planning.name == f.planning))
    if f.since:
        query = query.where(Job.created_at >= f.since)
    if f.until:
        query = query.where(Job.created_at < f.until)
    q = (f.q or "").strip()
    if _HOSTING.fullmatch(q):
        query = query.where(Job.hosting_number == q)
    elif _HEX.fullmatch(q):  # an id's prefix, as a range the primary key's index answers
        query = query.where(Job.id >= q, Job.id < q[:-1] + chr(ord(q[-1]) + 1))
    elif q:
        query = query.where(Planning.name == q)
    return query


def page_query(f: JobFilter, cursor: str | None = None, limit: int = PAGE_SIZE) -> Rows:
    """The jobs page's query: one more row than a page, to know whether another follows."""
    query: Rows = (select(Job.id, Job.kind, Job.state, Job.hosting_number, Planning.name, Job.created_at,
                          Job.finished_at, Job.error_code)
                   .join(Planning, Planning.id == Job.planning_id))
    query = _filtered(query, f)
    if cursor:
        at, job_id = decode_cursor(cursor)
        query = query.where(tuple_(Job.created_at, Job.id) < tuple_(at, job_id))
    return query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)


def list_jobs(session: Session, f: JobFilter, cursor: str | None = None, limit: int = PAGE_SIZE) -> JobPage:
    """One page of jobs, newest first; ``next_cursor`` continues after its last row (keyset, no OFFSET)."""
    rows = [JobRow(*row) for row in session.execute(page_query(f, cursor, limit))]
    more = len(rows) > limit
    rows = rows[:limit]
    return JobPage(rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)


def redacted(value: Any) -> Any:
    """A job's spec as shown: claim-check keys and options, never a secret's value."""
    if isinstance(value, dict):
        return {k: "***" if any(w in k.lower() for w in _SECRET_WORDS) else redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value


@dataclass
class JobDetail:
    job: Job
    planning: Planning
    stages: list[Stage]
    trail: list[AuditEvent]
    spec: dict[str, Any]
    timeline: Timeline
    extra: dict[str, Any] = field(default_factory=dict)


def job_detail(session: Session, job_id: str) -> JobDetail:
    job = get_job(session, job_id)
    planning = session.get(Planning, job.planning_id)
    assert planning is not None  # a non-null foreign key
    rows = stages(session, job.id)
    events = audit.trail(session, job.id)
    return JobDetail(job, planning, rows, events, redacted(job.params or {}), build_timeline(job, rows, events))
