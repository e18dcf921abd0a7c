"""Reading a ``.HHYP``: a streaming reader that trusts nothing (FORMATS.md, every rule).

``HhypReader(source, limits=..., expected_hosting_number=...)`` checks the central directory and the
manifest (and its hosting number) before any other entry; ``stream(put)`` hands each other entry to
``put(path, stream, size_bytes)``, checked (size, CRC, SHA-256, rows) as its bytes are read, and a
fault raises a :class:`~hosting.formats.errors.FormatError`: the caller discards what ``put`` stored.
Memory stays bounded: 1 MiB chunks, about 100 bytes kept per entry beside its name.
``tune_interpreter=True`` (:mod:`hosting.formats.speed`) is for a process that runs nothing else."""

from __future__ import annotations

import io
import os
from array import array
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from config.limits import DEFAULT_LIMITS, Limits
from hosting.formats import errors as e
from hosting.formats.hhyp.archive import Source, ZipEntry, read_central_directory
from hosting.formats.hhyp.inflate import Budget, Expected, read_small_entry, verified_chunks
from hosting.formats.hhyp.manifest import TABLES, Manifest, ManifestEntries, parse_manifest
from hosting.formats.hhyp.names import MANIFEST, is_directory, table_of
from hosting.formats.rows.jsonl import TableLines, iter_table_rows
from hosting.formats.rows.narrowed import Ids
from hosting.formats.rows.tables import BaseChecks
from hosting.formats.speed import fewer_collections, read_ahead

Put = Callable[[str, BinaryIO, int], None]
# Entries this large (compressed) are inflated by a thread of their own when tuning (see speed.py).
READ_AHEAD_FROM_BYTES = 256 << 10

__all__ = ["HhypReader", "HhypSummary", "Limits", "Manifest", "Put", "check_structure", "iter_table_rows"]


@dataclass
class HhypSummary:
    """What a full read found: entries streamed (manifest excluded), their bytes, rows per table."""

    entries: int = 0
    bytes: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    annexes: int = 0
    directories: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "bytes": self.bytes, "rows": dict(self.rows),
                "annexes": self.annexes, "directories": self.directories}


