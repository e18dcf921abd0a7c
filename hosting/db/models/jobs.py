"""Hostings, plannings, bases, jobs, stages, audit, console logins, publications and the Controller."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hosting.db.models.base import Base, utcnow

# A leaf module (it imports nothing of ours): the states live with the job state machine.
from hosting.jobs.states import ACTIVE_JOB_STATES, BaseState, JobState, StageState

_ACTIVE = text(f"state IN ({', '.join(repr(str(state)) for state in ACTIVE_JOB_STATES)})")
_IN_SERVICE = text(f"state = '{BaseState.IN_SERVICE}'")


class Hosting(Base):
    __tablename__ = "hostings"

    number: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    invoice_number: Mapped[str | None] = mapped_column(String(10))
    bound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Planning(Base):
    __tablename__ = "plannings"
    __table_args__ = (UniqueConstraint("hosting_number", "name", name="uq_plannings_hosting_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hosting_number: Mapped[str] = mapped_column(ForeignKey("hostings.number"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    controller_domain: Mapped[str] = mapped_column(String(253))
    associate_net: Mapped[bool] = mapped_column(Boolean, default=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    publication_name: Mapped[str | None] = mapped_column(String(200))
    current_base_id: Mapped[str | None] = mapped_column(String(40))
    # The fencing token of the base in service: +1 at every swap; a job created before a swap may not swap.
    base_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def effective_publication_name(self) -> str:
        return self.publication_name or self.name


class BaseRecord(Base):
    """A base of a planning; at most one per planning is in service."""

    __tablename__ = "bases"
    __table_args__ = (
        Index(
            "uq_bases_in_service",
            "planning_id",
            unique=True,
            sqlite_where=_IN_SERVICE,
            postgresql_where=_IN_SERVICE,
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), index=True)
    job_id: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(16), default=BaseState.LOADING.value)
    source: Mapped[str] = mapped_column(String(16))
    base_name: Mapped[str | None] = mapped_column(String(64))
    time_grid: Mapped[dict[str, Any] | None]
    row_counts: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    in_service_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_active_per_planning",
            "planning_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        UniqueConstraint("hosting_number", "idempotency_key", name="uq_jobs_hosting_idempotency_key"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), index=True)
    hosting_number: Mapped[str | None] = mapped_column(String(12), index=True)
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED.value, index=True)
    # Unique per hosting; request_hash fingerprints the request (kind, planning, inputs' SHA-256).
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # The planning's base_generation when the job was created (its fencing token).
    fence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    base_id: Mapped[str | None] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(100), default="operator")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_where: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Failure cleanup of the failed stage's partial output done / every output discarded.
    cleaned_at: Mapped[datetime | None]
    discarded_at: Mapped[datetime | None]


class Stage(Base):
    """One stage of a job: the truth the broker's messages only ring for."""

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("job_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=StageState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    dispatches: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None]
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_where: Mapped[dict[str, Any] | None]

    @property
    def attempts_begun(self) -> int:
        """Runs begun: the retries scheduled, plus the run claimed since the last of them if one was."""
        return self.attempts + (1 if self.deliveries > self.attempts else 0)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("chain_pos", name="uq_audit_events_chain_pos"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    job_id: Mapped[str | None] = mapped_column(String(40), index=True)
    stage: Mapped[str | None] = mapped_column(String(32))
    planning_id: Mapped[str | None] = mapped_column(String(40))
    hosting_number: Mapped[str | None] = mapped_column(String(12))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The hash chain (hosting/audit_chain.py): the row's place, the previous row's hash and its own.
    chain_pos: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(Base):
    """A console login attempt, kept for the lockout window (and audited apart)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hosting_number: Mapped[str] = mapped_column(String(12), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str | None] = mapped_column(String(100))


class Publication(Base):
    """The HYPERPLANNING.net publication of one base; live when its base is in service."""

    __tablename__ = "publications"

    base_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253))
    publication_name: Mapped[str] = mapped_column(String(200))
    espaces: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ControllerUser(Base):
    """A user of a hosting's Contrôleur."""

    __tablename__ = "controller_users"
    __table_args__ = (UniqueConstraint("hosting_number", "login"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hosting_number: Mapped[str] = mapped_column(ForeignKey("hostings.number"), index=True)
    login: Mapped[str] = mapped_column(String(64))
    last_name: Mapped[str] = mapped_column(String(200), default="")
    first_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(32), default="user")
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Profile(Base):
    """A profile (a named set of rights) of one planning."""

    __tablename__ = "profiles"
    __table_args__ = (UniqueConstraint("planning_id", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80))
    rights: Mapped[list[str]] = mapped_column(default=list)


class Assignment(Base):
    __tablename__ = "assignments"

    user_id: Mapped[int] = mapped_column(ForeignKey("controller_users.id"), primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), primary_key=True)


class SealedSecret(Base):
    """A generated credential, sealed, revealed to the operator once then deleted."""

    __tablename__ = "sealed_secrets"
    __table_args__ = (UniqueConstraint("job_id", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str | None] = mapped_column(String(40), index=True)
    hosting_number: Mapped[str | None] = mapped_column(String(12))
    subject: Mapped[str] = mapped_column(String(100))
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The jobs page pages by (created_at, id), newest first, with or without a state / kind filter;
# the overview counts queued and running stages by name.
Index("ix_jobs_created_id", Job.created_at, Job.id)
Index("ix_jobs_state_created_id", Job.state, Job.created_at, Job.id)
Index("ix_jobs_kind_created_id", Job.kind, Job.created_at, Job.id)
Index("ix_jobs_error_code_created", Job.error_code, Job.created_at)
Index("ix_stages_state_name_due", Stage.state, Stage.name, Stage.due_at)
