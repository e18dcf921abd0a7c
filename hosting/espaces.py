"""The HYPERPLANNING.net Espaces: read models of a base's timetable, written in one streaming pass.

Layout under ``bases/<base-id>/espaces/`` (an *indexed* layout, not one object per owner: a
university has ~3,000 owners, and 3,000 PUTs cost far more than four objects and three indexes):

- ``names.json``: the time grid and the names of subjects, teachers, rooms and groups (with parents);
- ``members.json``: each student's groups;
- ``secretariat.jsonl``: one line per course, placed or not, in course id order;
- ``teachers.jsonl``, ``students.jsonl`` (per group, its own courses: a reader adds the ancestors'),
  ``guest.jsonl`` (per room): one line per owner, ``{"courses":[...],"owner":"..."}``, owners sorted;
- ``<espace>.idx.json``: ``{owner: [offset, length]}`` into its ``.jsonl``, so one user's
  timetable is one ranged read.

Records are encoded once (msgspec, sorted keys: deterministic bytes) into a temporary file that
becomes the secretariat object; the per-owner objects are then copied from it through a memory
map, so memory holds only offsets (16 bytes a course and 4 bytes a placement), never the records.
"""

from __future__ import annotations

import hashlib
import mmap
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import msgspec

from hosting.basedb.base import BaseDatabases, Row
from hosting.jobs.kinds import base_prefix
from hosting.store.base import ObjectStore
from hosting.timegrid import clock_of, minutes_of

OWNER_ESPACES = {"teachers": "teachers", "students": "groups", "guest": "rooms"}  # espace -> the course field
ESPACES = ("teachers", "students", "secretariat", "guest")
LAYOUT = 2
CHECKPOINT_EVERY = 1_000  # courses read, or owners written, between two calls of ``checkpoint``
_ENCODER = msgspec.json.Encoder(order="sorted")


class _Placement(msgspec.Struct):
    day: str
    start_step: int
    weeks: list[int]


class _Course(msgspec.Struct):
    """The fields of a course row that the Espaces show (the others are skipped while decoding)."""

    id: str
    duration_steps: int = 0
    subject: str | None = None
    teachers: list[str] = []
    rooms: list[str] = []
    groups: list[str] = []
    placement: _Placement | None = None


class _Member(msgspec.Struct):
    id: str
    groups: list[str] = []


