"""The reader's fast paths change how fast a file is read, never what is reported.

Each fast path (narrowed batches, the read-ahead thread, plain names, ascending
ids) is compared with the exact path it stands in for: same result, same
``code`` and same ``where`` for the first fault, on files broken in one or
several ways at once.
"""

from __future__ import annotations

import copy
import io
import json
import random
import threading
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from hhyp_craft import GRID, HOSTING, base_annexes, base_tables, hhyp_bytes, table_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.limits import DEFAULT_LIMITS, Limits
from hosting.formats.errors import FormatError
from hosting.formats.hhyp import reader as hhyp_module
from hosting.formats.hhyp.names import check_name, is_plain_name
from hosting.formats.hhyp.reader import HhypReader
from hosting.formats.json.compiled import DECODE_ERRORS, Narrowing, narrowed_type, row_decoder
from hosting.formats.rows import narrowed
from hosting.formats.rows.id_fingerprints import IdFingerprints
from hosting.formats.speed import read_ahead

Outcome = tuple[str, Any]  # ("ok", rows per table) or (code, where)


def outcome(data: bytes, limits: Limits = DEFAULT_LIMITS, *, tuned: bool = False) -> Outcome:
    try:
        with HhypReader(io.BytesIO(data), limits=limits, expected_hosting_number=HOSTING,
                        tune_interpreter=tuned) as reader:
            return "ok", reader.check().rows
    except FormatError as error:
        return error.code, error.where


