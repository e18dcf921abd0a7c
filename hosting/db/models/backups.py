"""Backups of bases in service and the nightly runs that make them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hosting.db.models.base import Base, utcnow


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
