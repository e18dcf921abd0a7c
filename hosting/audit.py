"""Audit: every transition, retry, skip, operator action and security event.

An audit row is written in the caller's transaction (so a stage's state change
and its audit event commit together); the matching structlog line is emitted
only once that transaction has committed, so logs never tell of an event the
database rolled back.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from config.logging import get_logger
from hosting.db.models import AuditEvent, Job, Planning

log = get_logger("hphost.audit")
_PENDING = "hphost_audit_pending"
# Bound by the web layer for the request being served: every audit row it writes names them.
REQUEST_CONTEXT = ("request_id", "source")


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    job_id: str | None = None,
    stage: str | None = None,
    planning_id: str | None = None,
    hosting_number: str | None = None,
    **data: Any,
) -> AuditEvent:
    """Add an audit row to ``session``'s transaction. ``data`` holds ids and codes only.

    Within an HTTP request, the request id and the caller's address are added to ``data``.
    """
    bound = structlog.contextvars.get_contextvars()
    data = {name: bound[name] for name in REQUEST_CONTEXT if bound.get(name) is not None} | data
    row = AuditEvent(
        actor=actor,
        action=action,
        job_id=job_id,
        stage=stage,
        planning_id=planning_id,
        hosting_number=hosting_number,
        data=data,
    )
    session.add(row)
    session.info.setdefault(_PENDING, []).append(row)
    return row


@event.listens_for(Session, "after_commit")
def _emit_committed(session: Session) -> None:
    for row in session.info.pop(_PENDING, []):
        log.info(
            row.action,
            audit=True,
            actor=row.actor,
            job_id=row.job_id,
            stage=row.stage,
            planning_id=row.planning_id,
            hosting_number=row.hosting_number,
            **row.data,
        )


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def trail(session: Session, job_id: str) -> list[AuditEvent]:
    """Every audit row of a job, oldest first."""
    query = select(AuditEvent).where(AuditEvent.job_id == job_id).order_by(AuditEvent.id)
    return list(session.scalars(query))


def record_for_job(session: Session, job: Job, action: str, *, actor: str, stage: str | None = None,
                   **data: Any) -> AuditEvent:
    """An audit row about ``job``, with its planning and hosting filled in."""
    hosting_number = session.scalar(select(Planning.hosting_number).where(Planning.id == job.planning_id))
    return record(session, action, actor=actor, job_id=job.id, stage=stage,
                  planning_id=job.planning_id, hosting_number=hosting_number, **data)


# The hash chain seals this module's rows before each commit (registered by importing it).
from hosting import audit_chain  # noqa: E402,F401
