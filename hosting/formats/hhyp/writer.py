"""Writing a ``.HHYP``: entries streamed in, the manifest computed (sizes, SHA-256, rows) and written
last. It does not judge rows: tests need broken files."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any, BinaryIO

import msgspec

from hosting.formats.hhyp.manifest import FORMAT, VERSION
from hosting.formats.hhyp.names import MANIFEST
from hosting.timegrid import TimeGrid

_BLOCK_BYTES = 1 << 20
_COPY_BYTES = 1 << 20
_FILE_MODE = 0o100644 << 16
# FORMATS.md's field order: every row is written in it (unknown fields after, as given), so the
# bytes of a table depend on its rows only, not on how a store (PostgreSQL's jsonb) ordered keys.
FIELD_ORDER = {
    "subjects": ("id", "code", "name"),
    "teachers": ("id", "last_name", "first_name", "email", "photo"),
    "rooms": ("id", "name", "capacity"),
    "groups": ("id", "name", "kind", "parent"),
    "students": ("id", "number", "last_name", "first_name", "email", "groups", "photo"),
    "courses": ("id", "subject", "teachers", "groups", "rooms", "duration_steps", "placement", "documents"),
}
PLACEMENT_ORDER = ("day", "start_step", "weeks")


class HhypWriter:
    """Write a ``.HHYP`` to ``target`` (a path or a writable binary stream); ``close()`` finishes it."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO, *, hosting_number: str, base_name: str,
                 time_grid: TimeGrid | Mapping[str, Any], generated_at: dt.datetime | None = None,
                 generator: str = "hphost", compresslevel: int = 6):
        grid = time_grid if isinstance(time_grid, TimeGrid) else TimeGrid.from_dict(time_grid)
        self.generated_at = generated_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
        self._header = {"format": FORMAT, "version": VERSION, "hosting_number": hosting_number,
                        "base_name": base_name, "generated_at": self.generated_at.isoformat(),
                        "generator": generator, "time_grid": grid.to_dict()}
        self._entries: list[dict[str, Any]] = []
        self._tables: dict[str, int] = {}
        target_arg: Any = os.fspath(target) if isinstance(target, str | os.PathLike) else target
        self._zip = zipfile.ZipFile(target_arg, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self._encode = msgspec.json.Encoder().encode

    def add_table(self, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Write ``base/<table>.jsonl``, one row a line; return how many rows were written."""
        count, block = 0, bytearray()
        order = FIELD_ORDER.get(table, ())
        with self._open(f"base/{table}.jsonl", compress=True, size_bytes=None) as out:
            for row in rows:
                block += self._encode(canonical_row(row, order))
                block += b"\n"
                count += 1
                if len(block) >= _BLOCK_BYTES:
                    out.write(block)
                    block.clear()
            out.write(block)
        self._tables[table] = count
        return count

    def add_file(self, path: str, data: bytes | IO[bytes], *, compress: bool = True,
                 size_bytes: int | None = None) -> None:
        """Write an entry (an annex); photos and other compressed formats gain nothing from ``compress``.
        A stream of known ``size_bytes`` is written as its bytes would be (no ZIP64 record)."""
        size = len(data) if isinstance(data, bytes) else size_bytes
        with self._open(path, compress=compress, size_bytes=size) as out:
            if isinstance(data, bytes):
                out.write(data)
                return
            while block := data.read(_COPY_BYTES):
                out.write(block)

    def close(self) -> None:
        """Write the manifest and the central directory."""
        if self._zip.fp is None:
            return
        manifest = {**self._header, "entries": self._entries, "tables": self._tables}
        with self._zip.open(self._info(MANIFEST, compress=True), "w") as out:
            out.write(json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
        self._zip.close()

    def abort(self) -> None:
        """Give up: release the target without writing a manifest (the file is then unreadable)."""
        if self._zip.fp is not None:
            self._zip.close()

    def __enter__(self) -> HhypWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _open(self, path: str, *, compress: bool, size_bytes: int | None) -> _CountingEntry:
        info = self._info(path, compress=compress)
        if size_bytes is not None:
            info.file_size = size_bytes
        handle = self._zip.open(info, "w", force_zip64=size_bytes is None)
        return _CountingEntry(handle, path, self._entries)

    def _info(self, path: str, *, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=self.generated_at.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = _FILE_MODE
        info.create_system = 3  # Unix: the mode above is a Unix mode
        return info


def canonical_row(row: Mapping[str, Any], order: tuple[str, ...]) -> Mapping[str, Any]:
    """``row`` with its known fields in FORMATS.md's order (the same object when already so)."""
    keys = list(row)
    known = [name for name in order if name in row]
    placement = row.get("placement")
    placed = isinstance(placement, dict) and list(placement) != [k for k in PLACEMENT_ORDER if k in placement]
    if keys[:len(known)] == known and not placed:
        return row
    ordered = {name: row[name] for name in known}
    ordered.update((name, value) for name, value in row.items() if name not in ordered)
    if placed:
        assert isinstance(placement, dict)
        ordered["placement"] = {**{k: placement[k] for k in PLACEMENT_ORDER if k in placement}, **placement}
    return ordered


class _CountingEntry:
    """An open entry that records its size and SHA-256 in the manifest when closed."""

    def __init__(self, handle: IO[bytes], path: str, entries: list[dict[str, Any]]):
        self._handle = handle
        self._path = path
        self._entries = entries
        self._sha = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes | bytearray) -> None:
        self._sha.update(data)
        self._size += len(data)
        self._handle.write(data)

    def __enter__(self) -> _CountingEntry:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._handle.close()
        if exc_type is None:
            self._entries.append({"path": self._path, "size": self._size, "sha256": self._sha.hexdigest()})


def write_hhyp(target: str | Path | BinaryIO, *, hosting_number: str, base_name: str,
               time_grid: TimeGrid | Mapping[str, Any], tables: Mapping[str, Iterable[Mapping[str, Any]]],
               annexes: Mapping[str, bytes] | None = None, generated_at: dt.datetime | None = None) -> None:
    """Write a whole base at once (small bases, tests)."""
    with HhypWriter(target, hosting_number=hosting_number, base_name=base_name, time_grid=time_grid,
                    generated_at=generated_at) as writer:
        for table, rows in tables.items():
            writer.add_table(table, rows)
        for path, data in (annexes or {}).items():
            writer.add_file(path, data)
