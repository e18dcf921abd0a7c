"""``manifest.json`` of a ``.HHYP``: parsed, validated, and bound to a hosting number."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec

from hosting.formats import errors as e
from hosting.formats.compiled import DECODE_ERRORS, NarrowedType, Narrowing, decoder, narrowed_type
from hosting.formats.grid_errors import GridError
from hosting.formats.names import MANIFEST
from hosting.formats.schema import first_fault
from hosting.timegrid import TimeGrid

FORMAT, VERSION = "HHYP", 1
TABLES = ("subjects", "teachers", "rooms", "groups", "students", "courses")
_WHERE = {"entry": MANIFEST}


class ManifestEntry(msgspec.Struct, frozen=True, gc=False):
    """One entry the manifest lists (a Struct: a manifest may list 200,000, built in a blink)."""

    path: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: typed views of it, and ``raw``, the JSON object as read."""

    data: bytes = field(repr=False)
    hosting_number: str
    base_name: str
    generated_at: dt.datetime
    generator: str
    time_grid: TimeGrid
    entries: dict[str, ManifestEntry]  # by path, in manifest order
    tables: dict[str, int]  # rows per table present

    @property
    def raw(self) -> dict[str, Any]:
        # Parsed again on demand: a 200,000-entry manifest as dicts weighs ten times its bytes.
        raw: dict[str, Any] = json.loads(self.data)
        return raw


def parse_manifest(data: bytes, *, expected_hosting_number: str | None = None) -> Manifest:
    """Check ``data`` (the bytes of manifest.json) against every manifest rule, the hosting number first."""
    fast = _fast_manifest()
    try:
        # The fast path (compiled from schemas/manifest.json); a refusal is explained by the slow one.
        decoded = msgspec.json.decode(data, type=fast.type)
        if not fast.patterns_hold([decoded]):
            decoded = decoder("manifest").decode(data)  # raises: the strict type names the pattern broken
    except DECODE_ERRORS as exc:
        raise _explained(data, expected_hosting_number, exc) from None
    _check_binding(decoded.hosting_number, expected_hosting_number)
    return Manifest(
        data=data,
        hosting_number=decoded.hosting_number,
        base_name=decoded.base_name,
        generated_at=_timestamp(decoded.generated_at),
        generator=decoded.generator,
        time_grid=_time_grid(decoded.time_grid),
        entries=_entries(decoded.entries),
        tables=dict(decoded.tables),
    )


@cache
def _fast_manifest() -> NarrowedType:
    # Patterns checked after decoding (a manifest may list 200,000 SHA-256 to match).
    return narrowed_type("manifest", Narrowing(lift_patterns=True))


def _explained(data: bytes, expected_hosting_number: str | None, exc: Exception) -> e.FormatError:
    """The precise error of a manifest the fast path refused, in the order FORMATS.md gives the rules."""
    try:
        raw = _json_object(data)
        _check_version(raw)
        _check_binding(raw.get("hosting_number"), expected_hosting_number)
        _check_schema(raw)
    except e.FormatError as error:
        return error
    return e.HhypManifestInvalid(reason=str(exc), where=_WHERE)


def _check_binding(actual: Any, expected: str | None) -> None:
    if expected is not None and actual != expected:
        raise e.HhypWrongHostingNumber(actual=actual, expected=expected, where={**_WHERE, "field": "hosting_number"})


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise e.HhypManifestNotJson(reason="not UTF-8", where=_WHERE) from None
    except ValueError as exc:
        raise e.HhypManifestNotJson(reason=str(exc), where=_WHERE) from None
    if not isinstance(raw, dict):
        raise e.HhypManifestNotJson(reason="not an object", where=_WHERE)
    return raw


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _check_version(raw: dict[str, Any]) -> None:
    version = raw.get("version")
    newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
    if raw.get("format") == FORMAT and newer:
        raise e.HhypUnsupportedVersion(format=FORMAT, version=version, where={**_WHERE, "field": "version"})


def _check_schema(raw: dict[str, Any]) -> None:
    fault = first_fault("manifest", raw)
    if fault is None:
        return
    where = {**_WHERE, "field": fault.field}
    if fault.kind == "unknown_field":
        raise e.HhypUnknownField(name=fault.name, where=where)
    raise e.HhypManifestInvalid(reason=fault.reason, where=where)


def _timestamp(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError:
        raise e.HhypManifestInvalid(reason="generated_at is not a real date and time",
                                    where={**_WHERE, "field": "generated_at"}) from None


def _time_grid(data: dict[str, Any]) -> TimeGrid:
    try:
        return TimeGrid.from_dict(data)
    except GridError as exc:
        exc.where = {**_WHERE, "field": f"time_grid.{exc.where.get('field', '')}".rstrip(".")}
        raise


def _entries(listed: Any) -> dict[str, ManifestEntry]:
    entries = {item.path: ManifestEntry(item.path, item.size, item.sha256) for item in listed}
    if len(entries) != len(listed) or MANIFEST in entries:
        _refuse_repeats(listed)
    return entries


def _refuse_repeats(listed: Any) -> None:
    seen: set[str] = set()
    for index, item in enumerate(listed):
        path, where = item.path, {**_WHERE, "field": f"entries[{index}].path"}
        if path == MANIFEST:
            raise e.HhypManifestInvalid(reason="the manifest lists itself", where=where)
        if path in seen:
            raise e.HhypManifestInvalid(reason=f"{path} is listed twice", where=where)
        seen.add(path)
