"""The read-model builder on a SQLite base and a local store: layout, bytes, indexes, cancel."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from hosting.basedb.base import stored
from hosting.basedb.sqlite import SqliteBases
from hosting.espace_reader import Published, occurrences
from hosting.espaces import build_read_models, espace_key, missing_objects
from hosting.store.local import LocalStore

GRID = {"first_monday": "2026-08-31", "weeks": 10, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 10, "sequence_minutes": 60, "steps_per_sequence": 2}
GROUPS = [{"id": "P1", "name": "L1"}, {"id": "TD1", "name": "TD 1", "parent": "P1"},
          {"id": "TP1", "name": "TP 1a", "parent": "TD1"}, {"id": "TD2", "name": "TD 2", "parent": "P1"}]


def _course(k: int, group: str, teachers: list[str], placed: bool = True) -> dict:
    row = {"id": f"C{k:03d}", "subject": "S1", "teachers": teachers, "rooms": [f"R{k % 2}"], "groups": [group],
           "duration_steps": 3}
    if placed:
        row["placement"] = {"day": "tue", "start_step": k % 4, "weeks": [1, 2, 9]}
    return row


COURSES = [_course(1, "P1", ["T1"]), _course(2, "TD1", ["T1", "T2"]), _course(3, "TP1", ["T2"]),
           _course(4, "TD2", ["T1"]), _course(5, "TP1", ["T1"], placed=False)]


@pytest.fixture
def base(tmp_path):
    bases = SqliteBases(tmp_path / "bases")
    tables = [("subjects", [{"id": "S1", "code": "MATH", "name": "Maths"}]),
              ("teachers", [{"id": "T1", "first_name": "Ada", "last_name": "Lovelace"},
                            {"id": "T2", "first_name": "Alan", "last_name": "Turing"}]),
              ("rooms", [{"id": "R0", "name": "Salle A"}, {"id": "R1", "name": "Amphi"}]),
              ("groups", GROUPS), ("students", []), ("courses", COURSES)]
    bases.build("b1", {"time_grid": GRID, "base_name": "test"}, stored(tables))
    return bases


def _objects(store: LocalStore) -> dict[str, bytes]:
    return {info.key: store.get_bytes(info.key) for info in store.list("bases/b1/espaces/")}


def test_layout_and_owner_reads(base, tmp_path):
    store = LocalStore(tmp_path / "objects")
    marker = build_read_models(base, "b1", store)
    assert marker["espaces"]["secretariat"]["records"] == 5
    assert marker["espaces"]["teachers"]["records"] == 2
    published = Published(store, "b1")
    assert [c["course"] for c in published.courses("teachers", "T1")] == ["C001", "C002", "C004"]  # C005 unplaced
    assert [c["course"] for c in published.group_courses("TP1")] == ["C001", "C002", "C003"]
    assert [c["course"] for c in published.group_courses("TD2")] == ["C001", "C004"]
    assert [c["course"] for c in published.courses("guest", "R1")] == ["C001", "C003"]
    assert published.courses("teachers", "nobody") == []
    assert [c["course"] for c in published.secretariat()] == [c["id"] for c in COURSES]
    assert published.names["teachers"]["T2"] == "Alan Turing"
    first = published.courses("teachers", "T2")[0]
    assert (first["start"], first["end"]) == ("09:00", "10:30")  # step 2 of 30 minutes, 3 steps long
    assert [(w, s.isoformat()) for w, s, _ in occurrences(first, GRID)] == [
        (1, "2026-09-01T09:00:00"), (2, "2026-09-08T09:00:00"), (9, "2026-10-27T09:00:00")]
    for info in marker["espaces"].values():  # the marker's digests are those of the stored bytes
        assert hashlib.sha256(store.get_bytes(info["key"])).hexdigest() == info["sha256"]
    index = msgspec.json.decode(store.get_bytes(espace_key("b1", "students.idx.json")))
    assert sorted(index) == ["P1", "TD1", "TD2", "TP1"]


def test_bytes_are_deterministic(base, tmp_path):
    first, second = LocalStore(tmp_path / "one"), LocalStore(tmp_path / "two")
    assert build_read_models(base, "b1", first) == build_read_models(base, "b1", second)
    assert _objects(first) == _objects(second)


def test_checkpoint_stops_the_build(base, tmp_path, monkeypatch):
    monkeypatch.setattr("hosting.espaces.CHECKPOINT_EVERY", 2)
    seen: list[int] = []

    class Stop(Exception):
        pass

    def checkpoint(done: int) -> None:
        seen.append(done)
        if done >= 4:
            raise Stop

    with pytest.raises(Stop):
        build_read_models(base, "b1", LocalStore(tmp_path / "objects"), checkpoint)
    assert seen == [2, 4]


def test_fsck_names_what_a_committed_publication_lacks(base, tmp_path):
    store = LocalStore(tmp_path / "objects")
    marker = build_read_models(base, "b1", store)
    assert missing_objects(store, "b1", "espaces/_published.json") == ["bases/b1/espaces/_published.json"]
    store.put_bytes("bases/b1/espaces/_published.json", msgspec.json.encode(marker))
    assert missing_objects(store, "b1", "espaces/_published.json") == []
    store.delete(espace_key("b1", "guest.idx.json"))
    store.put_bytes(espace_key("b1", "teachers.jsonl"), b"truncated")
    assert missing_objects(store, "b1", "espaces/_published.json") == [
        espace_key("b1", "guest.idx.json"), espace_key("b1", "teachers.jsonl")]
