"""Reading a published base's Espaces (the layout of ``hosting.espaces``): one owner is one ranged read.

Published objects never change (they are keyed by the base id), so the names and the indexes of a
few recent bases are kept in memory; a swap to a new base reads the new base's objects.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import msgspec

from hosting.espaces import OWNER_ESPACES, espace_key
from hosting.store.base import ObjectStore

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CACHED = 32  # names and indexes of this many objects kept in memory
_cache: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def _cached(store: ObjectStore, key: str) -> Any:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = msgspec.json.decode(store.get_bytes(key))
    with _lock:
        _cache[key] = value
        while len(_cache) > _CACHED:
            _cache.popitem(last=False)
    return value


class Published:
    """The published Espaces of one base."""

    def __init__(self, store: ObjectStore, base_id: str):
        self.store, self.base_id = store, base_id

    @property
    def names(self) -> dict[str, Any]:
        """The grid and the names of subjects, teachers, rooms and groups."""
        names: dict[str, Any] = _cached(self.store, espace_key(self.base_id, "names.json"))
        return names

    @property
    def members(self) -> dict[str, list[str]]:
        """Each student's groups."""
        members: dict[str, list[str]] = _cached(self.store, espace_key(self.base_id, "members.json"))
        return members

    def student_courses(self, student: str) -> list[dict[str, Any]]:
        """A student's courses: those of each of their groups and of the groups' ancestors, once each."""
        courses = {c["course"]: c for g in self.members.get(student, []) for c in self.group_courses(g)}
        return [courses[k] for k in sorted(courses)]

    def owners(self, espace: str) -> list[str]:
        return sorted(self._index(espace))

    def _index(self, espace: str) -> dict[str, list[int]]:
        if espace not in OWNER_ESPACES:
            raise KeyError(espace)
        index: dict[str, list[int]] = _cached(self.store, espace_key(self.base_id, f"{espace}.idx.json"))
        return index

    def courses(self, espace: str, owner: str) -> list[dict[str, Any]]:
        """An owner's placed courses (a teacher's, a group's own, a room's): one ranged read; none if unknown."""
        where = self._index(espace).get(owner)
        if where is None:
            return []
        offset, length = where
        line = self.store.read_range(espace_key(self.base_id, f"{espace}.jsonl"), offset, offset + length - 1)
        courses: list[dict[str, Any]] = msgspec.json.decode(line)["courses"]
        return courses

    def group_courses(self, group: str) -> list[dict[str, Any]]:
        """A group's courses and those of its ancestors (a TP follows its TD's and its promotion's)."""
        groups, seen, courses = self.names["groups"], set(), []
        node: str | None = group
        while node is not None and node not in seen and node in groups:
            seen.add(node)
            courses.extend(self.courses("students", node))
            node = groups[node].get("parent")
        return sorted(courses, key=lambda c: c["course"])

    def secretariat(self) -> Iterator[dict[str, Any]]:
        """Every course, placed or not, in course id order (streamed)."""
        decode = msgspec.json.Decoder().decode
        with self.store.open_read(espace_key(self.base_id, "secretariat.jsonl")) as lines:
            for line in lines:
                yield decode(line)


def week_monday(grid: dict[str, Any], week: int) -> dt.date:
    """The Monday of the grid's week ``week`` (1-based)."""
    return dt.date.fromisoformat(grid["first_monday"]) + dt.timedelta(weeks=week - 1)


def occurrences(course: dict[str, Any], grid: dict[str, Any],
                weeks: set[int] | None = None) -> Iterator[tuple[int, dt.datetime, dt.datetime]]:
    """(week, start, end) of each occurrence of a placed course, as naive local times of the planning."""
    if "day" not in course:
        return
    day = DAYS.index(course["day"])
    start, end = dt.time.fromisoformat(course["start"]), dt.time.fromisoformat(course["end"])
    for week in course["weeks"]:
        if weeks is None or week in weeks:
            date = week_monday(grid, week) + dt.timedelta(days=day)
            yield week, dt.datetime.combine(date, start), dt.datetime.combine(date, end)
