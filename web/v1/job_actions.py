"""Acting on jobs: enqueue (``Idempotency-Key``), cancel, retry, reveal the generated credentials once.

A job is rows: the route commits them, then rings the first stage's doorbell (``tasks.dispatch``, as the
Python client does). A broker that cannot be reached leaves the job queued, and a worker's sweeper
sends it once the broker is back: the answer is the job either way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.logging import get_logger
from hosting import audit, idempotency, scoped
from hosting.db.models import AuditEvent
from hosting.errors import Conflict, HphostError
from hosting.jobs import control
from hosting.jobs.enqueue import PlanningBusy
from hosting.jobs.kinds import JOB_KINDS
from hosting.jobs.states import ACTIVE_JOB_STATES, CancelOutcome
from hosting.jobs.submit import JobOrder, submit
from hosting.runtime import Runtime
from hosting.sealing import Sealer, secret_key
from web.auth import Caller, WriterDep
from web.deps import RuntimeDep, SessionDep
from web.problems import Problem, problem_doc
from web.v1.jobs import read_job
from web.v1.views import ID_PATTERN, PLAIN_TEXT, JobId, JobOut, PlanningId

router = APIRouter(tags=["jobs"])
log = get_logger("hphost.web")
_KEY = Header(alias="Idempotency-Key", min_length=1, max_length=200, description="Same key and body: the same job, "
              "the first answer replayed (kept HPHOST_IDEMPOTENCY_TTL_S, 24 h at least).")


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern="^(" + "|".join(JOB_KINDS) + ")$")
    hhyp_upload: str | None = Field(None, pattern=ID_PATTERN, description="An upload id (kind hhyp).")
    profils_upload: str | None = Field(None, pattern=ID_PATTERN, description="An upload's id, kind profils.")
    grid: dict[str, Any] | None = Field(None, description="The time grid (create_base).")
    base_name: str | None = Field(None, max_length=64, pattern=PLAIN_TEXT)
    prune: bool = False


class JobActive(Conflict):
    """Job {job_id} is still {state}; its credentials are sealed when it succeeds."""

    code = "JOB_ACTIVE"


class CredentialsGone(HphostError):
    """The credentials of job {job_id} were already revealed (they are shown once, then deleted)."""

    code = "CREDENTIALS_GONE"
    http_status = 410


class Credentials(BaseModel):
    job_id: str
    credentials: dict[str, str] = Field(description="login -> generated password; shown once.")


@router.post("/plannings/{planning_id}/jobs", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
             responses={409: problem_doc("PLANNING_BUSY (Link to the active job), IDEMPOTENCY_KEY_IN_FLIGHT"),
                        422: problem_doc("IDEMPOTENCY_KEY_MISMATCH, INVALID_INPUT, GRID_*")})
def enqueue_job(planning_id: PlanningId, body: JobCreate, request: Request, caller: WriterDep, rt: RuntimeDep,
                key: Annotated[str | None, _KEY] = None) -> JSONResponse:
    """Create a job on the planning and start it; ``202`` with the job and its ``Location``."""
    order = JobOrder(**body.model_dump())
    if key is None:
        return _answer(_enqueue(rt, caller, planning_id, order))
    scope = caller.hosting or _hosting_of(rt, planning_id)  # keys are per hosting
    fingerprint = idempotency.fingerprint("POST", request.url.path, body.model_dump(mode="json"))
    replay = idempotency.begin(rt.db, scope, key, fingerprint, ttl=_ttl(rt))
    if replay is not None:
        return _answer(replay.body, replayed=True)
    try:
        answer = _enqueue(rt, caller, planning_id, order)
    except BaseException:
        idempotency.release(rt.db, scope, key)
        raise
    idempotency.finish(rt.db, scope, key, status.HTTP_202_ACCEPTED, answer)
    return _answer(answer)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, responses={409: problem_doc("JOB_FINAL")})
def cancel_job(job_id: JobId, caller: WriterDep, rt: RuntimeDep) -> JobOut:
    """Cancel: a queued or failed job at once, a running one at its stage's next checkpoint; outputs removed."""
    with rt.db.transaction() as session:
        scoped.job(session, caller.hosting, job_id)
        outcome = control.request_cancel(session, job_id, actor=caller.actor)
    if outcome == CancelOutcome.CANCELLED:
        from hosting.jobs import cleanup  # (with the stages it discards: imported on use, not by every replica)

        cleanup.discard_job(rt.db, rt.store, rt.basedbs, job_id, actor=caller.actor)
    return read_job(rt, caller, job_id)


