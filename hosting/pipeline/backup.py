"""Stage *backup*: the base in service and its users, exported, encrypted (AES-GCM) into
``backups/<job-id>/``, then read back and checked; the backup row is written, ``verified``, in the
transaction that records the stage done, so a backup a killed worker left half-made is never listed."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hosting.backups.crypto import backup_keys, encrypt
from hosting.backups.verify import verify_backup
from hosting.db.models import Backup, utcnow
from hosting.jobs.kinds import BACKUPS_ROOT, job_prefix
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.export import put_hashed, spooled_export
from hosting.pipeline.markers import DONE


def backup(ctx: StageContext) -> StageOutcome:
    claim = ctx.claim
    prefix = job_prefix(BACKUPS_ROOT, claim.job_id)
    if ctx.store.head(prefix + DONE) is not None:
        result = json.loads(ctx.store.get_bytes(prefix + DONE))
        return StageOutcome(result=result, skipped=True, skip_reason="already_done", apply=_recorder(ctx, result))
    ctx.store.delete_prefix(prefix)  # leftovers of an interrupted delivery
    keys = backup_keys(ctx.settings)
    with spooled_export(ctx) as exported:
        objects = {}
        for path in (exported.hhyp, exported.profils):
            objects[path.name] = _encrypted_put(ctx, path, prefix + path.name + ".enc", keys.current,
                                                keys.keys[keys.current])
            ctx.checkpoint()
    found = verify_backup(ctx.store, keys, objects, hosting_number=claim.hosting_number, limits=ctx.settings.limits)
    result = {"base_id": exported.summary["base_id"], "rows": found["rows"], "users": found["users"],
              "key_id": keys.current, "objects": objects, "night": claim.params.get("night")}
    ctx.store.put_bytes(prefix + DONE, json.dumps(result, sort_keys=True).encode())
    return StageOutcome(result=result, apply=_recorder(ctx, result))


def _encrypted_put(ctx: StageContext, clear: Path, key: str, key_id: str, secret: bytes) -> dict[str, Any]:
    with clear.open("rb") as source, tempfile.TemporaryFile(prefix="hphost-backup-") as sealed:
        encrypt(source, sealed, key_id, secret)
        sealed.seek(0)
        entry = put_hashed(ctx, key, sealed)
    digest = hashlib.sha256()
    with clear.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return {**entry, "plain_sha256": digest.hexdigest()}


def _recorder(ctx: StageContext, result: dict[str, Any]) -> Callable[[Session], None]:
    claim = ctx.claim

    def apply(session: Session) -> None:
        now = utcnow()
        session.merge(Backup(id=claim.job_id, planning_id=claim.planning_id, hosting_number=claim.hosting_number,
                             base_id=result["base_id"], state="verified", night=result.get("night"),
                             key_id=result["key_id"], objects=result["objects"], row_counts=result["rows"],
                             created_at=now, verified_at=now))

    return apply
