"""Stage *derive*, the first of a grid change: the base in service, under the new grid, laid out in
``bases/<new-base-id>/`` as *unpack* lays out a file (tables, annexes, ``_unpacked.json`` last), so
*instantiate* and *publish* build and publish it as any other base. Courses the new grid leaves out
refuse the change (``GRID_CHANGE_FAILS_COURSES``) unless the job says ``accept_failures``."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable

import msgspec

from hosting.basedb.base import TABLES, Row
from hosting.exporting import GENERATOR, LAYOUT, Layout, base_in_service
from hosting.jobs.kinds import base_prefix
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.markers import UNPACKED
from hosting.regrid import preview, regrid, regridded


def derive(ctx: StageContext) -> StageOutcome:
    claim = ctx.claim
    prefix = base_prefix(claim.base_id or "")
    if ctx.store.head(prefix + UNPACKED) is not None:
        return StageOutcome(result=json.loads(ctx.store.get_bytes(prefix + UNPACKED))["report"], skipped=True,
                            skip_reason="already_done")
    with ctx.db.transaction() as session:
        old = base_in_service(session, claim.planning_id)
    grid = claim.params["time_grid"]
    would = preview(ctx.basedbs, old, grid)
    if would.failed and not claim.params.get("accept_failures"):
        raise would.refusal()
    ctx.store.delete_prefix(prefix)  # leftovers of an interrupted delivery
    change, counts = regrid(ctx.basedbs, old, grid), {}
    for table in TABLES:
        rows = ctx.basedbs.rows(old, table)
        counts[table] = _put_table(ctx, prefix + f"base/{table}.jsonl",
                                   regridded(change, rows) if table == "courses" else rows)
        ctx.checkpoint()
    annexes = _copy_annexes(ctx, base_prefix(old), prefix)
    layout = Layout.of(ctx.store, old)
    ctx.store.put_bytes(prefix + LAYOUT, Layout(None, GENERATOR, layout.order, layout.stored).to_json())
    report = {"from_base_id": old, **change.report()}
    unpacked = {"base_name": ctx.basedbs.meta(old).get("base_name") or "", "time_grid": change.grid.to_dict(),
                "tables": counts, "in_failure": change.kept_aside, "annexes": annexes, "report": report}
    ctx.store.put_bytes(prefix + UNPACKED, json.dumps(unpacked, sort_keys=True).encode())
    return StageOutcome(result=report)


def _put_table(ctx: StageContext, key: str, rows: Iterable[Row]) -> int:
    encode, count = msgspec.json.Encoder().encode, 0
    with tempfile.TemporaryFile(prefix="hphost-derive-") as spool:
        for row in rows:
            spool.write(encode(row) + b"\n")
            count += 1
        size = spool.tell()
        spool.seek(0)
        ctx.store.put_stream(key, spool, size)
    return count


def _copy_annexes(ctx: StageContext, source: str, target: str) -> int:
    copied = 0
    for info in ctx.store.list(source + "annexes/"):
        with ctx.store.open_read(info.key) as stream:
            ctx.store.put_stream(target + info.key.removeprefix(source), stream, info.size_bytes)
        copied += 1
        if copied % 100 == 0:
            ctx.checkpoint()
    return copied