class _Record(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A course as published: fields in sorted order, so the encoded bytes are deterministic."""

    course: str
    day: str | None = None
    end: str | None = None
    groups: list[str]
    rooms: list[str]
    start: str | None = None
    subject: str | None
    teachers: list[str]
    weeks: list[int] | None = None


_DECODE_COURSE = msgspec.json.Decoder(_Course).decode
_ENCODE_RECORD = msgspec.json.Encoder().encode


def espace_key(base_id: str, name: str) -> str:
    return f"{base_prefix(base_id)}espaces/{name}"


@dataclass
class _Spool:
    """The secretariat bytes (a temporary file) and, per owner, the indexes of its courses."""

    out: IO[bytes]
    size: int = 0
    offsets: array[int] = field(default_factory=lambda: array("Q"))
    owners: dict[str, defaultdict[str, array[int]]] = field(
        default_factory=lambda: {espace: defaultdict(lambda: array("I")) for espace in OWNER_ESPACES})
    digest: Any = field(default_factory=hashlib.sha256)
    pending: list[bytes] = field(default_factory=list)

    def add(self, course: _Course, line: bytes) -> None:
        index = len(self.offsets)
        self.offsets.append(self.size)
        self.pending.append(line)
        self.size += len(line)
        if course.placement is not None:  # the hot loop of a publish: unrolled, a course's ids each counted once
            teachers, groups, rooms = course.teachers, course.groups, course.rooms
            owners = self.owners["teachers"]
            for owner in teachers if len(teachers) < 2 else dict.fromkeys(teachers):
                owners[owner].append(index)
            owners = self.owners["students"]
            for owner in groups if len(groups) < 2 else dict.fromkeys(groups):
                owners[owner].append(index)
            owners = self.owners["guest"]
            for owner in rooms if len(rooms) < 2 else dict.fromkeys(rooms):
                owners[owner].append(index)

    def flush(self) -> None:
        """Write the lines added since the last flush (one write per checkpoint, not one per course)."""
        data = b"".join(self.pending)
        self.out.write(data)
        self.digest.update(data)
        self.pending.clear()


def build_read_models(bases: BaseDatabases, base_id: str, store: ObjectStore,
                      checkpoint: Callable[[int], None] = lambda courses_done: None) -> dict[str, Any]:
    """Write every object of the layout; returns the marker's content (each object's key, records, sha256).

    ``checkpoint`` is called every ``CHECKPOINT_EVERY`` courses or owners and may raise to stop the build.
    """
    grid = bases.meta(base_id)["time_grid"]
    names = _names(bases, base_id)
    names_bytes = _ENCODER.encode({"grid": grid, **names})
    store.put_bytes(espace_key(base_id, "names.json"), names_bytes)
    members = map(msgspec.json.Decoder(_Member).decode, bases.raw_rows(base_id, "students"))
    store.put_bytes(espace_key(base_id, "members.json"), _ENCODER.encode({row.id: row.groups for row in members}))
    espaces: dict[str, Any] = {}
    with tempfile.TemporaryFile() as out:
        spool = _Spool(out)
        clocks = _clocks(grid)
        for count, raw in enumerate(bases.raw_rows(base_id, "courses"), 1):
            course = _DECODE_COURSE(raw)
            spool.add(course, _ENCODE_RECORD(_record(course, clocks)) + b"\n")
            if count % CHECKPOINT_EVERY == 0:
                spool.flush()
                checkpoint(count)
        spool.flush()
        done = len(spool.offsets)
        checkpoint(done)
        size = spool.size
        spool.offsets.append(size)
        out.seek(0)
        store.put_stream(espace_key(base_id, "secretariat.jsonl"), out, size)
        espaces["secretariat"] = {"key": espace_key(base_id, "secretariat.jsonl"), "records": done,
                                  "bytes": size, "sha256": spool.digest.hexdigest()}
        with mmap.mmap(out.fileno(), 0, access=mmap.ACCESS_READ) if size else _Empty() as lines:
            for espace in OWNER_ESPACES:
                espaces[espace] = _write_owners(store, base_id, espace, spool, lines, lambda: checkpoint(done))
    return {"layout": LAYOUT, "names": {"key": espace_key(base_id, "names.json"),
                                        "sha256": hashlib.sha256(names_bytes).hexdigest()}, "espaces": espaces}


class _Empty:
    """Stands for the memory map of an empty file (mmap refuses length 0)."""

    def __enter__(self) -> bytes:
        return b""

    def __exit__(self, *exc: object) -> None:
        return None


def _names(bases: BaseDatabases, base_id: str) -> dict[str, Any]:
    return {
        "subjects": {r["id"]: {"code": r.get("code"), "name": r.get("name")} for r in bases.rows(base_id, "subjects")},
        "teachers": {r["id"]: full_name(r) for r in bases.rows(base_id, "teachers")},
        "rooms": {r["id"]: r.get("name") for r in bases.rows(base_id, "rooms")},
        "groups": {r["id"]: {"name": r.get("name"), "parent": r.get("parent")} for r in bases.rows(base_id, "groups")},
    }


def _clocks(grid: dict[str, Any]) -> list[str]:
    """The clock time of every step boundary of a day (step 0 is the day's start)."""
    step = grid["sequence_minutes"] // grid["steps_per_sequence"]
    steps = grid["sequences_per_day"] * grid["steps_per_sequence"]
    return [clock_of(minutes_of(grid["day_start"]) + k * step) for k in range(2 * steps + 1)]  # room to spare


def _record(course: _Course, clocks: list[str]) -> _Record:
    """A course as the Espaces show it: ids (names are in ``names.json``) and its placement in clock time."""
    placement = course.placement
    if placement is None:
        return _Record(course=course.id, subject=course.subject, teachers=course.teachers, rooms=course.rooms,
                       groups=course.groups)
    start = placement.start_step
    return _Record(course=course.id, subject=course.subject, teachers=course.teachers, rooms=course.rooms,
                   groups=course.groups, day=placement.day, start=clocks[start],
                   end=clocks[start + course.duration_steps], weeks=placement.weeks)


def _write_owners(store: ObjectStore, base_id: str, espace: str, spool: _Spool, lines: Any,
                  checkpoint: Callable[[], None]) -> dict[str, Any]:
    key = espace_key(base_id, f"{espace}.jsonl")
    digest, index, offsets = hashlib.sha256(), {}, spool.offsets
    with tempfile.TemporaryFile() as out:
        for count, owner in enumerate(sorted(spool.owners[espace]), 1):
            courses = b",".join(lines[offsets[i]:offsets[i + 1] - 1] for i in spool.owners[espace][owner])
            line = b'{"courses":[' + courses + b'],"owner":' + _ENCODER.encode(owner) + b"}\n"
            index[owner] = [out.tell(), len(line)]
            out.write(line)
            digest.update(line)
            if count % CHECKPOINT_EVERY == 0:
                checkpoint()
        checkpoint()
        size = out.tell()
        out.seek(0)
        store.put_stream(key, out, size)
    store.put_bytes(espace_key(base_id, f"{espace}.idx.json"), _ENCODER.encode(index))
    return {"key": key, "index": espace_key(base_id, f"{espace}.idx.json"), "records": len(index),
            "bytes": size, "sha256": digest.hexdigest()}


def full_name(person: Row) -> str:
    return f"{person.get('first_name', '')} {person.get('last_name', '')}".strip()


def missing_objects(store: ObjectStore, base_id: str, marker_name: str) -> list[str]:
    """Keys a committed publication names and the store lacks (or holds at another size); for fsck."""
    marker_key = base_prefix(base_id) + marker_name
    if store.head(marker_key) is None:
        return [marker_key]
    marker = msgspec.json.decode(store.get_bytes(marker_key))
    wanted: dict[str, int | None] = {espace_key(base_id, "members.json"): None}
    if "names" in marker:
        wanted[marker["names"]["key"]] = None
    for info in marker.get("espaces", {}).values():
        wanted[info["key"]] = info.get("bytes")
        if "index" in info:
            wanted[info["index"]] = None
    missing = []
    for key, size in sorted(wanted.items()):
        found = store.head(key)
        if found is None or (size is not None and found.size_bytes != size):
            missing.append(key)
    return missing