class HhypReader:
    """A ``.HHYP`` checked structurally and by its manifest; :meth:`stream` checks the rest."""

    def __init__(self, source: str | os.PathLike[str] | BinaryIO, *, limits: Limits = DEFAULT_LIMITS,
                 expected_hosting_number: str | None = None, tune_interpreter: bool = False):
        self.limits = limits
        self._tune_interpreter = tune_interpreter
        self._owned: BinaryIO | None = None
        if isinstance(source, str | os.PathLike):
            self._owned = source = _open(Path(source))
        try:
            self._source = Source(source)
            self._directory = read_central_directory(self._source, limits)
            self.manifest = self._read_manifest(expected_hosting_number)
            # The entries to stream, in archive order: where each is in the directory, and in the manifest.
            self._files, self._listed_at, self._folders = self._check_entries()
        except BaseException:
            self.close()
            raise

    def stream(self, put: Put) -> HhypSummary:
        """Hand every entry to ``put`` while verifying it; see the module docstring."""
        manifest, listed = self.manifest, self.manifest.entries
        budget = Budget(self.limits.max_total_bytes, used=manifest.size_bytes)
        annexes = [path for path in listed if path.startswith("annexes/")]
        checks = BaseChecks(manifest.time_grid, annexes, manifest.tables, self._reread_ids)
        summary = HhypSummary(directories=len(self._folders))
        for index in self._folders:
            self._check_folder(self._directory.entry(index))
        self._source.read_ahead = True
        with fewer_collections() if self._tune_interpreter else nullcontext():
            for index, position in zip(self._files, self._listed_at, strict=True):
                entry = self._directory.entry(index, listed.paths[position])
                size_bytes = listed.sizes[position]
                chunks = verified_chunks(self._source, entry, Expected(size_bytes, listed.digest(position)),
                                         self.limits, budget)
                if self._tune_interpreter and entry.compressed_bytes >= READ_AHEAD_FROM_BYTES:
                    chunks = read_ahead(chunks)
                stream = EntryStream(chunks, self._table_sink(entry.name, checks, summary))
                put(entry.name, cast(BinaryIO, stream), size_bytes)
                stream.drain()
                summary.entries += 1
                summary.bytes += size_bytes
        summary.annexes = len(annexes)
        checks.finish()
        return summary

    def check(self) -> HhypSummary:
        """Read and verify everything, keeping nothing."""
        return self.stream(_discard)

    def stored_entries(self) -> list[str]:
        """Entries kept uncompressed (ZIP method 0): an export writes them so again."""
        return [self._directory.name(index) for index in self._files if self._directory.entry(index).method == 0]

    def manifest_bytes(self) -> bytes:
        """``manifest.json`` as the archive holds it: read again, and refused unless it is what was checked."""
        manifest = self.manifest
        expected = Expected(manifest.size_bytes, manifest.sha256, too_large=e.HhypManifestTooLarge,
                            limit=self.limits.max_manifest_bytes)
        return bytes(read_small_entry(self._source, self._directory.entry(self._manifest_index), expected,
                                      self.limits, Budget(self.limits.max_total_bytes)))

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> HhypReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _read_manifest(self, expected_hosting_number: str | None) -> Manifest:
        index = self._directory.find(MANIFEST)
        if index is None:
            raise e.HhypManifestMissing(where={"entry": MANIFEST})
        self._manifest_index, entry = index, self._directory.entry(index)
        limit = self.limits.max_manifest_bytes
        if entry.size_bytes > limit:
            raise e.HhypManifestTooLarge(limit=limit, where={"entry": MANIFEST})
        expected = Expected(None, None, too_large=e.HhypManifestTooLarge, limit=limit)
        data = read_small_entry(self._source, entry, expected, self.limits, Budget(self.limits.max_total_bytes))
        return parse_manifest(data, expected_hosting_number=expected_hosting_number, limits=self.limits)

    def _check_entries(self) -> tuple[array[int], array[int], array[int]]:
        """The entries to stream, once the archive and the manifest agree on them; and the directory entries."""
        listed = self.manifest.entries
        positions = listed.positions()
        files, listed_at, folders = array("Q"), array("Q"), array("Q")
        for index, name in enumerate(self._directory.names()):
            if is_directory(name):
                folders.append(index)
                continue
            if name == MANIFEST:
                continue
            _check_table_name(name)
            position = positions.get(name)
            if position is None:
                raise e.HhypExtraEntry(where={"entry": name})
            files.append(index)
            listed_at.append(position)
        del positions
        if len(files) != len(listed):  # (names are unique, and so are paths: else every path was matched)
            _refuse_missing(listed, {listed.paths[position] for position in listed_at})
        self._check_tables(sorted(path for path in listed.paths if path.startswith("base/")))
        self._check_sizes(listed)
        return files, listed_at, folders

    def _check_folder(self, entry: ZipEntry) -> None:
        """A directory entry is ignored but checked as any other: its headers agree, and its data holds nothing."""
        budget = Budget(self.limits.max_total_bytes)
        for _ in verified_chunks(self._source, entry, Expected(None, None), self.limits, budget):
            raise e.HhypDirectoryWithData(where={"entry": entry.name})

    def _check_tables(self, table_paths: list[str]) -> None:
        tables = self.manifest.tables
        for path in table_paths:
            table = table_of(path)
            if table is not None and table not in tables:
                raise e.HhypTableMismatch(table=table, where={"entry": MANIFEST, "field": "tables"})
        for table in tables:
            if f"base/{table}.jsonl" not in table_paths:
                raise e.HhypTableMismatch(table=table, where={"entry": MANIFEST, "field": f"tables.{table}"})

    def _check_sizes(self, listed: ManifestEntries) -> None:
        total = self.manifest.size_bytes
        for path, size_bytes in zip(listed.paths, listed.sizes, strict=True):
            if size_bytes > self.limits.max_entry_bytes:
                raise e.HhypEntryTooLarge(limit=self.limits.max_entry_bytes, where={"entry": path})
            total += size_bytes
            if total > self.limits.max_total_bytes:
                raise e.HhypTooLarge(limit=self.limits.max_total_bytes, where={"entry": path})

    def _reread_ids(self, table: str) -> Iterator[tuple[int, str]]:
        """(line, id) of every row of a table already verified, read again (rare: a suspected duplicate)."""
        index = self._directory.find(f"base/{table}.jsonl")
        assert index is not None
        entry = self._directory.entry(index)
        found: list[tuple[int, str]] = []
        lines = TableLines(table, lambda rows, first, _: found.extend(enumerate(map(_row_id, rows), first)),
                           max_line_bytes=self.limits.max_line_bytes)
        expected = Expected(entry.size_bytes, None)
        for chunk in verified_chunks(self._source, entry, expected, self.limits, Budget(self.limits.max_total_bytes)):
            lines.feed(chunk)
            yield from found
            found.clear()
        lines.finish()
        yield from found

    def _table_sink(self, path: str, checks: BaseChecks, summary: HhypSummary) -> _TableSink | None:
        table = table_of(path)
        if table is None:
            return None
        return _TableSink(table, checks, self.manifest.tables[table], summary, self.limits)


