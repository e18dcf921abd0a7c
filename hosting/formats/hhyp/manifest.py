"""``manifest.json`` of a ``.HHYP``: parsed, validated, and bound to a hosting number."""

from __future__ import annotations

import datetime as dt
import hashlib
from array import array
from collections.abc import Iterator, Mapping, Sized
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import Any

import msgspec

from config.limits import DEFAULT_LIMITS, Limits
from hosting.formats import errors as e
from hosting.formats.errors.grid import GridError
from hosting.formats.hhyp.names import MANIFEST
from hosting.formats.json.compiled import DECODE_ERRORS, NarrowedType, Narrowing, decoder, msgspec_fault, narrowed_type
from hosting.formats.json.explain import explain
from hosting.formats.json.strict import MAX_DEPTH, NotJson, loads, nests_deeper_than, values_more_than
from hosting.formats.rows.id_fingerprints import IdFingerprints
from hosting.timegrid import TimeGrid

FORMAT, VERSION = "HHYP", 1
TABLES = ("subjects", "teachers", "rooms", "groups", "students", "courses")
_WHERE = {"entry": MANIFEST}
# Eight value marks ("," ":" "[") an entry, counted before any parse, keep a 64 MiB manifest of "[1],"
# from becoming 18 million objects.
VALUES_PER_ENTRY, _OTHER_VALUES = 8, 4096
_ENTRIES = ("entries", "*")
# Entries decoded per call: a batch's objects are packed before the next batch is decoded.
_BATCH_ENTRIES = 4096
_DIGEST_BYTES = 32


class ManifestEntry(msgspec.Struct, frozen=True, gc=False):
    """One entry the manifest lists."""

    path: str
    size_bytes: int
    sha256: str  # hexadecimal, as the manifest writes it