def exact_outcome(data: bytes, monkeypatch: pytest.MonkeyPatch, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """The outcome with every fast path off: each batch read line by line, every entry in this thread."""
    with monkeypatch.context() as patch:
        patch.setattr(narrowed.NarrowedRows, "rows", lambda self, region: None)
        patch.setattr(hhyp_module, "READ_AHEAD_FROM_BYTES", 1 << 62)
        return outcome(data, limits)


def threaded_outcome(data: bytes, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """The outcome with every entry, however small, inflated by a read-ahead thread."""
    with monkeypatch.context() as patch:
        patch.setattr(hhyp_module, "READ_AHEAD_FROM_BYTES", 0)
        return outcome(data, tuned=True)


# --- many rows, so that batches are large and the narrowed types worth building ---------------------------

def large_tables(courses: int = 6_000) -> dict[str, list[dict[str, Any]]]:
    tables = base_tables()
    rng = random.Random(7)
    tables["courses"] = [
        {"id": f"C{k:06d}", "subject": rng.choice(["S1", "S2"]),
         "teachers": rng.sample(["T1", "T2"], rng.randint(0, 2)),
         "groups": [rng.choice(["P1", "TD1", "TP1"])], "rooms": [rng.choice(["R1", "R2"])],
         "duration_steps": 2, **({"placement": {"day": rng.choice(["mon", "tue", "fri"]), "start_step": k % 18,
                                                "weeks": sorted(rng.sample(range(1, 11), rng.randint(1, 4)))}}
                                 if k % 7 else {}),
         **({"documents": ["annexes/documents/syllabus.pdf"]} if k % 50 == 0 else {})}
        for k in range(courses)]
    tables["students"] = [{"id": f"E{k:06d}", "last_name": "Nom", "first_name": "Prénom",
                           "email": f"e{k}@example.edu", "groups": ["TD1"],
                           **({"photo": "annexes/photos/E1.png"} if k % 3 == 0 else {})}
                          for k in range(3_000)]
    return tables


FAULTS: dict[str, Any] = {
    "dangling subject": lambda row: row.update(subject="S404"),
    "dangling teacher": lambda row: row.update(teachers=["T1", "T404"]),
    "dangling group": lambda row: row.update(groups=["G404"]),
    "missing document": lambda row: row.update(documents=["annexes/documents/gone.pdf"]),
    "sunday": lambda row: row.update(placement={"day": "sun", "start_step": 0, "weeks": [1]}),
    "late start": lambda row: row.update(placement={"day": "mon", "start_step": 19, "weeks": [1]}),
    "week twice": lambda row: row.update(placement={"day": "mon", "start_step": 0, "weeks": [2, 3, 2]}),
    "week 11": lambda row: row.update(placement={"day": "mon", "start_step": 0, "weeks": [11]}),
    "week as a float": lambda row: row.update(placement={"day": "mon", "start_step": 0, "weeks": [1.0]}),
    "unknown field": lambda row: row.update(colour="red"),
    "duration 0": lambda row: row.update(duration_steps=0),
    "empty id": lambda row: row.update(id=""),
    "duplicate id": lambda row: row.update(id="C000003"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_deep_in_a_large_table_is_reported_as_the_exact_path_reports_it(
        fault: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = large_tables()
    FAULTS[fault](tables["courses"][4_321])
    data = hhyp_bytes(tables)
    expected = exact_outcome(data, monkeypatch)
    assert expected[0] != "ok"
    assert outcome(data) == expected == threaded_outcome(data, monkeypatch)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(sorted(FAULTS)), st.integers(0, 5_999)), min_size=1, max_size=3))
def test_several_faults_at_once_give_the_exact_paths_first(faults: list[tuple[str, int]]) -> None:
    tables = large_tables()
    for fault, line in faults:
        FAULTS[fault](tables["courses"][line])
    data = hhyp_bytes(tables)
    with pytest.MonkeyPatch.context() as patch:
        assert outcome(data) == exact_outcome(data, patch) == threaded_outcome(data, patch)


def test_a_valid_base_takes_the_fast_path_for_every_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[bool] = []
    rows = narrowed.NarrowedRows.rows

    def spy(self: narrowed.NarrowedRows, region: bytes) -> list[Any] | None:
        result = rows(self, region)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(narrowed.NarrowedRows, "rows", spy)
    assert outcome(hhyp_bytes(large_tables()))[0] == "ok"
    assert taken and all(taken)


# --- framing: one JSON value a line, or the exact path decides --------------------------------------------

@pytest.mark.parametrize("data", [
    # Two rows on one line and one row over two lines: as many values as lines, still refused.
    b'{"id": "R1", "name": "A"} {"id": "R2", "name": "B"}\n{"id": "R3",\n"name": "C"}\n',
    b'{"id": "R1", "name": "A"},{"id": "R2", "name": "B"}\n{"id": "R3"\n,"name": "C"}\n',
    b'{"id": "R1", "name": "A"}\n\n{"id": "R2", "name": "B"}\n',
    b'{"id": "R1", "name": "A"}\r\n{"id": "R2", "name": "B"}\r\n',
    b' {"id": "R1", "name": "A"} \n{"id": "R2", "name": "B"}\n',
    b'{"id": "R1", "name": "A"}\n{"id": "R2", "name": "B"}',
    b'{"id": "R1", "name": "A"}\n{"id": "R1", "name": "B"}\n',
])
def test_lines_framed_unusually_are_read_exactly(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = base_tables()
    tables["rooms"] = [{"id": "R1", "name": "A"}, {"id": "R2", "name": "B"}, {"id": "R3", "name": "C"}]
    archive = hhyp_bytes(tables, table_data={"rooms": data})
    assert outcome(archive) == exact_outcome(archive, monkeypatch)


def test_a_line_longer_than_the_limit_is_found_by_the_fast_path_too(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = large_tables()
    tables["courses"][2_000]["teachers"] = ["T1"] * 60
    data, limits = hhyp_bytes(tables), Limits(max_line_bytes=400)
    assert outcome(data, limits) == exact_outcome(data, monkeypatch, limits)
    assert outcome(data, limits)[0] == "HHYP_LINE_TOO_LONG"


# --- the narrowed type is never more lenient than the schema's own --------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70) | st.floats(allow_nan=False) | st.sampled_from(
        ["", "S1", "T1", "T9", "P1", "TD1", "mon", "sun", "annexes/photos/T1.png", "annexes/documents/x.pdf"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["day", "start_step", "weeks", "x"]),
                                                              inner, max_size=3),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_what_the_narrowed_type_accepts_the_strict_type_accepts_alike(data: st.DataObject) -> None:
    table = data.draw(st.sampled_from(["courses", "students", "teachers"]))
    row = copy.deepcopy(data.draw(st.sampled_from(base_tables()[table])))
    for _ in range(data.draw(st.integers(0, 2))):
        key = data.draw(st.sampled_from(sorted(row) + ["placement"]))
        row[key] = data.draw(json_values)
    values = {("subject",): ["S1", "S2"], ("teachers", "*"): ["T1", "T2"], ("groups", "*"): ["P1", "TD1", "TP1"],
              ("rooms", "*"): ["R1"], ("documents", "*"): ["annexes/documents/syllabus.pdf"],
              ("photo",): ["annexes/photos/T1.png", "elsewhere.png"], ("placement", "day"): ["mon", "tue"],
              ("placement", "start_step"): range(10), ("placement", "weeks", "*"): range(1, 5)}
    compiled = narrowed_type(f"{table}.row", Narrowing(values, lift_patterns=True))
    line = json.dumps(row).encode()
    try:
        fast = msgspec.json.decode(line, type=compiled.type)
        accepted = compiled.lifted_hold([fast])
    except DECODE_ERRORS:
        accepted = False
    if accepted:
        strict = row_decoder(table).decode(line)
        assert msgspec.to_builtins(fast) == msgspec.to_builtins(strict)
        for path in compiled.covered:
            assert all(value in values[path] for value in _values_at(msgspec.to_builtins(strict), path))


def _values_at(document: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield document
    elif path[0] == "*":
        for item in document:
            yield from _values_at(item, path[1:])
    elif isinstance(document, dict) and path[0] in document:
        yield from _values_at(document[path[0]], path[1:])


def test_a_set_of_values_matching_none_of_the_field_narrows_nothing() -> None:
    compiled = narrowed_type("teachers.row", Narrowing({("photo",): ["not/a/photo.png"]}))
    assert ("photo",) not in compiled.covered


# --- the read-ahead thread ---------------------------------------------------------------------------------

def test_read_ahead_gives_every_chunk_in_order_then_the_fault() -> None:
    def chunks() -> Iterator[bytes]:
        yield from (bytes([k]) for k in range(20))
        raise FormatError(where={"entry": "x"})

    got: list[bytes] = []
    with pytest.raises(FormatError):
        for chunk in read_ahead(chunks(), depth=2):
            got.append(chunk)
    assert got == [bytes([k]) for k in range(20)]


def test_a_caller_that_stops_early_stops_the_thread() -> None:
    closed = threading.Event()

    def chunks() -> Iterator[bytes]:
        try:
            while True:
                yield b"x"
        finally:
            closed.set()

    before = threading.active_count()
    stream = read_ahead(chunks(), depth=2)
    assert next(stream) == b"x"
    stream.close()
    assert closed.wait(5) and threading.active_count() == before


def test_the_threaded_reader_streams_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hhyp_module, "READ_AHEAD_FROM_BYTES", 0)
    got: dict[str, bytes] = {}
    with HhypReader(io.BytesIO(hhyp_bytes()), tune_interpreter=True) as reader:
        reader.stream(lambda path, stream, size: got.__setitem__(path, stream.read()))
    assert got["base/courses.jsonl"] == table_bytes(base_tables()["courses"])
    assert got["annexes/photos/T1.png"] == base_annexes()["annexes/photos/T1.png"]


# --- ids, names ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("batches", "repeated"), [
    ([["a", "b"], ["c", "d"]], False),
    ([["a", "b"], ["b", "c"]], True),
    ([["b", "a"], ["c"]], False),
    ([["b", "a"], ["c", "a"]], True),
    ([["a", "c"], ["b"], ["c"]], True),
    ([[], ["a"], []], False),
])
def test_fingerprints_find_repeats_in_order_or_not(batches: list[list[str]], repeated: bool) -> None:
    fingerprints = IdFingerprints()
    for batch in batches:
        fingerprints.add(batch)
    assert bool(fingerprints.suspects()) == repeated


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("abAB09_.-/\\:é\x00 "), max_size=12),
       st.sampled_from(["base/", "annexes/photos/", "annexes/documents/", "annexes/", "", "/", "Base/"]))
def test_a_plain_name_passes_every_name_rule(tail: str, prefix: str) -> None:
    name = prefix + tail
    if is_plain_name(name):
        check_name(name, name.encode(), max_bytes=255)


def test_the_grid_of_the_craft_is_the_one_narrowed() -> None:
    # The faults above assume the craft's grid: weeks 1..10, five days, 20 steps a day.
    assert (GRID["weeks"], len(GRID["working_days"]), GRID["sequences_per_day"] * GRID["steps_per_sequence"]) == (
        10, 5, 20)


def test_a_missing_document_after_a_course_without_documents_is_named() -> None:
    # The row walk that names a missing annex once stumbled on an absent list of documents.
    tables = base_tables()
    tables["courses"][2]["documents"] = ["annexes/documents/gone.pdf"]
    assert outcome(hhyp_bytes(tables)) == ("HHYP_MISSING_ANNEX", {"entry": "base/courses.jsonl", "line": 3,
                                                                   "field": "documents[0]"})
