"""Stage *unpack*: stream every entry of the .HHYP from object storage to bases/<base-id>/.

The archive is read by ranges from the store (claim check: it never went
through the broker) and verified while it streams; the hosting number is
checked before the first object is written. Small entries are stored by a
bounded pool while the next ones stream (see ``ParallelPuts``); the marker,
written last once every put has landed, commits.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any, BinaryIO

from hosting.exporting import LAYOUT, Layout
from hosting.formats.hhyp.reader import HhypReader
from hosting.jobs.kinds import base_prefix, input_key
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.errors import InputMissing
from hosting.pipeline.markers import UNPACKED
from hosting.store.parallel import ParallelPuts

CHECKPOINT_BYTES = 8 << 20  # a large entry is streamed with a checkpoint every 8 MiB


def unpack(ctx: StageContext) -> StageOutcome:
    claim = ctx.claim
    prefix = base_prefix(claim.base_id or "")
    if ctx.store.head(prefix + UNPACKED) is not None:
        result = json.loads(ctx.store.get_bytes(prefix + UNPACKED))
        return StageOutcome(result=result, skipped=True, skip_reason="already_done")
    key = input_key(claim.kind, claim.job_id, claim.params, "hhyp_key")
    if ctx.store.head(key) is None:
        raise InputMissing(key=key, where={"key": key})
    ctx.store.delete_prefix(prefix)  # leftovers of an interrupted delivery
    with ctx.store.open_read(key) as source, HhypReader(
            source, expected_hosting_number=claim.hosting_number, limits=ctx.settings.limits) as reader, ParallelPuts(
            ctx.store, workers=ctx.settings.unpack_put_workers) as puts:
        manifest = reader.manifest
        total = len(manifest.entries)

        def put(path: str, stream: BinaryIO, size_bytes: int) -> None:
            ctx.checkpoint()
            if size_bytes > CHECKPOINT_BYTES:
                stream = io.BufferedReader(_Checkpointed(stream, ctx.checkpoint))
            puts.put(prefix + path, stream, size_bytes)
            ctx.progress(puts.done, total)

        summary = reader.stream(put)
        puts.wait()
        manifest_bytes = reader.manifest_bytes()  # as the customer's file holds it
        layout = Layout(manifest.generated_at.isoformat(), manifest.generator, tuple(manifest.entries.paths),
                        frozenset(reader.stored_entries()))
    ctx.progress(total, total)
    ctx.store.put_bytes(prefix + "manifest.json", manifest_bytes)
    ctx.store.put_bytes(prefix + LAYOUT, layout.to_json())
    result = {
        "base_name": manifest.base_name,
        "time_grid": manifest.time_grid.to_dict(),
        "tables": dict(manifest.tables),
        "entries": summary.entries,
        "bytes": summary.bytes,
    }
    ctx.store.put_bytes(prefix + UNPACKED, json.dumps(result, sort_keys=True).encode())
    return StageOutcome(result=result)


class _Checkpointed(io.RawIOBase):
    """A stream that calls ``checkpoint`` every ``CHECKPOINT_BYTES`` read (a cancel stops a long put)."""

    def __init__(self, stream: BinaryIO, checkpoint: Callable[[], None]):
        self._stream, self._checkpoint, self._unchecked = stream, checkpoint, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._unchecked += len(data)
        if self._unchecked >= CHECKPOINT_BYTES:
            self._unchecked = 0
            self._checkpoint()
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
