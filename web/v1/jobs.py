"""Reading jobs: one job (with a long-poll), a filtered page of jobs (an opaque cursor), a job's audit trail."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections import defaultdict
from datetime import datetime
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Query, Request
from sqlalchemy import and_, or_, select
from starlette.concurrency import run_in_threadpool

from hosting import scoped
from hosting.db.models import Job, Stage
from hosting.jobs.kinds import JOB_KINDS
from hosting.jobs.states import JobState
from hosting.runtime import Runtime
from web.auth import Caller, CallerDep
from web.deps import RuntimeDep, SessionDep
from web.problems import Problem
from web.v1.views import ID_PATTERN, AuditTrail, JobId, JobOut, JobPage, audit_after

router = APIRouter(prefix="/jobs", tags=["jobs"])
POLL_S = 0.5  # how often a long-poll or an event stream looks at the control database
MAX_WAIT_S = 60


def read_job(rt: Runtime, caller: Caller, job_id: str) -> JobOut:
    with rt.db.transaction() as session:
        return JobOut.read(session, scoped.job(session, caller.hosting, job_id))


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: JobId, caller: CallerDep, rt: RuntimeDep,
                  wait: float = Query(0, ge=0, le=MAX_WAIT_S, description="Long-poll: wait up to this many "
                                      "seconds for a version other than `after`."),
                  after: str | None = Query(None, max_length=64, description="The version the caller has.")) -> JobOut:
    """A job: its state, stages (progress, attempts, deliveries) and error; with ``wait`` and ``after``, a long-poll."""
    job = await run_in_threadpool(read_job, rt, caller, job_id)
    deadline = time.monotonic() + wait
    while after is not None and job.version == after and not job.final and time.monotonic() < deadline:
        await anyio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        job = await run_in_threadpool(read_job, rt, caller, job_id)
    return job


@router.get("", response_model=JobPage)
def list_jobs(request: Request, caller: CallerDep, session: SessionDep,
              state: JobState | None = None,
              kind: str | None = Query(None, pattern="^(" + "|".join(JOB_KINDS) + ")$"),
              planning_id: str | None = Query(None, pattern=ID_PATTERN),
              created_since: datetime | None = None, created_until: datetime | None = None,
              error_code: str | None = Query(None, pattern="^[A-Z0-9_]{1,64}$"),
              limit: int = Query(50, ge=1, le=200),
              cursor: str | None = Query(None, max_length=200, description="From a `next` link.")) -> JobPage:
    """The caller's jobs, newest first, filtered; ``next`` links the following page (stable under inserts)."""
    query = scoped.jobs_query(caller.hosting)
    for column, value in ((Job.state, state), (Job.kind, kind), (Job.planning_id, planning_id),
                          (Job.error_code, error_code)):
        if value is not None:
            query = query.where(column == value)
    if created_since is not None:
        query = query.where(Job.created_at >= created_since)
    if created_until is not None:
        query = query.where(Job.created_at < created_until)
    if cursor is not None:
        at, last_id = _decode(cursor)
        query = query.where(or_(Job.created_at < at, and_(Job.created_at == at, Job.id < last_id)))
    found = list(session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)))
    page, more = found[:limit], len(found) > limit
    by_job: dict[str, list[Stage]] = defaultdict(list)
    for stage in session.scalars(select(Stage).where(Stage.job_id.in_([j.id for j in page])).order_by(Stage.position)):
        by_job[stage.job_id].append(stage)
    next_link = None
    if more:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        next_link = f"{request.url.path}?{urlencode([*params, ('cursor', _encode(page[-1]))])}"
    return JobPage(jobs=[JobOut.of(job, by_job[job.id]) for job in page], next=next_link)


@router.get("/{job_id}/audit", response_model=AuditTrail)
def job_audit(job_id: JobId, caller: CallerDep, session: SessionDep,
              after: int = Query(0, ge=0, le=2**62, description="Only rows after this id.")) -> AuditTrail:
    """The job's audit rows, oldest first: every transition, retry, skip and operator action, with its actor."""
    scoped.job(session, caller.hosting, job_id)
    return AuditTrail(job_id=job_id, events=audit_after(session, job_id, after))


def _encode(last: Job) -> str:
    raw = json.dumps({"c": last.created_at.isoformat(), "i": last.id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        fields = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at, last_id = datetime.fromisoformat(fields["c"]), fields["i"]
        if not isinstance(last_id, str) or re.fullmatch(ID_PATTERN, last_id) is None:
            raise ValueError(last_id)
        return at, last_id
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise Problem(422, "INVALID_CURSOR", "The cursor is not one this API gave; start again without it.",
                      where={"field": "query.cursor"}) from None
