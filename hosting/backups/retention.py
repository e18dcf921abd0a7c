"""Which backups to keep: the last N days, the last of each of the last N weeks, the last of each of the
last N months (``HPHOST_BACKUP_KEEP_*``), and always the last verified one, whatever its age."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from hosting import audit
from hosting.db.models import Backup
from hosting.jobs.kinds import BACKUPS_ROOT, job_prefix
from hosting.runtime import Runtime


@dataclass(frozen=True)
class Kept:
    daily: int = 7
    weekly: int = 4
    monthly: int = 12


def day_of(backup: Backup) -> dt.date:
    """The day a backup stands for: its night when scheduled, else the day it was made."""
    return dt.date.fromisoformat(backup.night) if backup.night else backup.created_at.date()


def to_keep(backups: Iterable[tuple[str, dt.date, dt.datetime]], today: dt.date, kept: Kept) -> set[str]:
    """Ids to keep among ``(id, day, made_at)`` of one planning's verified backups."""
    ordered = sorted(backups, key=lambda b: (b[1], b[2]), reverse=True)  # newest first
    keep: set[str] = {ordered[0][0]} if ordered else set()  # the last verified one, always
    buckets = (
        (kept.daily, lambda day: day.toordinal()),
        (kept.weekly, lambda day: (day - dt.timedelta(days=day.weekday())).toordinal() // 7),
        (kept.monthly, lambda day: day.year * 12 + day.month),
    )
    for count, bucket in buckets:
        newest_bucket = bucket(today)
        seen: set[int] = set()
        for ident, day, _made in ordered:
            slot = bucket(day)
            if newest_bucket - count < slot <= newest_bucket and slot not in seen:
                seen.add(slot)
                keep.add(ident)
    return keep


def apply_retention(rt: Runtime, now: dt.datetime, kept: Kept, *, actor: str = "retention") -> list[str]:
    """Delete the backups no longer kept: the row first (never listed again), then its objects."""
    doomed: list[tuple[str, str, str]] = []
    with rt.db.transaction() as session:
        rows = list(session.scalars(select(Backup).where(Backup.state == "verified")))
        by_planning: dict[str, list[Backup]] = {}
        for row in rows:
            by_planning.setdefault(row.planning_id, []).append(row)
        for planning_id, backups in by_planning.items():
            keep = to_keep(((b.id, day_of(b), b.created_at) for b in backups), now.date(), kept)
            for row in backups:
                if row.id not in keep:
                    row.state, row.deleted_at = "deleted", now
                    doomed.append((row.id, planning_id, row.hosting_number))
        for ident, planning_id, hosting_number in doomed:
            audit.record(session, "backup.deleted", actor=actor, planning_id=planning_id,
                         hosting_number=hosting_number, backup_id=ident)
    for ident, _planning, _hosting in doomed:
        rt.store.delete_prefix(job_prefix(BACKUPS_ROOT, ident))
    return [ident for ident, _planning, _hosting in doomed]


__all__ = ["Kept", "apply_retention", "to_keep"]
