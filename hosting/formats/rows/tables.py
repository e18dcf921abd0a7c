"""Rules across rows and tables of a base: unique ids, references, annexes, placements, cycles.

Each rule is checked on a whole batch with set operations; only a failing batch is walked row by
row. A reference to a table not yet read is settled when that table ends."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import chain, compress, repeat
from operator import add, attrgetter, is_not
from typing import Any

import msgspec

from hosting.formats import errors as e
from hosting.formats.hhyp.manifest import TABLES
from hosting.formats.json.compiled import DECODE_ERRORS, FieldPath, Narrowing
from hosting.formats.rows.id_fingerprints import IdFingerprints
from hosting.formats.rows.narrowed import Decode, Ids, NarrowedRows
from hosting.formats.rows.native import AVAILABLE as NATIVE
from hosting.formats.rows.native import NativeRows, NotNative, native_rows, row_plan
from hosting.timegrid import TimeGrid

UNSET = msgspec.UNSET
_ID, _PLACEMENT, _DURATION = attrgetter("id"), attrgetter("placement"), attrgetter("duration_steps")
_DAY, _START, _WEEKS = attrgetter("day"), attrgetter("start_step"), attrgetter("weeks")
# (table, field, target table, holds a list) for every reference a row may make
REFERENCES = {
    "students": (("groups", "groups", True),),
    "courses": (("subject", "subjects", False), ("teachers", "teachers", True),
                ("groups", "groups", True), ("rooms", "rooms", True)),
}
ANNEXES = {"teachers": (("photo", False),), "students": (("photo", False),), "courses": (("documents", True),)}
_ANNEX_FOLDERS = {"photo": "annexes/photos/", "documents": "annexes/documents/"}
_ROWS_PER_VALUE = 16
# Nothing refers to these, and they are the big ones: their ids are kept as fingerprints only.
UNREFERENCED = ("students", "courses")
_DAY_PATH, _START_PATH, _DURATION_PATH = ("placement", "day"), ("placement", "start_step"), ("duration_steps",)
_WEEKS_PATH, _WEEK_PATH = ("placement", "weeks"), ("placement", "weeks", "*")
# Covered together (and the end of each course checked by the fast path's batch rule), a placement fits the grid.
_PLACEMENT_PATHS = {_DAY_PATH, _START_PATH, _WEEKS_PATH, _WEEK_PATH}
RereadIds = Callable[[str], Iterator[tuple[int, str]]]  # table -> (line, id) of every row, read again


@dataclass(frozen=True, slots=True)
class _Pending:
    line: int
    field: str
    target: str
    ident: str


class BaseChecks:
    """Everything a base must satisfy beyond one row's schema; feed it with :meth:`rows`."""

    def __init__(self, grid: TimeGrid, annexes: Iterable[str], present: Mapping[str, int], reread: RereadIds):
        """``present``: rows of each table in the archive (as its manifest says)."""
        self.grid = grid
        self.expected_rows = dict(present)
        annexes = list(annexes)
        self.annexes = frozenset(annexes)
        # Only these can match the field's schema pattern: the narrowing need not try the others.
        self._annexes_in = {folder: [path for path in annexes if path.startswith(folder)]
                            for folder in _ANNEX_FOLDERS.values()}
        self.ids: dict[str, set[str]] = {table: set() for table in TABLES if table not in UNREFERENCED}
        self.fingerprints = {table: IdFingerprints() for table in UNREFERENCED}
        self.reread = reread
        # A table absent from the archive is complete (and empty) from the start.
        self.complete = set(TABLES) - set(present)
        self.pending: dict[str, list[tuple[str, _Pending]]] = {table: [] for table in self.ids}
        self.parents: list[tuple[str, str, int]] = []  # group id, parent id, line
        self._days = frozenset(grid.working_days)
        self._weeks = frozenset(range(1, grid.weeks + 1))
        self._steps = grid.steps_per_day

    def narrowing(self, table: str) -> Narrowing:
        """What the rows of ``table`` must agree with, as known now (see :mod:`hosting.formats.rows.narrowed`)."""
        # Folding values into the type costs microseconds each: only worth it for many more rows.
        rows = self.expected_rows.get(table, 0)
        values: dict[FieldPath, Collection[Any]] = {path: ids for path, ids in self._known_values(table).items()
                                                    if rows >= _ROWS_PER_VALUE * len(ids)}
        if table != "courses":
            return Narrowing(values, lift_patterns=True)
        values.update(self._grid_values())
        return Narrowing(values, lift_patterns=True, raw=frozenset({_WEEKS_PATH}))

    def _known_values(self, table: str) -> dict[FieldPath, Collection[str]]:
        """The values a reference of ``table`` may take, for each table already read; those of an annex path."""
        values: dict[FieldPath, Collection[str]] = {
            _path(field, many): self.ids[target] for field, target, many in REFERENCES.get(table, ())
            if target in self.complete}
        values.update((_path(field, many), self._annexes_in[_ANNEX_FOLDERS[field]])
                      for field, many in ANNEXES.get(table, ()))
        return values

    def _grid_values(self) -> dict[FieldPath, Collection[Any]]:
        """The values of a course's placement the grid allows (one by one: a course's end is a rule of its own)."""
        return {_DAY_PATH: self.grid.working_days, _START_PATH: range(self._steps),
                _WEEK_PATH: range(1, self.grid.weeks + 1)}

    def fast_rows(self, table: str, *, max_line_bytes: int) -> NarrowedRows:
        """The fast path of ``table``'s batches; what it settles is passed back to :meth:`rows` as ``covered``
        (and a batch of :class:`~hosting.formats.rows.narrowed.Ids`, to :meth:`unique_ids`)."""
        rule = self._placements_fit if table == "courses" else None
        return NarrowedRows(table, self.narrowing(table), max_line_bytes=max_line_bytes, batch_rule=rule,
                            native=self._native_rows(table, max_line_bytes))

    def _native_rows(self, table: str, max_line_bytes: int) -> NativeRows | None:
        """The native scanner of ``table`` (every rule of :meth:`rows` but unique ids), or None: for groups,
        for references to a table not read yet, without the compiled module."""
        references = REFERENCES.get(table, ())
        if not NATIVE or table == "groups" or any(target not in self.complete for _, target, _ in references):
            return None
        values: dict[FieldPath, Collection[Any]] = dict(self._known_values(table))
        unique: set[FieldPath] = set()
        slots: dict[FieldPath, int] = {}
        sums: list[tuple[int, int]] = []
        if table == "courses":  # the placement fits the grid (TimeGrid.placement_fault)
            values.update(self._grid_values())
            unique.add(_WEEKS_PATH)
            slots = {_DURATION_PATH: 0, _START_PATH: 1}
            sums.append((0b11, self._steps))  # start_step + duration_steps <= steps of a day
        try:
            plan = row_plan(table, values, unique=unique, slots=slots)
        except NotNative:
            return None
        return native_rows(plan, max_line_bytes=max_line_bytes, sums=sums)

    def _placements_fit(self, rows: list[Any], raw: Mapping[FieldPath, Decode]) -> bool:
        """The fast path's share of the placement rules: each course ends within the day, no week twice."""
        placements = list(map(_PLACEMENT, rows))
        present = list(map(is_not, placements, repeat(UNSET)))
        placed = list(compress(placements, present))
        if not placed:
            return True
        if max(map(add, map(_START, placed), map(_DURATION, compress(rows, present)))) > self._steps:
            return False
        try:
            weeks = list(map(raw[_WEEKS_PATH], set(map(bytes, map(_WEEKS, placed)))))
        except DECODE_ERRORS:
            return False
        return all(map(_no_repeat, weeks))

    def rows(self, table: str, rows: list[Any], first_line: int, covered: Collection[FieldPath] = ()) -> None:
        """Check one batch of decoded rows of ``table`` from line ``first_line``, the rules settled by
        ``covered`` paths skipped; the fault on the earliest line is raised."""
        rules: list[Callable[[], None]] = [lambda: self._unique(table, list(map(_ID, rows)), first_line)]
        rules += [partial(self._references, table, rows, first_line, field, target, many)
                  for field, target, many in REFERENCES.get(table, ()) if _path(field, many) not in covered]
        rules += [partial(self._annexes, table, rows, first_line, field, many)
                  for field, many in ANNEXES.get(table, ()) if _path(field, many) not in covered]
        if table == "courses" and not _PLACEMENT_PATHS <= set(covered):
            rules.append(lambda: self._placements(rows, first_line))
        faults: list[e.FormatError] = []
        for rule in rules:
            try:
                rule()
            except e.FormatError as fault:
                faults.append(fault)
        if faults:
            raise min(faults, key=lambda fault: fault.where["line"])
        if table == "groups":
            self.parents.extend((row.id, row.parent, first_line + index)
                                for index, row in enumerate(rows) if row.parent is not UNSET)

    def table_done(self, table: str) -> None:
        """The table has no more rows: settle what waited for it."""
        self.complete.add(table)
        if table in self.fingerprints:
            self._check_fingerprints(table)
            return
        if table == "groups":
            self._check_parents()
        self._settle(table)

    def finish(self) -> None:
        """After the last entry: every remembered reference must have been settled."""
        for table in self.pending:
            self._settle(table)

    def unique_ids(self, table: str, batch: Ids, first_line: int) -> None:
        """Check a batch of ``table`` the native scanner proved valid: only its ids are left to check."""
        if table in self.fingerprints:
            self.fingerprints[table].add(batch, hashes=batch.scanned.hashes, ascending=batch.scanned.ascending)
        else:
            self._unique(table, batch, first_line)

    def _unique(self, table: str, batch: list[str], first_line: int) -> None:
        if table in self.fingerprints:
            self.fingerprints[table].add(batch)
            return
        seen = self.ids[table]
        fresh = set(batch)
        if len(fresh) == len(batch) and seen.isdisjoint(fresh):
            seen |= fresh
            return
        for index, ident in enumerate(batch):
            if ident in seen:
                raise e.HhypDuplicateId(ident=ident, where=_where(table, first_line + index, "id"))
            seen.add(ident)

    def _check_fingerprints(self, table: str) -> None:
        suspects = self.fingerprints[table].suspects()
        if not suspects:
            return
        seen: set[str] = set()
        for line, ident in self.reread(table):
            if hash(ident) in suspects:
                if ident in seen:
                    raise e.HhypDuplicateId(ident=ident, where=_where(table, line, "id"))
                seen.add(ident)

    def _references(self, table: str, rows: list[Any], first_line: int, field: str, target: str,
                    many: bool) -> None:
        values = map(attrgetter(field), rows)
        missing = (set(chain.from_iterable(values)) if many else set(values)) - self.ids[target]
        if missing:
            self._locate_references(table, rows, first_line, field, target, many, missing)

    def _locate_references(self, table: str, rows: list[Any], first_line: int, field: str, target: str,
                           many: bool, missing: set[str]) -> None:
        for index, row in enumerate(rows):
            value = getattr(row, field)
            for position, ident in enumerate(value if many else (value,)):
                if ident not in missing:
                    continue
                path = f"{field}[{position}]" if many else field
                if target in self.complete:
                    raise e.HhypDanglingReference(ident=ident, table=target,
                                                  where=_where(table, first_line + index, path))
                self.pending[target].append((table, _Pending(first_line + index, path, target, ident)))

    def _annexes(self, table: str, rows: list[Any], first_line: int, field: str, many: bool) -> None:
        values = list(map(attrgetter(field), rows))
        present = [value for value in values if value is not UNSET]
        wanted = set(chain.from_iterable(present)) if many else set(present)
        if wanted <= self.annexes:
            return
        for index, value in enumerate(values):
            if value is UNSET:  # (a list of documents can be absent too)
                continue
            for position, path in enumerate(value if many else (value,)):
                if path not in self.annexes:
                    field_path = f"{field}[{position}]" if many else field
                    raise e.HhypMissingAnnex(path=path, where=_where(table, first_line + index, field_path))

    def _placements(self, rows: list[Any], first_line: int) -> None:
        # Whole-batch checks with C-level set and map operations; a row-by-row walk only to name a fault.
        placed = [row for row in rows if row.placement is not UNSET]
        if not placed:
            return
        placements = list(map(_PLACEMENT, placed))
        ends = map(add, map(_START, placements), map(_DURATION, placed))
        if (set(map(_DAY, placements)) <= self._days and max(ends) <= self._steps
                and all(map(self._weeks_fit, set(map(_WEEKS, placements))))):
            return
        for index, row in enumerate(rows):
            if row.placement is not UNSET and not self.grid.fits(
                    row.placement.day, row.placement.start_step, row.duration_steps, row.placement.weeks):
                self._misplaced(row, first_line + index)

    def _weeks_fit(self, weeks: tuple[int, ...]) -> bool:
        """One distinct list of weeks (a batch holds few): in range, none twice."""
        distinct = set(weeks)
        return len(distinct) == len(weeks) and distinct <= self._weeks

    def _misplaced(self, row: Any, line: int) -> None:
        placement = row.placement
        fault = self.grid.placement_fault(placement.day, placement.start_step, row.duration_steps, placement.weeks)
        assert fault is not None
        field, reason = fault
        raise e.HhypPlacementOutsideGrid(reason=reason, where=_where("courses", line, f"placement.{field}"))

    def _check_parents(self) -> None:
        groups = self.ids["groups"]
        for _, parent, line in self.parents:
            if parent not in groups:
                raise e.HhypDanglingReference(ident=parent, table="groups", where=_where("groups", line, "parent"))
        parent_of = {ident: (parent, line) for ident, parent, line in self.parents}
        cleared: set[str] = set()
        for start in parent_of:
            path: dict[str, None] = {}  # (ordered, and a lookup in it costs no walk: a chain may be 100,000 long)
            node: str | None = start
            while node is not None and node not in cleared:
                if node in path:
                    members = list(path)
                    cycle = members[members.index(node):]
                    line = min(parent_of[member][1] for member in cycle)
                    raise e.HhypGroupCycle(ident=node, cycle=_cycle_text(cycle), where=_where("groups", line, "parent"))
                path[node] = None
                node = parent_of[node][0] if node in parent_of else None
            cleared.update(path)

    def _settle(self, target: str) -> None:
        if target not in self.complete:
            return
        known = self.ids[target]
        for table, ref in self.pending[target]:
            if ref.ident not in known:
                raise e.HhypDanglingReference(ident=ref.ident, table=target, where=_where(table, ref.line, ref.field))
        self.pending[target].clear()


def _cycle_text(cycle: list[str], shown: int = 6) -> str:
    """``A → B → A``; a long cycle by its first groups and its length (the message is stored with the job)."""
    if len(cycle) <= shown:
        return " → ".join([*cycle, cycle[0]])
    return " → ".join(cycle[:shown]) + f" → … ({len(cycle)} groups in all) → {cycle[0]}"


def _no_repeat(weeks: tuple[int, ...]) -> bool:
    return len(set(weeks)) == len(weeks)


def _path(field: str, many: bool) -> FieldPath:
    return (field, "*") if many else (field,)


def _where(table: str, line: int, field: str) -> dict[str, Any]:
    return {"entry": f"base/{table}.jsonl", "line": line, "field": field}
