"""The native fast path of a table: a batch of lines checked in C (``_rowscan.c``), without the GIL.

A batch it accepts is valid; any other is read again by the Python paths (:mod:`~hosting.formats.rows.narrowed`,
then :mod:`~hosting.formats.rows.jsonl`), which name the fault: so it may refuse more, never accept more.
Its *plan* is translated from the row schema plus what the reader knows (ids, annexes, the grid); an
unknown keyword makes the table not native (:class:`NotNative`), so an edited schema is never half-checked.
Optional: without the built module, or with a stale one, :data:`AVAILABLE` is False and
:data:`UNAVAILABLE_REASON` says why (``hphost info``)."""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Collection, Mapping
from types import ModuleType
from typing import Any, NamedTuple, cast

from hosting.formats.json.compiled import IGNORED_KEYWORDS, FieldPath, allowed_values, resolved
from hosting.formats.json.schema import load_schema
from hosting.formats.json.strict import lone_surrogate

# _rowscan.c's ROWSCAN_VERSION, raised with it whenever a plan or an answer changes.
SCANNER_VERSION = 1
log = logging.getLogger("hphost.formats.native")


def unusable(module: ModuleType) -> str | None:
    """Why the compiled ``module`` cannot serve this reader, or None when it can."""
    version = getattr(module, "VERSION", None)
    if version != SCANNER_VERSION:
        return (f"stale build: compiled from another _rowscan.c (version {version}, this hphost needs "
                f"{SCANNER_VERSION}); reinstall hphost")
    if sys.hash_info.width != 64:  # it hands back the ids' Python hashes as 64-bit integers
        return "needs 64-bit hashes"
    return None


def _load() -> tuple[ModuleType | None, str | None]:
    try:
        import hosting.formats.rows._rowscan as module
    except ImportError as exc:
        if exc.name == "hosting.formats.rows._rowscan":
            return None, "not built: hphost was installed where no C compiler was"
        reason: str | None = f"not loadable: {exc}; reinstall hphost"
    else:
        reason = unusable(module)
    if reason is not None:
        log.warning("native scanner not used: %s; tables take the Python paths", reason)
        return None, reason
    return module, None


_loaded, UNAVAILABLE_REASON = _load()
AVAILABLE = _loaded is not None
_rowscan = cast(ModuleType, _loaded)
# The only pattern rendered on a free value (a path or an id is matched against the allowed values instead).
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
_LIMIT = 10**18 - 1  # the scanner reads integers of at most 18 digits
_KEY = secrets.token_bytes(16)  # the scanner's sets hash under it: no file can aim collisions at them

Plan = tuple[Any, ...]


class NotNative(Exception):
    """The table's schema uses what the scanner cannot check: the table takes the Python paths."""


class ScannedIds(NamedTuple):
    """A valid batch's ids in order, their 64-bit hashes (``array("q")`` bytes), and whether they ascend."""

    ids: list[str]
    hashes: bytes
    ascending: bool


class NativeRows:
    """The scanner of one table; :meth:`ids` answers a batch's ids, or None (read it again in Python)."""

    def __init__(self, plan: Plan, *, max_line_bytes: int, sums: Collection[tuple[int, int]] = ()):
        assert _rowscan is not None
        self._scan = _rowscan.Scanner(plan, _KEY, max_line_bytes, tuple(sums)).scan

    def ids(self, region: bytes) -> ScannedIds | None:
        """The ids of the rows of ``region`` (complete lines, each ending with a newline), when all are valid."""
        scanned = self._scan(region)
        return None if scanned is None else ScannedIds(*scanned)


def native_rows(plan: Plan, *, max_line_bytes: int, sums: Collection[tuple[int, int]] = ()) -> NativeRows | None:
    """The scanner of ``plan``; None, and the fast path off for this process, when the module refuses it."""
    global AVAILABLE, UNAVAILABLE_REASON
    if not AVAILABLE:
        return None
    try:
        return NativeRows(plan, max_line_bytes=max_line_bytes, sums=sums)
    except Exception as exc:  # a plan this hphost builds, refused: the module is not the one it was built with
        AVAILABLE, UNAVAILABLE_REASON = False, f"the compiled module refused a plan ({type(exc).__name__}: {exc})"
        log.warning("native scanner not used: %s; tables take the Python paths", UNAVAILABLE_REASON)
        return None


def describe() -> str:
    """``yes``, or ``no`` and why (for ``hphost info``)."""
    return "yes" if AVAILABLE else f"no: {UNAVAILABLE_REASON}"


