"""JSON Lines tables: bytes in, validated rows out, batch by batch, lines numbered from 1.

Each batch tries the narrowed type, then the compiled type line by line, then the JSON Schema, which
names the line and the field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any, BinaryIO

import msgspec

from config.limits import DEFAULT_LIMITS, Limits
from hosting.formats import errors as e
from hosting.formats.json.compiled import DECODE_ERRORS, msgspec_fault, row_decoder
from hosting.formats.json.schema import first_fault
from hosting.formats.json.strict import MAX_DEPTH, NUL_ESCAPE, NotJson, loads, may_hold_nul, nul_at
from hosting.formats.rows.narrowed import NarrowedRows

RowBatch = Callable[[list[Any], int, list[bytes] | None], None]  # rows, line of the first, their lines if split
_READ_BYTES = 1 << 20


class TableLines:
    """Feed the bytes of ``base/<table>.jsonl``; each batch of complete lines goes to ``on_rows``."""

    def __init__(self, table: str, on_rows: RowBatch, *, max_line_bytes: int, fast: NarrowedRows | None = None):
        self.table = table
        self.entry = f"base/{table}.jsonl"
        self.rows = 0
        self._on_rows = on_rows
        self._max = max_line_bytes
        self._decode = row_decoder(table).decode
        self._fast = fast
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        end = chunk.rfind(b"\n") + 1
        if not end:
            self._carry += chunk
            if len(self._carry) > self._max:
                self._too_long(self.rows + 1)
            return
        region = b"".join((self._carry, memoryview(chunk)[:end])) if self._carry else chunk[:end]
        self._carry = chunk[end:]
        if len(self._carry) > self._max:
            self._too_long(self.rows + region.count(b"\n") + 1)
        nul = may_hold_nul(region)  # (the fast path takes U+0000: the lines are looked at one by one)
        rows = self._fast.rows(region) if self._fast is not None and not nul else None
        if rows is None:
            lines = region.split(b"\n")
            lines.pop()
            self._batch(lines, nul=nul)
            return
        first = self.rows + 1
        self.rows += len(rows)
        self._on_rows(rows, first, None)

    def finish(self) -> int:
        """Take the last line (a final newline is optional); return how many rows there were."""
        if self._carry:
            self._batch([self._carry], nul=may_hold_nul(self._carry))
            self._carry = b""
        return self.rows

    def _batch(self, lines: list[bytes], *, nul: bool) -> None:
        if max(map(len, lines)) > self._max:
            self._too_long(self.rows + 1 + next(i for i, line in enumerate(lines) if len(line) > self._max))
        rows: list[Any] | None = None
        if not nul:
            with suppress(*DECODE_ERRORS):
                rows = list(map(self._decode, lines))
        if rows is None:  # line by line, so that the first fault in the file is the one named
            rows = []
            for index, line in enumerate(lines):
                try:
                    rows.append(self._slow(line, self.rows + 1 + index, nul=nul))
                except e.FormatError:
                    if rows:  # the rows before it are checked first: a fault of theirs (a placement...) is earlier
                        self._hand(rows, lines[:len(rows)])
                    raise
        self._hand(rows, lines)

    def _hand(self, rows: list[Any], lines: list[bytes]) -> None:
        first = self.rows + 1
        self.rows += len(rows)
        self._on_rows(rows, first, lines)

    def _too_long(self, line: int) -> None:
        raise e.HhypLineTooLong(limit=self._max, where={"entry": self.entry, "line": line})

    def _slow(self, line: bytes, number: int, *, nul: bool = False) -> Any:
        try:
            row = self._decode(line)
        except DECODE_ERRORS as exc:
            raise row_fault(self.table, line, exc, where={"entry": self.entry, "line": number}) from None
        # msgspec takes U+0000, which no database stores (a valid row: loads takes it too)
        if nul and NUL_ESCAPE in line and (field := nul_at(loads(line))) is not None:
            raise e.HhypNulCharacter(field=field, where={"entry": self.entry, "line": number, "field": field})
        return row


def row_fault(table: str, line: bytes, exc: Exception, where: dict[str, Any]) -> e.FormatError:
    """The precise error of a line the fast path refused."""
    if not line.strip():
        return e.HhypRowNotJson(reason="empty line", where=where)
    try:
        value = loads(line)
    except NotJson as error:
        if error.too_deep:
            return e.HhypTooDeep(limit=MAX_DEPTH, where=where)
        return e.HhypRowNotJson(reason=error.reason, where={**where, "field": error.field} if error.field else where)
    fault = first_fault(f"{table}.row", value)
    if fault is None:
        # The schema allows what msgspec refuses (``4.0`` for an integer): keep the stricter answer.
        path = msgspec_fault(exc)[1]
        return e.HhypRowInvalid(reason=str(exc), where={**where, "field": path} if path else where)
    if fault.kind == "unknown_field":
        return e.HhypUnknownField(name=fault.name, where={**where, "field": fault.field})
    return e.HhypRowInvalid(reason=fault.reason, where={**where, "field": fault.field} if fault.field else where)


def iter_table_rows(table: str, stream: BinaryIO, *, limits: Limits | None = None) -> Iterator[dict[str, Any]]:
    """Rows of ``base/<table>.jsonl`` from ``stream`` as plain dicts, each checked against the table's
    schema: re-reading a table the reader verified, cross-row rules not repeated."""
    # Valid lines are decoded again as plain JSON: dicts and lists, exactly as written.
    for _id, line in _checked_lines(table, stream, limits):
        yield msgspec.json.decode(line)


def iter_table_lines(table: str, stream: BinaryIO, *, limits: Limits | None = None) -> Iterator[tuple[str, str]]:
    """``(id, JSON text)`` of each row, checked as :func:`iter_table_rows` does, never decoded twice
    nor encoded again: what instantiate stores."""
    for row_id, line in _checked_lines(table, stream, limits):
        yield row_id, line.decode()


def _checked_lines(table: str, stream: BinaryIO, limits: Limits | None) -> Iterator[tuple[str, bytes]]:
    pending: list[tuple[str, bytes]] = []

    def take(rows: list[Any], first: int, valid: list[bytes] | None) -> None:
        assert valid is not None  # without the fast path, rows always come with their lines
        pending.extend(zip((row.id for row in rows), valid, strict=True))

    lines = TableLines(table, take, max_line_bytes=(limits or DEFAULT_LIMITS).max_line_bytes)
    while chunk := stream.read(_READ_BYTES):
        lines.feed(chunk)
        yield from pending
        pending.clear()
    lines.finish()
    yield from pending
