"""A tenant's view of the control database: a planning or job of another hosting does not exist for it.

``hosting`` is the caller's hosting number, or None for the operator (every hosting). A resource of
another hosting raises the very ``NOT_FOUND`` a missing one does: no existence oracle.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hosting.db.models import BaseRecord, Job, Planning, Publication
from hosting.errors import NotFound
from hosting.jobs.states import BaseState


def planning(session: Session, hosting: str | None, planning_id: str) -> Planning:
    found = session.get(Planning, planning_id)
    if found is None or (hosting is not None and found.hosting_number != hosting):
        raise NotFound(kind="Planning", ident=planning_id, where={"planning_id": planning_id})
    return found


def job(session: Session, hosting: str | None, job_id: str, *, lock: bool = False) -> Job:
    found = session.get(Job, job_id, with_for_update=lock)
    if found is None or (hosting is not None and found.hosting_number != hosting):
        raise NotFound(kind="Job", ident=job_id, where={"job_id": job_id})
    return found


def jobs_query(hosting: str | None) -> Select[Job]:
    """Every job the caller may see (``jobs.hosting_number``: set at enqueue, filled in by migration 0002)."""
    query = select(Job)
    return query.where(Job.hosting_number == hosting) if hosting is not None else query


def in_service(session: Session, planning_id: str) -> tuple[BaseRecord | None, Publication | None]:
    """The planning's base in service and its publication (None, None before the first load)."""
    base = session.scalars(select(BaseRecord).where(
        BaseRecord.planning_id == planning_id, BaseRecord.state == BaseState.IN_SERVICE)).first()
    return base, session.get(Publication, base.id) if base is not None else None

