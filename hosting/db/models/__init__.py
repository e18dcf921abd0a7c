"""The control database: hostings, plannings, bases, jobs, stages, audit, Controller.

One schema for SQLite (embedded) and PostgreSQL (production); Alembic owns its
evolution (``hosting/db/migrations``). Invariants the database itself enforces:
one active job per planning, one base in service per planning, unique domains,
idempotency keys and logins.

Its tables by module: ``jobs`` (hostings, plannings, bases, jobs, stages, audit, the Controller),
``access`` (API tokens, idempotency keys, uploads, operators, Espace accounts) and ``backups``; every
name is importable from here.
"""

from __future__ import annotations

from hosting.db.models.access import (
    ApiToken,
    EspaceAccount,
    EspaceLoginAttempt,
    EspaceSettings,
    EspaceStaffFeeds,
    IdempotencyRecord,
    Operator,
    Upload,
)
from hosting.db.models.backups import Backup, BackupRun
from hosting.db.models.base import Base, UTCDateTime, utcnow
from hosting.db.models.jobs import (
    Assignment,
    AuditEvent,
    BaseRecord,
    ControllerUser,
    Hosting,
    Job,
    LoginAttempt,
    Planning,
    Profile,
    Publication,
    SealedSecret,
    Stage,
)

__all__ = [
    "ApiToken",
    "Assignment",
    "AuditEvent",
    "Backup",
    "BackupRun",
    "Base",
    "BaseRecord",
    "ControllerUser",
    "EspaceAccount",
    "EspaceLoginAttempt",
    "EspaceSettings",
    "EspaceStaffFeeds",
    "Hosting",
    "IdempotencyRecord",
    "Job",
    "LoginAttempt",
    "Operator",
    "Planning",
    "Profile",
    "Publication",
    "SealedSecret",
    "Stage",
    "UTCDateTime",
    "Upload",
    "utcnow",
]
