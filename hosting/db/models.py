"""The control database: hostings, plannings, bases, jobs, stages, audit, Controller.

One schema for SQLite (embedded) and PostgreSQL (production); Alembic owns its
evolution (``hosting/db/migrations``). Invariants the database itself enforces:
one active job per planning, one base in service per planning, unique domains,
idempotency keys and logins.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# A leaf module (it imports nothing of ours): the states live with the job state machine.
from hosting.jobs.states import ACTIVE_JOB_STATES, BaseState, JobState, StageState


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both dialects (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        datetime: UTCDateTime(),
    }


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


# --- The HTTP API (issue 19): service tokens, console sessions, idempotency keys -------------------------


class ApiToken(Base):
    """A bearer token of the API: a service token or a console session; only a keyed hash of its secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # service | console
    hosting_number: Mapped[str | None] = mapped_column(String(12), index=True)  # None: the operator's
    role: Mapped[str] = mapped_column(String(16))  # reader | writer | operator
    secret_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` of the API: in flight while ``status`` is None, then the answer to replay."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(40))  # the hosting number the request acts on
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


# --- Uploads of the HTTP API (issue 19, hosting/uploads.py) ----------------------------------------------


class Upload(Base):
    """A file a caller put in object storage for a later job (claim check); deleted at ``expires_at`` unless used."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hosting_number: Mapped[str] = mapped_column(ForeignKey("hostings.number"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # hhyp | profils
    store_key: Mapped[str] = mapped_column(String(300), unique=True)
    # Counted and hashed by the server as the bytes went by; for a presigned PUT, declared until verified.
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_by_job: Mapped[str | None] = mapped_column(String(40), index=True)
# --- The operators' dashboard (issue 20): accounts, and the indexes of its pages ---------------------------

class Operator(Base):
    """An operator of the dashboard: a name, a role (viewer < operator < admin) and a password's hash only."""

    __tablename__ = "operators"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


# The jobs page pages by (created_at, id), newest first, with or without a state / kind filter;
# the overview counts queued and running stages by name.
Index("ix_jobs_created_id", Job.created_at, Job.id)
Index("ix_jobs_state_created_id", Job.state, Job.created_at, Job.id)
Index("ix_jobs_kind_created_id", Job.kind, Job.created_at, Job.id)
Index("ix_jobs_error_code_created", Job.error_code, Job.created_at)
Index("ix_stages_state_name_due", Stage.state, Stage.name, Stage.due_at)
# --- Espaces (issue 21): accounts of a planning's teachers and students, and their login attempts ---


class EspaceAccount(Base):
    """A teacher's or student's login to a planning's Espaces, kept across reloads by the row's id."""

    __tablename__ = "espace_accounts"
    __table_args__ = (UniqueConstraint("planning_id", "login"), UniqueConstraint("planning_id", "kind", "row_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "teacher" or "student"
    row_id: Mapped[str] = mapped_column(String(64))
    login: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(200))
    feed_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped to revoke the calendar-feed URL
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EspaceLoginAttempt(Base):
    """An Espace login attempt, kept for the lockout window (per planning and login)."""

    __tablename__ = "espace_login_attempts"
    __table_args__ = (Index("ix_espace_login_attempts_who", "planning_id", "login"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    planning_id: Mapped[str] = mapped_column(String(40))
    login: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


class EspaceStaffFeeds(Base):
    """A staff user's calendar-feed secrets in one planning: bumping ``version`` revokes all their feed URLs."""

    __tablename__ = "espace_staff_feeds"

    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("controller_users.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class EspaceSettings(Base):
    """What a planning opens without login: the guest Espace (rooms' occupation) when ``guest_rooms``."""

    __tablename__ = "espace_settings"

    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), primary_key=True)
    guest_rooms: Mapped[bool] = mapped_column(Boolean, default=False)
class Backup(Base):
    """A backup of a planning's base: two encrypted objects, recorded once read back and verified."""

    __tablename__ = "backups"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the backup_base job's id
    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), index=True)
    hosting_number: Mapped[str] = mapped_column(String(12), index=True)
    base_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default="verified")  # verified, deleted
    night: Mapped[str | None] = mapped_column(String(10))  # YYYY-MM-DD of a scheduled backup
    key_id: Mapped[str] = mapped_column(String(64))
    objects: Mapped[dict[str, Any]] = mapped_column(default=dict)  # per file: key, sha256, bytes (encrypted)
    row_counts: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    verified_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class BackupRun(Base):
    """One night's scheduled backup of one planning: claimed under a lease, so it is made once."""

    __tablename__ = "backup_runs"
    __table_args__ = (UniqueConstraint("planning_id", "night", name="uq_backup_runs_planning_night"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    planning_id: Mapped[str] = mapped_column(ForeignKey("plannings.id"), index=True)
    night: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(16), default="due")  # due, enqueued, done, failed
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    job_id: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