def check_structure(path: str | os.PathLike[str], *, expected_hosting_number: str | None = None,
                    limits: Limits = DEFAULT_LIMITS) -> Manifest:
    """The cheap checks of a ``.HHYP`` (its name, the ZIP end records and central directory, the manifest
    and its binding), reading no entry but the manifest: what the console refuses before uploading."""
    with HhypReader(path, expected_hosting_number=expected_hosting_number, limits=limits) as reader:
        return reader.manifest


class EntryStream(io.RawIOBase):
    """The verified bytes of one entry, as a readable, non-seekable binary stream."""

    def __init__(self, chunks: Iterator[bytes], sink: _TableSink | None):
        super().__init__()
        self._chunks = chunks
        self._sink = sink
        self._chunk = b""
        self._at = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        while self._at >= len(self._chunk) and self._pull():
            pass
        if self._at == 0 and size >= len(self._chunk):
            data, self._chunk = self._chunk, b""
            return data
        data = self._chunk[self._at:self._at + size]
        self._at += len(data)
        return data

    def readall(self) -> bytes:
        return b"".join(iter(lambda: self.read(1 << 20), b""))

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read (and so verify) whatever the caller left unread."""
        self._chunk, self._at = b"", 0
        while self._pull():
            self._chunk, self._at = b"", 0

    def _pull(self) -> bool:
        if self._ended:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._ended = True
            if self._sink is not None:
                self._sink.finish()
            return False
        if self._sink is not None:
            self._sink.feed(chunk)
        self._chunk, self._at = chunk, 0
        return True


class _TableSink:
    """Rows of one table, checked as its bytes pass; the row count is settled at the end."""

    def __init__(self, table: str, checks: BaseChecks, expected_rows: int, summary: HhypSummary, limits: Limits):
        self.table = table
        self.checks = checks
        self.expected_rows = expected_rows
        self.summary = summary
        self.fast = checks.fast_rows(table, max_line_bytes=limits.max_line_bytes)
        self.lines = TableLines(table, self._rows, max_line_bytes=limits.max_line_bytes, fast=self.fast)
        self.feed = self.lines.feed

    def _rows(self, rows: list[Any], first_line: int, lines: list[bytes] | None) -> None:
        # No lines: the batch came through a fast path, whose rules need no second check.
        if isinstance(rows, Ids):
            self.checks.unique_ids(self.table, rows, first_line)
        else:
            self.checks.rows(self.table, rows, first_line, self.fast.covered if lines is None else ())

    def finish(self) -> None:
        rows = self.lines.finish()
        if rows != self.expected_rows:
            raise e.HhypRowCountMismatch(actual=rows, expected=self.expected_rows,
                                         where={"entry": self.lines.entry, "field": f"tables.{self.table}"})
        self.summary.rows[self.table] = rows
        self.checks.table_done(self.table)


def _refuse_missing(listed: ManifestEntries, in_archive: set[str]) -> None:
    for position, path in enumerate(listed.paths):
        if path not in in_archive:
            raise e.HhypMissingEntry(where={"entry": path, "field": f"entries[{position}]"})


def _check_table_name(path: str) -> None:
    if path.startswith("base/") and table_of(path) not in TABLES:
        raise e.HhypUnknownTable(name=path, tables=", ".join(TABLES), where={"entry": path})


def _open(path: Path) -> BinaryIO:
    if path.is_dir():  # (whatever its name: "folder/" is no misnamed file)
        raise e.no_such_file(path)
    if not path.name.lower().endswith(".hhyp"):
        raise e.HhypFileName(where={"path": str(path)})
    try:
        return path.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise e.no_such_file(path, exc) from None


def _row_id(row: Any) -> str:
    ident: str = row.id
    return ident


def _discard(path: str, stream: BinaryIO, size_bytes: int) -> None:
    """check(): the reader drains each entry itself."""


