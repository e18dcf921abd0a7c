"""A job ordered over the HTTP API: its uploads (claim checks) resolved within the planning's hosting.

Uploads are ``hosting/uploads.py``'s: one of another hosting, expired or unknown is ``NOT_FOUND``, one of
the wrong kind ``UPLOAD_KIND_MISMATCH``, one a job already took ``UPLOAD_USED``. The new job takes its
uploads in its own transaction (``mark_used``), so an upload feeds one job only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hosting import scoped, uploads
from hosting.db.models import Job
from hosting.errors import InvalidInput
from hosting.jobs.control import stages
from hosting.jobs.enqueue import JobRequest, enqueue, require_inputs
from hosting.jobs.kinds import JOB_KINDS
from hosting.timegrid import TimeGrid


@dataclass(frozen=True)
class JobOrder:
    kind: str
    hhyp_upload: str | None = None
    profils_upload: str | None = None
    grid: dict[str, Any] | None = None
    base_name: str | None = None
    prune: bool = False


def submit(session: Session, hosting: str | None, planning_id: str, order: JobOrder, *,
           actor: str) -> tuple[Job, str]:
    """Create the job (``PLANNING_BUSY`` when the planning has an active one); the job and its first stage."""
    planning = scoped.planning(session, hosting, planning_id)
    if order.kind not in JOB_KINDS:
        raise InvalidInput(field="kind", reason=f"one of {', '.join(JOB_KINDS)}", where={"field": "kind"})
    params: dict[str, Any] = {}
    if order.grid is not None:
        TimeGrid.from_dict(order.grid)  # GRID_* here, before any job exists (the stage checks again)
        params["time_grid"] = order.grid
    taken = {param: upload for upload, param in ((order.hhyp_upload, "hhyp_key"), (order.profils_upload, "profils_key"))
             if upload is not None}
    for param, upload in taken.items():
        params[param] = uploads.resolve(session, planning.hosting_number, upload, kind=param.removesuffix("_key"))
    if order.base_name:
        params["base_name"] = order.base_name
    if order.prune:
        params["prune"] = True
    require_inputs(order.kind, params)
    job, _ = enqueue(session, JobRequest(kind=order.kind, planning=planning.id, params=params,
                                         requested_by=actor, hosting=planning.hosting_number))
    for upload in taken.values():
        uploads.mark_used(session, upload, job.id)
    return job, stages(session, job.id)[0].name
