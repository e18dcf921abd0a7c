"""Who may come in through the front doors: API tokens and idempotency keys, uploads, operators, Espace accounts."""

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hosting.db.models.base import Base, utcnow

# --- The HTTP API: service tokens, console sessions, idempotency keys -------------------------


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


# --- Uploads of the HTTP API (hosting/uploads.py) ----------------------------------------------


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
# --- The operators' dashboard: accounts ---------------------------

class Operator(Base):
    """An operator of the dashboard: a name, a role (viewer < operator < admin) and a password's hash only."""

    __tablename__ = "operators"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


# --- Espaces: accounts of a planning's teachers and students, and their login attempts ---


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
