"""What the API answers about jobs: the job with its stages, its audit rows, a page of jobs.

A job's ``version`` changes whenever anything shown of it changes (state, stages, progress, attempts,
error): the long-poll waits for a version other than the caller's.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting.db.models import AuditEvent, Job, Stage
from hosting.jobs.control import stages as stages_of
from hosting.jobs.states import FINAL_JOB_STATES

ID_PATTERN = "^[0-9a-f]{32}$"  # planning, job and upload ids are uuid4 hex
JobId = Annotated[str, Path(pattern=ID_PATTERN, description="A job's id.")]
PlanningId = Annotated[str, Path(pattern=ID_PATTERN, description="A planning's id.")]
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"  # no control character (PostgreSQL takes no NUL)


class Fault(BaseModel):
    code: str
    message: str | None
    where: dict[str, Any] | None


class StageOut(BaseModel):
    name: str
    state: str
    attempts: int = Field(description="Runs begun.")
    deliveries: int
    progress_done: int
    progress_total: int
    started_at: datetime | None
    finished_at: datetime | None
    error: Fault | None
    result: dict[str, Any] | None

    @classmethod
    def of(cls, stage: Stage) -> StageOut:
        error = Fault(code=stage.error_code, message=stage.error_message, where=stage.error_where) \
            if stage.error_code else None
        return cls(name=stage.name, state=stage.state, attempts=stage.attempts_begun,
                   deliveries=stage.deliveries,
                   progress_done=stage.progress_done, progress_total=stage.progress_total,
                   started_at=stage.started_at, finished_at=stage.finished_at, error=error, result=stage.result)


class JobLinks(BaseModel):
    self: str
    events: str
    audit: str
    planning: str


class JobOut(BaseModel):
    id: str
    kind: str
    planning_id: str
    hosting_number: str | None
    state: str
    final: bool
    version: str = Field(description="Changes whenever the job changes (GET /v1/jobs/{id}?wait=30&after=...).")
    base_id: str | None
    requested_by: str
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: Fault | None
    stages: list[StageOut]
    links: JobLinks

    @classmethod
    def of(cls, job: Job, stages: list[Stage]) -> JobOut:
        shown = [StageOut.of(stage) for stage in stages]
        error = Fault(code=job.error_code, message=job.error_message, where=job.error_where) if job.error_code else None
        facts = [str(job.state), job.cancel_requested, job.error_code, *(s.model_dump_json() for s in shown)]
        version = hashlib.sha256(repr(facts).encode()).hexdigest()[:16]
        url = f"/v1/jobs/{job.id}"
        return cls(id=job.id, kind=job.kind, planning_id=job.planning_id, hosting_number=job.hosting_number,
                   state=job.state, final=job.state in FINAL_JOB_STATES, version=version, base_id=job.base_id,
                   requested_by=job.requested_by, cancel_requested=job.cancel_requested, created_at=job.created_at,
                   started_at=job.started_at, finished_at=job.finished_at, error=error, stages=shown,
                   links=JobLinks(self=url, events=f"{url}/events", audit=f"{url}/audit",
                                  planning=f"/v1/plannings/{job.planning_id}"))

    @classmethod
    def read(cls, session: Session, job: Job) -> JobOut:
        return cls.of(job, stages_of(session, job.id))


class JobPage(BaseModel):
    jobs: list[JobOut]
    next: str | None = Field(description="The next page (an opaque cursor), None on the last.")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    stage: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, row: AuditEvent) -> AuditOut:
        return cls(id=row.id, at=row.at, actor=row.actor, action=row.action, stage=row.stage, data=row.data)


class AuditTrail(BaseModel):
    job_id: str
    events: list[AuditOut]


def audit_after(session: Session, job_id: str, after: int = 0, limit: int = 1000) -> list[AuditOut]:
    """The job's audit rows after row ``after``, oldest first."""
    query = (select(AuditEvent).where(AuditEvent.job_id == job_id, AuditEvent.id > after)
             .order_by(AuditEvent.id).limit(limit))
    return [AuditOut.of(row) for row in session.scalars(query)]
