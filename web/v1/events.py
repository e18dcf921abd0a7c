"""Live progress of a job as Server-Sent Events, read from the control database (right on any replica).

The stream opens with a ``job`` event (the job as ``GET /v1/jobs/{id}`` shows it), then sends every audit
row of the job as an ``audit`` event whose ``id`` is the row's (stage transitions, retries, operator
actions), and a ``job`` event whenever the job changes (progress too). ``Last-Event-ID`` resumes after that
audit row. When the job has ended, a last ``job`` event and an ``end`` event close the stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Header
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from hosting import scoped
from hosting.runtime import Runtime
from web.auth import Caller, CallerDep
from web.deps import RuntimeDep
from web.v1.jobs import POLL_S, read_job
from web.v1.views import AuditOut, JobId, JobOut, audit_after

router = APIRouter(prefix="/jobs", tags=["jobs"])
RETRY_MS = 2000
KEEPALIVE_S = 15.0  # a comment line at least this often keeps proxies from closing an idle stream


class EventStream(StreamingResponse):
    """``text/event-stream`` (FastAPI's own EventSourceResponse wants the route to be the generator)."""

    media_type = "text/event-stream"


def _changes(rt: Runtime, caller: Caller, job_id: str, after: int) -> tuple[JobOut, list[AuditOut]]:
    with rt.db.transaction() as session:
        job = scoped.job(session, caller.hosting, job_id)
        return JobOut.read(session, job), audit_after(session, job_id, after)


@router.get("/{job_id}/events", response_class=EventStream,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "Events job, audit (id: the audit row's) and end."}})
async def job_events(job_id: JobId, caller: CallerDep, rt: RuntimeDep,
                     last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=32)
                     ) -> EventStream:
    """Follow a job: its audit rows and its changes, until it ends; resumable with ``Last-Event-ID``."""
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    await run_in_threadpool(read_job, rt, caller, job_id)  # NOT_FOUND before the stream starts
    return EventStream(_stream(rt, caller, job_id, after), headers={"Cache-Control": "no-cache",
                                                                             "X-Accel-Buffering": "no"})


def _event(event: str, data: Any, ident: str | None = None) -> bytes:
    return format_sse_event(event=event, data_str=json.dumps(data, separators=(",", ":")), id=ident)


async def _stream(rt: Runtime, caller: Caller, job_id: str, after: int) -> AsyncIterator[bytes]:
    shown: str | None = None
    quiet_since = time.monotonic()
    yield format_sse_event(comment="hphost job events", retry=RETRY_MS)
    while True:
        job, rows = await run_in_threadpool(_changes, rt, caller, job_id, after)
        sent = bool(rows) or job.version != shown
        for row in rows:
            after = row.id
            yield _event("audit", row.model_dump(mode="json"), str(row.id))
        if job.version != shown:
            shown = job.version
            yield _event("job", job.model_dump(mode="json"))
        if job.final and not rows:
            yield _event("end", {"job_id": job_id, "state": job.state})
            return
        if sent:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield KEEPALIVE_COMMENT
        await anyio.sleep(POLL_S)
