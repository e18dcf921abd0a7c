"""The fast path of a table: a whole batch of lines decoded by a type narrowed to what the reader knows.

The row schema is compiled once more with the ids already read, the annexes and the grid folded in
(:class:`~hosting.formats.json.compiled.Narrowing`), so msgspec checks references while decoding, in C;
repeating fields (a course's weeks) stay raw and each distinct value is decoded once. Anything not
proved valid returns ``None``, and :mod:`hosting.formats.rows.jsonl` reads the batch again to name the fault."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import msgspec

from hosting.formats.json.compiled import DECODE_ERRORS, FieldPath, Narrowing, narrowed_type
from hosting.formats.rows.native import NativeRows, ScannedIds

Decode = Callable[[bytes], Any]
BatchRule = Callable[[list[Any], Mapping[FieldPath, Decode]], bool]  # rows, decoders of the fields left raw
UNSET = msgspec.UNSET
_OPEN, _NEXT_ROW, _LAST_ROW = ord("{"), b"}\n{", b"}\n"
# Bytes decoded per call: msgspec holds the GIL for a whole call, and the inflating thread needs it often.
SLICE_BYTES = 128 << 10


@dataclass(frozen=True)
class _Compiled:
    covered: frozenset[FieldPath]
    decode_lines: Callable[[memoryview], list[Any]]
    lifted_hold: Callable[[list[Any]], bool]
    raw: Mapping[FieldPath, Decode]


class Ids(list[str]):
    """What :meth:`NarrowedRows.rows` returns for a batch the native scanner proved valid: each row's id
    (``scanned``: their hashes and order), all the row's rules but the id's uniqueness checked."""

    __slots__ = ("scanned",)

    def __init__(self, scanned: ScannedIds):
        super().__init__(scanned.ids)
        self.scanned = scanned


class NarrowedRows:
    """Decode batches of ``base/<table>.jsonl`` with the table's narrowed type, ``native`` tried first.
    ``batch_rule`` checks a decoded batch as a whole (the raw fields too); ``covered``: the paths settled."""

    def __init__(self, table: str, narrowing: Narrowing, *, max_line_bytes: int, batch_rule: BatchRule | None = None,
                 native: NativeRows | None = None):
        self._name, self._narrowing, self._batch_rule, self._native = f"{table}.row", narrowing, batch_rule, native
        self._window = max(1, max_line_bytes // 2)
        if native is None:
            self._compiled  # noqa: B018 (compiled now, when no native scanner may spare it: see _compiled)

    @cached_property
    def _compiled(self) -> _Compiled:
        """The narrowed type and its decoders: compiled at the first batch the native scanner refuses, if any
        (tens of milliseconds for a table of courses, with thousands of allowed ids)."""
        compiled = narrowed_type(self._name, self._narrowing)
        if compiled.raw and self._batch_rule is None:
            raise ValueError("fields left raw need a batch rule to check them")
        return _Compiled(covered=compiled.covered | {path for path, _ in compiled.raw},
                         decode_lines=msgspec.json.Decoder(compiled.type).decode_lines,
                         lifted_hold=compiled.lifted_hold,
                         raw={path: msgspec.json.Decoder(node).decode for path, node in compiled.raw})

    @property
    def covered(self) -> frozenset[FieldPath]:
        return self._compiled.covered

    def rows(self, region: bytes) -> list[Any] | None:
        """The rows of ``region`` (complete lines, each ending with a newline), or None: read it exactly."""
        if self._native is not None and (scanned := self._native.ids(region)) is not None:
            return Ids(scanned)
        lines = len(region) - len(region.replace(b"\n", b""))
        if not _framed(region, lines) or not self._lines_short(region):
            return None
        compiled = self._compiled
        rows: list[Any] = []
        start, end, view = 0, len(region), memoryview(region)
        try:
            while start < end:
                stop = region.find(b"\n", min(start + SLICE_BYTES, end - 1)) + 1
                rows += compiled.decode_lines(view[start:stop])
                start = stop
        except DECODE_ERRORS:
            return None
        if len(rows) != lines or not compiled.lifted_hold(rows):
            return None
        if self._batch_rule is not None and not self._batch_rule(rows, compiled.raw):
            return None
        return rows

    def _lines_short(self, region: bytes) -> bool:
        """No line is longer than the limit: a longer one would fill a whole window with no newline."""
        window = self._window
        return all(region.find(b"\n", at, at + window) >= 0 for at in range(0, len(region) - window, window))


def _framed(region: bytes, lines: int) -> bool:
    """One JSON object a line, nothing around it, so decoding the lines together is decoding each
    (``}\\n{`` cannot occur inside a value, and each line opens with ``{``)."""
    return region[0] == _OPEN and region.endswith(_LAST_ROW) and region.count(_NEXT_ROW) == lines - 1
