"""Turning a console click into a job: one transaction, one active job per planning."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import BaseRecord, Job, Stage, utcnow
from hosting.errors import Conflict, InvalidInput
from hosting.jobs.kinds import BASE_KINDS, BASE_SOURCE, JOB_KINDS, stages_of
from hosting.jobs.states import ACTIVE_JOB_STATES, BaseState, JobState, StageState
from hosting.plannings import get_planning


class PlanningBusy(Conflict):
    """Planning {planning_id} already has an active job ({active_job}); wait for it or cancel it."""

    code = "PLANNING_BUSY"


class IdempotencyKeyReused(Conflict):
    """Idempotency key {key!r} was already used for a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"


# Params naming where the inputs were uploaded: a fresh key at each upload, so not part of the request.
UPLOAD_PARAMS = ("hhyp_key", "profils_key")


@dataclass
class JobRequest:
    kind: str
    planning: str
    params: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    requested_by: str = "operator"
    input_sha256: dict[str, str] = field(default_factory=dict)  # SHA-256 (hex) of each uploaded file, by param

    def fingerprint(self, planning_id: str) -> str:
        """What makes two requests the same: kind, planning, params but the upload keys, the inputs' bytes."""
        params = {name: value for name, value in self.params.items() if name not in UPLOAD_PARAMS}
        request = {"kind": self.kind, "planning_id": planning_id, "params": params,
                   "inputs": dict(sorted(self.input_sha256.items()))}
        return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
    hosting: str | None = None  # the hosting within which a planning name is resolved


def enqueue(session: Session, request: JobRequest) -> tuple[Job, bool]:
    """Create the job and its stage rows; returns ``(job, created)``.

    Idempotency keys are scoped by hosting: with a key already used by the hosting for the same
    request (:meth:`JobRequest.fingerprint`), the existing job comes back with ``created=False``;
    for another request, ``IDEMPOTENCY_KEY_REUSED``. A second active job on a planning
    is refused (``PLANNING_BUSY``): jobs on one planning never run concurrently,
    and the refusal tells the caller which job to watch.
    """
    if request.kind not in JOB_KINDS:
        raise InvalidInput(field="kind", reason=f"one of {', '.join(JOB_KINDS)}", where={"field": "kind"})
    planning = get_planning(session, request.planning, hosting=request.hosting)
    request_hash = request.fingerprint(planning.id)
    existing = _job_of_key(session, planning.hosting_number, request.idempotency_key)
    if existing is not None:
        if not _same_request(existing, request, planning.id, request_hash):
            key = request.idempotency_key
            raise IdempotencyKeyReused(key=key, where={"idempotency_key": key})
        return existing, False
    _refuse_if_busy(session, planning.id)
    job = _new_job(session, request, planning.id)
    job.hosting_number, job.request_hash = planning.hosting_number, request_hash
    job.fence = planning.base_generation or 0  # a newer base in service before its swap makes it STALE_JOB
    try:
        session.flush()
    except IntegrityError as exc:
        # Lost a race with a concurrent enqueue: the partial unique index decided.
        raise PlanningBusy(planning_id=planning.id, active_job="a concurrent request",
                           where={"planning_id": planning.id}) from exc
    audit.record(session, "job.queued", actor=request.requested_by, job_id=job.id,
                 planning_id=planning.id, hosting_number=planning.hosting_number, kind=job.kind)
    return job, True


def require_inputs(kind: str, params: dict[str, Any]) -> None:
    """A job's kind needs its input: a time grid to create a base, a .HHYP to load one, a .profils to assign."""
    needed = {"create_base": "time_grid", "load_base": "hhyp_key", "assign_profils": "profils_key"}.get(kind)
    if needed and needed not in params:
        raise InvalidInput(field=needed, reason=f"required for {kind}", where={"field": needed})


def _job_of_key(session: Session, hosting_number: str, key: str | None) -> Job | None:
    if not key:
        return None
    return session.scalars(
        select(Job).where(Job.hosting_number == hosting_number, Job.idempotency_key == key)
    ).first()


def _same_request(job: Job, request: JobRequest, planning_id: str, request_hash: str) -> bool:
    if job.request_hash is None:  # a job queued before requests were fingerprinted
        return (job.kind, job.planning_id) == (request.kind, planning_id)
    return job.request_hash == request_hash


def _new_job(session: Session, request: JobRequest, planning_id: str) -> Job:
    job_id = uuid.uuid4().hex
    names = stages_of(request.kind, request.params)
    job = Job(
        id=job_id, kind=request.kind, planning_id=planning_id, state=JobState.QUEUED,
        idempotency_key=request.idempotency_key, params=request.params,
        requested_by=request.requested_by,
        base_id=job_id if request.kind in BASE_KINDS else None,
    )
    session.add(job)
    if job.base_id:
        source = BASE_SOURCE[request.kind]
        session.add(BaseRecord(id=job.base_id, planning_id=planning_id, job_id=job_id,
                               state=BaseState.LOADING, source=source))
    now = utcnow()
    for position, name in enumerate(names):
        first = position == 0
        session.add(Stage(job_id=job_id, name=name, position=position,
                          state=StageState.QUEUED if first else StageState.PENDING, due_at=now if first else None))
    return job


def _refuse_if_busy(session: Session, planning_id: str) -> None:
    active = session.scalars(
        select(Job.id).where(Job.planning_id == planning_id, Job.state.in_(ACTIVE_JOB_STATES))
    ).first()
    if active is not None:
        raise PlanningBusy(planning_id=planning_id, active_job=active,
                           where={"planning_id": planning_id, "active_job": active})