def row_plan(table: str, values: Mapping[FieldPath, Collection[Any]], *, unique: Collection[FieldPath] = (),
             slots: Mapping[FieldPath, int] | None = None) -> Plan:
    """The plan of a row of ``base/<table>.jsonl`` (allowed ``values``, ``unique`` arrays, sum ``slots``)."""
    root = load_schema(f"{table}.row")
    return _Translator(root, values, frozenset(unique), dict(slots or {})).node(root, ())


class _Translator:
    def __init__(self, root: dict[str, Any], values: Mapping[FieldPath, Collection[Any]],
                 unique: frozenset[FieldPath], slots: dict[FieldPath, int]):
        self.root, self.values, self.unique, self.slots = root, values, unique, slots

    def node(self, schema: dict[str, Any], path: FieldPath) -> Plan:
        schema = resolved(self.root, schema)
        keywords = set(schema) - IGNORED_KEYWORDS
        if path in self.values:
            return self._allowed(schema, path)
        if "enum" in schema:
            values = schema["enum"]
            if keywords - {"type"} != {"enum"} or not all(isinstance(value, str) for value in values):
                raise NotNative(f"{path}: only an enum of strings")
            return (_rowscan.MEMBER, tuple(values))
        kind = schema.get("type")
        if kind == "object":
            return self._object(schema, path, keywords)
        if kind == "array":
            return self._array(schema, path, keywords)
        if kind == "string":
            return self._string(schema, path, keywords)
        if kind == "integer":
            if keywords - {"type", "minimum", "maximum"}:
                raise NotNative(f"{path}: integer keywords {sorted(keywords)}")
            return (_rowscan.INT, max(schema.get("minimum", -_LIMIT), -_LIMIT),
                    min(schema.get("maximum", _LIMIT), _LIMIT), self.slots.get(path, -1))
        raise NotNative(f"{path}: type {kind!r}")

    def _allowed(self, schema: dict[str, Any], path: FieldPath) -> Plan:
        """The values at ``path`` the field's own schema accepts (those the narrowed type would hold)."""
        name = "_".join(("Native", *path)).replace("*", "item")
        allowed = allowed_values(self.root, schema, name, self.values[path])
        if all(type(value) is str for value in allowed):
            joined = "".join(allowed)  # one test for lone surrogates (no line the scanner accepts holds one)
            return (_rowscan.MEMBER, tuple(filter(lambda value: not lone_surrogate(value), allowed))
                    if lone_surrogate(joined) else allowed)
        numbers = sorted(allowed)
        if len(set(numbers)) != numbers[-1] - numbers[0] + 1:
            raise NotNative(f"{path}: allowed integers must form a range")
        return (_rowscan.INT, numbers[0], numbers[-1], self.slots.get(path, -1))

    def _object(self, schema: dict[str, Any], path: FieldPath, keywords: set[str]) -> Plan:
        if schema.get("additionalProperties") is not False or keywords - {"type", "properties", "required",
                                                                          "additionalProperties"}:
            raise NotNative(f"{path}: objects must refuse additional properties")
        required = set(schema.get("required", ()))
        properties = schema.get("properties", {})
        if not required <= set(properties):
            raise NotNative(f"{path}: a required field without a schema")
        return (_rowscan.OBJECT, tuple((key, key in required, self.node(sub, (*path, key)))
                                       for key, sub in properties.items()))

    def _array(self, schema: dict[str, Any], path: FieldPath, keywords: set[str]) -> Plan:
        if keywords - {"type", "items", "minItems", "maxItems"}:  # (uniqueItems: not in a row schema)
            raise NotNative(f"{path}: array keywords {sorted(keywords)}")
        item = self.node(schema.get("items", {}), (*path, "*"))
        unique = path in self.unique
        # (the scanner tells repeats apart in a 64-bit mask: integers of a range of at most 64 values)
        if unique and not (item[0] == _rowscan.INT and item[2] - item[1] < 64 and item[3] < 0):
            raise NotNative(f"{path}: repeats are told apart only among integers of a range of at most 64 values")
        return (_rowscan.ARRAY, schema.get("minItems", 0), schema.get("maxItems", _LIMIT), unique, item)

    def _string(self, schema: dict[str, Any], path: FieldPath, keywords: set[str]) -> Plan:
        if keywords - {"type", "minLength", "maxLength", "pattern"}:
            raise NotNative(f"{path}: string keywords {sorted(keywords)}")
        longest = schema.get("maxLength", _LIMIT)
        if "pattern" not in schema:
            return (_rowscan.STRING, schema.get("minLength", 0), longest, path == ("id",))
        if schema["pattern"] != EMAIL_PATTERN or schema.get("minLength", 0) > 3 or path == ("id",):
            raise NotNative(f"{path}: pattern {schema['pattern']!r}")
        return (_rowscan.EMAIL, longest)