@router.post("/jobs/{job_id}/retry", response_model=JobOut,
             responses={409: problem_doc("JOB_FINAL, PLANNING_BUSY"), 422: problem_doc("STALE_JOB")})
def retry_job(job_id: JobId, caller: WriterDep, rt: RuntimeDep) -> JobOut:
    """Retry a failed job from its first stage whose output is missing."""
    from hosting.jobs import cleanup  # (with the stages whose outputs it looks for: imported on use)
    from hosting.pipeline.registry import output_present

    with rt.db.transaction() as session:
        scoped.job(session, caller.hosting, job_id)
    cleanup.clean_failed_job(rt.db, rt.store, rt.basedbs, job_id, actor=caller.actor)
    with rt.db.transaction() as session:
        stage = control.retry(session, job_id, actor=caller.actor, output_present=output_present(rt.store, rt.basedbs))
    _ring(rt, job_id, stage)
    return read_job(rt, caller, job_id)


@router.post("/jobs/{job_id}/credentials", response_model=Credentials,
             responses={409: problem_doc("JOB_ACTIVE"), 410: problem_doc("CREDENTIALS_GONE: already revealed")})
def job_credentials(job_id: JobId, caller: WriterDep, session: SessionDep, rt: RuntimeDep) -> Credentials:
    """The generated passwords of the job's new Controller users, once; a second call is ``410 Gone``."""
    job = scoped.job(session, caller.hosting, job_id, lock=True)
    if job.state in ACTIVE_JOB_STATES:
        raise JobActive(job_id=job_id, state=job.state, where={"job_id": job_id})
    if _revealed_before(session, job_id):
        raise CredentialsGone(job_id=job_id, where={"job_id": job_id})
    from hosting.controller import reveal_credentials  # (the Controller, with the .profils reader: on use)

    revealed = reveal_credentials(session, job_id, Sealer(secret_key(rt.settings)))
    audit.record_for_job(session, job, "credentials.revealed", actor=caller.actor, count=len(revealed))
    return Credentials(job_id=job_id, credentials=revealed)


def _enqueue(rt: Runtime, caller: Caller, planning_id: str, order: JobOrder) -> dict[str, Any]:
    try:
        with rt.db.transaction() as session:
            job, first = submit(session, caller.hosting, planning_id, order, actor=caller.actor)
            answer = JobOut.read(session, job).model_dump(mode="json")
    except PlanningBusy as busy:
        active = busy.where.get("active_job", "")
        raise Problem(409, busy.code, busy.message, where=busy.where | {"active_job_url": f"/v1/jobs/{active}"},
                      headers={"Link": f'</v1/jobs/{active}>; rel="related"'}) from None
    if first is not None:
        _ring(rt, answer["id"], first)
    return answer


def _hosting_of(rt: Runtime, planning_id: str) -> str:
    """The operator's key belongs to the planning's hosting."""
    with rt.db.transaction() as session:
        return scoped.planning(session, None, planning_id).hosting_number


def _ring(rt: Runtime, job_id: str, stage: str) -> None:
    from tasks.dispatch import dispatch

    try:
        dispatch(job_id, stage, settings=rt.settings)
    except Exception as exc:  # the stage row stays queued: a sweeper re-sends it once the broker is back
        log.warning("dispatch_deferred", job_id=job_id, stage=stage, error=type(exc).__name__)


def _answer(body: dict[str, Any], *, replayed: bool = False) -> JSONResponse:
    headers = {"Location": body["links"]["self"]} | ({"Idempotent-Replayed": "true"} if replayed else {})
    return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=headers)


def _ttl(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.settings.idempotency_ttl_s)


def _revealed_before(session: Session, job_id: str) -> bool:
    return session.scalar(select(AuditEvent.id).where(
        AuditEvent.job_id == job_id, AuditEvent.action == "credentials.revealed").limit(1)) is not None
