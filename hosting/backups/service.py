"""What the console, the Python client and (later) the HTTP API call for a base's life after its first
day: the checks a request passes before it becomes a job, the backups of a planning, and a backup's
verification. Refusals come before any job exists: nothing changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting.backups.crypto import backup_keys
from hosting.backups.verify import verify_backup
from hosting.basedb.base import BaseDatabases
from hosting.db.models import Backup, Planning
from hosting.errors import Conflict, NotFound
from hosting.exporting import base_in_service
from hosting.regrid import preview
from hosting.runtime import Runtime


class BackupOtherHosting(Conflict):
    """Backup {backup_id} belongs to hosting {owner}; it can only be restored into one of its plannings."""

    code = "BACKUP_OTHER_HOSTING"


def checked_params(session: Session, basedbs: BaseDatabases, kind: str, planning: Planning,
                   params: dict[str, Any]) -> dict[str, Any]:
    """The job's params once the request passes its checks (a refusal raises; nothing is changed)."""
    if kind in ("export_base", "backup_base"):
        base_in_service(session, planning.id)
    elif kind == "change_grid":
        change = preview(basedbs, base_in_service(session, planning.id), params["time_grid"])
        if change.failed and not params.get("accept_failures"):
            raise change.refusal()
    elif kind == "restore_base":
        row = get_backup(session, params["backup_id"])
        if row.hosting_number != planning.hosting_number:
            raise BackupOtherHosting(backup_id=row.id, owner=row.hosting_number, where={"backup_id": row.id})
        params = {**params, "prune": True}  # the planning's users become the backup's
    return params


def get_backup(session: Session, backup_id: str) -> Backup:
    """A verified backup by id (or its first 12 characters)."""
    row = session.get(Backup, backup_id)
    if row is None and len(backup_id) >= 8:
        matches = list(session.scalars(select(Backup).where(Backup.id.startswith(backup_id)).limit(2)))
        row = matches[0] if len(matches) == 1 else None
    if row is None or row.state != "verified":
        raise NotFound(kind="Backup", ident=backup_id, where={"backup_id": backup_id})
    return row


def list_backups(session: Session, planning_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(Backup).where(Backup.planning_id == planning_id, Backup.state == "verified")
                           .order_by(Backup.created_at.desc()))
    return [backup_dict(row) for row in rows]


def backup_dict(row: Backup) -> dict[str, Any]:
    return {"id": row.id, "planning_id": row.planning_id, "base_id": row.base_id, "state": row.state,
            "night": row.night, "key_id": row.key_id, "rows": row.row_counts,
            "bytes": sum(entry["bytes"] for entry in row.objects.values()),
            "created_at": row.created_at.isoformat(),
            "verified_at": row.verified_at.isoformat() if row.verified_at else None}


def verify(rt: Runtime, backup_id: str) -> dict[str, Any]:
    """Read a backup back now (decrypt, digests, every .HHYP rule); what was found."""
    with rt.db.transaction() as session:
        row = get_backup(session, backup_id)
        objects, hosting_number, ident = dict(row.objects), row.hosting_number, row.id
    found = verify_backup(rt.store, backup_keys(rt.settings), objects, hosting_number=hosting_number,
                          limits=rt.settings.limits)
    return {"id": ident, **found}
