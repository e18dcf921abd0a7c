"""The HYPERPLANNING.net Espaces: read models of a base's timetable, one JSON Lines object each.

- ``teachers``: per teacher, their placed courses;
- ``students``: per group, the placed courses of the group and of its ancestors
  (a TP student follows the courses of its TD and promotion);
- ``secretariat``: every course, placed or not, with names resolved;
- ``guest``: per room, its occupation.

Courses are streamed once and spooled to a temporary SQLite file keyed by
reader, so memory stays bounded whatever the base's size; the output bytes
are deterministic for a given base, so publishing twice writes the same objects.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from hosting.basedb.base import BaseDatabases, Row
from hosting.jobs.kinds import base_prefix
from hosting.store.base import ObjectStore
from hosting.timegrid import clock_of, minutes_of

ESPACES = ("teachers", "students", "secretariat", "guest")
CHECKPOINT_EVERY = 1_000  # courses spooled, or spooled rows read, between two calls of ``checkpoint``


def build_read_models(bases: BaseDatabases, base_id: str, store: ObjectStore,
                      checkpoint: Callable[[int], None] = lambda courses_done: None) -> dict[str, dict[str, Any]]:
    """Write ``bases/<base_id>/espaces/<espace>.jsonl`` for every Espace; returns key, records, sha256 of each.

    ``checkpoint`` is called often (with the courses spooled so far) and may raise to stop the build.
    """
    grid = bases.meta(base_id)["time_grid"]
    names = {table: {row["id"]: row for row in bases.rows(base_id, table)}
             for table in ("subjects", "teachers", "rooms", "groups")}
    followers = _followers({gid: row.get("parent") for gid, row in names["groups"].items()})
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as spool_file:
        spool = sqlite3.connect(spool_file.name)
        spool.execute("CREATE TABLE spool (espace TEXT, owner TEXT, course TEXT, record TEXT)")
        courses = 0
        for courses, course in enumerate(bases.rows(base_id, "courses"), 1):
            record = _course_record(course, names, grid)
            spool.executemany("INSERT INTO spool VALUES (?, ?, ?, ?)",
                              list(_placements(course, record, followers)))
            if courses % CHECKPOINT_EVERY == 0:
                checkpoint(courses)
        checkpoint(courses)
        spool.execute("CREATE INDEX spool_order ON spool (espace, owner, course)")
        checkpoint(courses)
        published = {espace: _publish(spool, store, base_id, espace, lambda: checkpoint(courses))
                     for espace in ESPACES}
        spool.close()
    return published


def _course_record(course: Row, names: dict[str, dict[str, Row]], grid: dict[str, Any]) -> dict[str, Any]:
    subject = names["subjects"].get(course["subject"], {})
    record: dict[str, Any] = {
        "course": course["id"], "subject": subject.get("code"), "subject_name": subject.get("name"),
        "teachers": [_full_name(names["teachers"].get(t, {})) for t in course["teachers"]],
        "rooms": [names["rooms"].get(r, {}).get("name") for r in course["rooms"]],
        "groups": [names["groups"].get(g, {}).get("name") for g in course["groups"]],
    }
    placement = course.get("placement")
    if placement:
        step = grid["sequence_minutes"] // grid["steps_per_sequence"]
        start = minutes_of(grid["day_start"]) + placement["start_step"] * step
        record.update(day=placement["day"], start=clock_of(start),
                      end=clock_of(start + course["duration_steps"] * step), weeks=placement["weeks"])
    return record


def _placements(course: Row, record: dict[str, Any], followers: dict[str, set[str]]) -> Iterator[tuple[str, ...]]:
    text = json.dumps(record, ensure_ascii=False, sort_keys=True)
    yield "secretariat", "", course["id"], text
    if not course.get("placement"):
        return
    for teacher in course["teachers"]:
        yield "teachers", teacher, course["id"], text
    for room in course["rooms"]:
        yield "guest", room, course["id"], text
    audience: set[str] = set()
    for group in course["groups"]:
        audience |= followers.get(group, {group})
    for group in sorted(audience):
        yield "students", group, course["id"], text


def _followers(parents: dict[str, str | None]) -> dict[str, set[str]]:
    """For each group, the groups that follow its courses: itself and every group below it."""
    followers = {group: {group} for group in parents}
    for group in parents:
        node, seen = parents[group], {group}
        while node is not None and node not in seen:  # the reader refuses cycles; stay safe anyway
            followers.setdefault(node, {node}).add(group)
            seen.add(node)
            node = parents.get(node)
    return followers


def _publish(spool: sqlite3.Connection, store: ObjectStore, base_id: str, espace: str,
             checkpoint: Callable[[], None]) -> dict[str, Any]:
    key = f"{base_prefix(base_id)}espaces/{espace}.jsonl"
    digest, records = hashlib.sha256(), 0
    with tempfile.TemporaryFile() as out:
        owner_key = {"teachers": "teacher", "students": "group", "guest": "room"}.get(espace)
        for owner, courses in _grouped(spool, espace, checkpoint):
            line = (json.dumps({owner_key: owner, "courses": courses}, ensure_ascii=False, sort_keys=True)
                    if owner_key else courses[0]) + "\n"
            data = line.encode()
            out.write(data)
            digest.update(data)
            records += 1
        checkpoint()
        size = out.tell()
        out.seek(0)
        store.put_stream(key, io.BufferedReader(out), size)
    return {"key": key, "records": records, "sha256": digest.hexdigest()}


def _grouped(spool: sqlite3.Connection, espace: str,
             checkpoint: Callable[[], None]) -> Iterator[tuple[str, list[Any]]]:
    rows = _checkpointed(spool.execute("SELECT owner, course, record FROM spool WHERE espace = ? "
                                       "ORDER BY owner, course", (espace,)), checkpoint)
    if espace == "secretariat":
        for _owner, _course, record in rows:
            yield "", [record]
        return
    current = ""  # never yielded before a row sets it: courses is empty until then
    courses: list[Any] = []
    for owner, _course, record in rows:
        if owner != current and courses:
            yield current, courses
            courses = []
        current = owner
        courses.append(json.loads(record))
    if courses:
        yield current, courses


def _checkpointed(rows: Iterator[Any], checkpoint: Callable[[], None]) -> Iterator[Any]:
    for count, row in enumerate(rows, 1):
        if count % CHECKPOINT_EVERY == 0:
            checkpoint()
        yield row


def _full_name(teacher: Row) -> str | None:
    if not teacher:
        return None
    return f"{teacher.get('first_name', '')} {teacher.get('last_name', '')}".strip()
