"""Stage *export*: the base in service as a ``.HHYP`` (hphost's writer) and its ``.profils``, in
``exports/<job-id>/``; the marker, written last, commits them and holds their keys and digests."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from hosting.exporting import base_in_service, planning_profils, write_base_hhyp
from hosting.jobs.kinds import EXPORTS_ROOT, job_prefix
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.markers import DONE

HHYP_NAME, PROFILS_NAME = "base.HHYP", "users.profils"


@dataclass
class Exported:
    """An export spooled to local files: the ``.HHYP`` and ``.profils``, and what was written."""

    hhyp: Path
    profils: Path
    summary: dict[str, Any]


@contextmanager
def spooled_export(ctx: StageContext) -> Iterator[Exported]:
    """Write the planning's base in service and its users to temporary files (removed on exit)."""
    claim = ctx.claim
    with ctx.db.transaction() as session:
        base_id = base_in_service(session, claim.planning_id)
        profils = planning_profils(session, claim.planning_id)
    with tempfile.TemporaryDirectory(prefix="hphost-export-") as folder:
        hhyp, profils_path = Path(folder) / HHYP_NAME, Path(folder) / PROFILS_NAME
        ctx.checkpoint()
        with hhyp.open("wb") as out:
            summary = write_base_hhyp(out, ctx.store, ctx.basedbs, base_id, hosting_number=claim.hosting_number)
        profils_path.write_bytes(profils)
        ctx.checkpoint()
        yield Exported(hhyp, profils_path, {"base_id": base_id, **summary})


def export(ctx: StageContext) -> StageOutcome:
    prefix = job_prefix(EXPORTS_ROOT, ctx.claim.job_id)
    if ctx.store.head(prefix + DONE) is not None:
        result = json.loads(ctx.store.get_bytes(prefix + DONE))
        return StageOutcome(result=result, skipped=True, skip_reason="already_done")
    ctx.store.delete_prefix(prefix)  # leftovers of an interrupted delivery
    with spooled_export(ctx) as exported:
        files = {}
        for name, path in ((HHYP_NAME, exported.hhyp), (PROFILS_NAME, exported.profils)):
            with path.open("rb") as stream:
                files[name] = put_hashed(ctx, prefix + name, stream)
    result = {**exported.summary, "files": files}
    ctx.store.put_bytes(prefix + DONE, json.dumps(result, sort_keys=True).encode())
    return StageOutcome(result=result)


def put_hashed(ctx: StageContext, key: str, stream: BinaryIO) -> dict[str, Any]:
    """Store a local file's bytes under ``key``; its key, SHA-256 and size."""
    digest = hashlib.sha256()
    while block := stream.read(1 << 20):
        digest.update(block)
    size = stream.tell()
    stream.seek(0)
    ctx.store.put_stream(key, stream, size)
    return {"key": key, "sha256": digest.hexdigest(), "bytes": size}