class ManifestEntries(Mapping[str, ManifestEntry]):
    """The entries a manifest lists, by path, in manifest order, packed (paths, an array of sizes, the
    digests end to end: a manifest may list 200,000); :class:`ManifestEntry` objects are made on demand."""

    def __init__(self, paths: list[str], sizes: array[int], digests: bytes):
        self.paths = paths
        self.sizes = sizes
        self._digests = digests
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __getitem__(self, path: str) -> ManifestEntry:
        if self._index is None:
            self._index = self.positions()
        position = self._index[path]
        return ManifestEntry(path, self.sizes[position], self.digest(position).hex())

    def positions(self) -> dict[str, int]:
        """Where each path is listed (a new dict: the caller keeps it only as long as it needs it)."""
        return dict(zip(self.paths, range(len(self.paths)), strict=True))

    def digest(self, position: int) -> bytes:
        """The SHA-256 (32 bytes) of the entry listed at ``position``."""
        return self._digests[position * _DIGEST_BYTES:(position + 1) * _DIGEST_BYTES]


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: typed views of it; its bytes are not kept (only their size and SHA-256)."""

    hosting_number: str
    base_name: str
    generated_at: dt.datetime
    generator: str
    time_grid: TimeGrid
    entries: ManifestEntries
    tables: dict[str, int]  # rows per table present
    size_bytes: int  # of manifest.json
    sha256: bytes  # of manifest.json: what reading it again must give (HhypReader.manifest_bytes)


def parse_manifest(data: bytes | bytearray, *, expected_hosting_number: str | None = None,
                   limits: Limits = DEFAULT_LIMITS) -> Manifest:
    """Check ``data`` (manifest.json) against every manifest rule, the hosting number first."""
    limit = VALUES_PER_ENTRY * limits.max_entries + _OTHER_VALUES
    if values_more_than(data, limit):
        raise e.HhypManifestTooComplex(limit=limit, entries=limits.max_entries, where=_WHERE)
    fast = _fast_manifest()
    try:
        # The fast path; the entries stay raw (views of ``data``) and are decoded in batches.
        decoded = msgspec.json.decode(data, type=fast.type)
        if not fast.lifted_hold([decoded]):
            decoder("manifest").decode(data)  # raises: the strict type names the pattern broken
        _check_binding(decoded.hosting_number, expected_hosting_number)
        _check_count(decoded.entries, limits)
        entries = _entries(decoded.entries)
    except DECODE_ERRORS as exc:
        raise _explained(data, expected_hosting_number, limits, exc) from None
    return Manifest(
        hosting_number=decoded.hosting_number,
        base_name=decoded.base_name,
        generated_at=_timestamp(decoded.generated_at),
        generator=decoded.generator,
        time_grid=_time_grid(decoded.time_grid),
        entries=entries,
        tables=dict(decoded.tables),
        size_bytes=len(data),
        sha256=hashlib.sha256(data).digest(),
    )


@cache
def _fast_manifest() -> NarrowedType:
    # Patterns checked after decoding; the entries left raw, for _entries to decode in batches.
    return narrowed_type("manifest", Narrowing(lift_patterns=True, raw=frozenset({_ENTRIES})))


@cache
def _entries_decoder() -> msgspec.json.Decoder[Any]:
    (path, entry_type), = _fast_manifest().raw
    assert path == _ENTRIES
    return msgspec.json.Decoder(tuple.__class_getitem__((entry_type, ...)))


def _explained(data: bytes | bytearray, expected_hosting_number: str | None, limits: Limits,
               exc: Exception) -> e.FormatError:
    """The precise error of a manifest the fast path refused, in the order FORMATS.md gives the rules."""
    try:
        raw = _json_object(data)
        _check_version(raw)
        _check_binding(raw.get("hosting_number"), expected_hosting_number)
        if isinstance(raw.get("entries"), list):
            _check_count(raw["entries"], limits)
        _check_schema(raw)
        _time_grid(raw["time_grid"])  # (the schema leaves the grid to TimeGrid: 1e400 is no number of weeks)
    except e.FormatError as error:
        return error
    # The schema takes what msgspec refuses (1.0 for an integer): keep the stricter answer, and its place.
    reason, field = msgspec_fault(exc)
    return e.HhypManifestInvalid(reason=reason, where={**_WHERE, "field": field} if field else _WHERE)


def _check_binding(actual: Any, expected: str | None) -> None:
    if expected is not None and actual != expected:
        raise e.HhypWrongHostingNumber(actual=actual, expected=expected, where={**_WHERE, "field": "hosting_number"})


def _check_count(entries: Sized, limits: Limits) -> None:
    if len(entries) > limits.max_entries:
        raise e.HhypTooManyEntries(count=len(entries), limit=limits.max_entries, where={**_WHERE, "field": "entries"})


def _json_object(data: bytes | bytearray) -> dict[str, Any]:
    try:
        raw = loads(data)
    except NotJson as exc:
        if exc.too_deep:
            raise e.HhypTooDeep(limit=MAX_DEPTH, where=_WHERE) from None
        where = {**_WHERE, "field": exc.field} if exc.field else _WHERE
        raise e.HhypManifestNotJson(reason=exc.reason, where=where) from None
    if not isinstance(raw, dict):
        raise e.HhypManifestNotJson(reason="not an object", where=_WHERE)
    return raw


def _check_version(raw: dict[str, Any]) -> None:
    version = raw.get("version")
    newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
    if raw.get("format") == FORMAT and newer:
        raise e.HhypUnsupportedVersion(format=FORMAT, version=version, where={**_WHERE, "field": "version"})


def _check_schema(raw: dict[str, Any]) -> None:
    fault = explain("manifest", raw)
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
    if nests_deeper_than(data, MAX_DEPTH - 1):  # (the manifest holds it: one level more)
        raise e.HhypTooDeep(limit=MAX_DEPTH, where=_WHERE)
    try:
        return TimeGrid.from_dict(data)
    except GridError as exc:
        exc.where = {**_WHERE, "field": f"time_grid.{exc.where.get('field', '')}".rstrip(".")}
        raise


def _entries(listed: tuple[msgspec.Raw, ...]) -> ManifestEntries:
    """Decode and pack the entries, a batch at a time (a batch's objects are dropped once packed)."""
    decode = _entries_decoder().decode
    paths: list[str] = []
    sizes, digests = array("Q"), bytearray()
    fingerprints = IdFingerprints()  # 8 bytes a path, where a set of them would take 40
    for start in range(0, len(listed), _BATCH_ENTRIES):
        try:
            batch = decode(b"[" + b",".join(listed[start:start + _BATCH_ENTRIES]) + b"]")
        except msgspec.ValidationError as exc:  # placed in the manifest, not in the batch: $[3] is $.entries[start + 3]
            reason, path = msgspec_fault(exc)
            index, _, rest = path.removeprefix("[").partition("]")
            if not index.isdigit():
                raise
            raise msgspec.ValidationError(f"{reason} - at `$.entries[{start + int(index)}]{rest}`") from None
        paths += map(_PATH, batch)
        sizes.extend(map(_SIZE, batch))
        digests += bytes.fromhex("".join(map(_SHA256, batch)))  # each matched ^[0-9a-f]{64}$
        fingerprints.add(paths[start:])
    if fingerprints.suspects() or MANIFEST in paths:
        _refuse_repeats(paths)
    return ManifestEntries(paths, sizes, bytes(digests))


_PATH, _SIZE, _SHA256 = attrgetter("path"), attrgetter("size"), attrgetter("sha256")


def _refuse_repeats(paths: list[str]) -> None:
    seen: set[str] = set()
    for index, path in enumerate(paths):
        where = {**_WHERE, "field": f"entries[{index}].path"}
        if path == MANIFEST:
            raise e.HhypManifestInvalid(reason="the manifest lists itself", where=where)
        if path in seen:
            raise e.HhypManifestInvalid(reason=f"{path} is listed twice", where=where)
        seen.add(path)
