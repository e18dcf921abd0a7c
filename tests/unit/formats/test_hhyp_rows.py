"""The rows of a .HHYP's tables: schema, ids, references, cycles, placements, annexes, lines."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hhyp_craft import base_tables, hhyp_bytes, read_all, refusal, table_bytes

from config.limits import Limits


def with_rows(change):
    tables = base_tables()
    change(tables)
    return hhyp_bytes(tables)


def test_an_unknown_field_in_a_row_is_refused() -> None:
    error = refusal(with_rows(lambda t: t["rooms"][1].update(floor=2)), "HHYP_UNKNOWN_FIELD")
    assert error.where == {"entry": "base/rooms.jsonl", "line": 2, "field": "floor"}


def test_an_unknown_field_deep_in_a_row_is_refused() -> None:
    error = refusal(with_rows(lambda t: t["courses"][0]["placement"].update(colour="red")), "HHYP_UNKNOWN_FIELD")
    assert error.where == {"entry": "base/courses.jsonl", "line": 1, "field": "placement.colour"}


@pytest.mark.parametrize(("table", "index", "change", "field"), [
    ("courses", 1, {"duration_steps": 0}, "duration_steps"),
    ("courses", 2, {"teachers": "T1"}, "teachers"),
    ("courses", 0, {"subject": 7}, "subject"),
    ("rooms", 0, {"capacity": -1}, "capacity"),
    ("groups", 2, {"kind": "seminar"}, "kind"),
    ("students", 1, {"groups": [""]}, "groups[0]"),
    ("teachers", 0, {"email": "not an address"}, "email"),
    ("teachers", 0, {"photo": "elsewhere/T1.png"}, "photo"),
    ("subjects", 1, {"name": ""}, "name"),
    ("courses", 0, {"placement": {"day": "monday", "start_step": 0, "weeks": [1]}}, "placement.day"),
    ("courses", 0, {"placement": {"day": "mon", "start_step": 0, "weeks": []}}, "placement.weeks"),
    ("courses", 0, {"placement": None}, "placement"),
    ("courses", 0, {"placement": {"day": "mon", "start_step": -1, "weeks": [1]}}, "placement.start_step"),
    # Patterns read as ECMA-262 reads them: "$" is the very end, \s holds U+FEFF
    ("teachers", 0, {"email": "marie@univ.example\n"}, "email"),
    ("students", 1, {"email": "marie\ufeff@univ.example"}, "email"),
])
def test_a_row_breaking_its_schema_is_refused(table: str, index: int, change: dict[str, Any], field: str) -> None:
    error = refusal(with_rows(lambda t: t[table][index].update(change)), "HHYP_ROW_INVALID")
    assert error.where == {"entry": f"base/{table}.jsonl", "line": index + 1, "field": field}


@pytest.mark.parametrize("line", [b"[1]", b'"room"', b"null"])
def test_a_line_of_json_that_is_not_an_object_is_refused(line: bytes) -> None:
    error = refusal(hhyp_bytes(table_data={"rooms": b'{"id": "R1", "name": "A"}\n' + line + b"\n"}),
                    "HHYP_ROW_INVALID")
    assert error.where == {"entry": "base/rooms.jsonl", "line": 2}
    assert "must be of type object" in error.message


def test_a_missing_required_field_is_refused() -> None:
    error = refusal(with_rows(lambda t: t["students"][2].pop("last_name")), "HHYP_ROW_INVALID")
    assert error.where == {"entry": "base/students.jsonl", "line": 3, "field": "last_name"}


def test_an_integer_written_as_a_float_is_refused() -> None:
    error = refusal(with_rows(lambda t: t["courses"][0].update(duration_steps=4.0)), "HHYP_ROW_INVALID")
    assert error.where == {"entry": "base/courses.jsonl", "line": 1, "field": "duration_steps"}


@pytest.mark.parametrize(("data", "line"), [
    (b'{"id": "R1", "name": "A"}\n{"id": "R2", "name": \n', 2),
    (b'{"id": "R1", "name": "A"}\n\n{"id": "R2", "name": "B"}\n', 2),
    (b'{"id": "R1", "name": "\xff"}\n{"id": "R2", "name": "B"}\n', 1),
    (b'{"id": "R1", "name": "A", "capacity": NaN}\n{"id": "R2", "name": "B"}\n', 1),
])
def test_a_line_that_is_not_json_is_refused(data: bytes, line: int) -> None:
    error = refusal(hhyp_bytes(table_data={"rooms": data}), "HHYP_ROW_NOT_JSON")
    assert error.where == {"entry": "base/rooms.jsonl", "line": line}


def test_the_last_line_may_lack_its_newline() -> None:
    data = b'{"id": "R1", "name": "A"}\n{"id": "R2", "name": "B"}'
    assert read_all(hhyp_bytes(table_data={"rooms": data})).rows["rooms"] == 2


def test_crlf_line_ends_are_read() -> None:
    data = b'{"id": "R1", "name": "A"}\r\n{"id": "R2", "name": "B"}\r\n'
    assert read_all(hhyp_bytes(table_data={"rooms": data})).rows["rooms"] == 2


def test_a_line_longer_than_the_limit_is_refused() -> None:
    long_name = "x" * 300
    error = refusal(with_rows(lambda t: t["subjects"][1].update(name=long_name[:200])), "HHYP_LINE_TOO_LONG",
                    limits=Limits(max_line_bytes=200))
    assert error.where == {"entry": "base/subjects.jsonl", "line": 2}


def test_an_endless_line_is_refused_without_waiting_for_its_end() -> None:
    data = b'{"id": "R1", "name": "' + random.Random(3).randbytes(3 << 20).hex().encode()
    error = refusal(hhyp_bytes(table_data={"rooms": data}), "HHYP_LINE_TOO_LONG")
    assert error.where == {"entry": "base/rooms.jsonl", "line": 1}


@pytest.mark.parametrize(("table", "copy_from", "line"), [
    ("rooms", 0, 3), ("groups", 1, 4), ("subjects", 0, 3), ("teachers", 1, 3), ("students", 0, 4), ("courses", 2, 4),
])
def test_a_duplicate_id_is_refused(table: str, copy_from: int, line: int) -> None:
    error = refusal(with_rows(lambda t: t[table].append(dict(t[table][copy_from]))), "HHYP_DUPLICATE_ID")
    assert error.where == {"entry": f"base/{table}.jsonl", "line": line, "field": "id"}


def test_a_duplicate_among_many_rows_is_found_after_the_table() -> None:
    def many(tables: dict[str, list[dict[str, Any]]]) -> None:
        tables["students"] = [{"id": f"E{k}", "last_name": "N", "first_name": "P", "groups": []} for k in range(20_000)]
        tables["students"].append({"id": "E12345", "last_name": "N", "first_name": "P", "groups": []})

    error = refusal(with_rows(many), "HHYP_DUPLICATE_ID")
    assert error.where == {"entry": "base/students.jsonl", "line": 20_001, "field": "id"}


@pytest.mark.parametrize(("table", "index", "change", "field", "target"), [
    ("courses", 0, {"subject": "S9"}, "subject", "subjects"),
    ("courses", 1, {"teachers": ["T1", "T9"]}, "teachers[1]", "teachers"),
    ("courses", 2, {"groups": ["G9"]}, "groups[0]", "groups"),
    ("courses", 0, {"rooms": ["R9"]}, "rooms[0]", "rooms"),
    ("students", 0, {"groups": ["TD1", "TD9"]}, "groups[1]", "groups"),
    ("groups", 2, {"parent": "TD9"}, "parent", "groups"),
])
def test_a_dangling_reference_is_refused(table: str, index: int, change: dict[str, Any], field: str,
                                         target: str) -> None:
    error = refusal(with_rows(lambda t: t[table][index].update(change)), "HHYP_DANGLING_REFERENCE")
    assert error.where == {"entry": f"base/{table}.jsonl", "line": index + 1, "field": field}
    assert target in error.message


def test_references_may_point_forward_to_tables_read_later() -> None:
    tables = base_tables()
    reordered = {name: tables[name] for name in ("courses", "students", "groups", "rooms", "teachers", "subjects")}
    assert read_all(hhyp_bytes(reordered)).rows == {name: len(rows) for name, rows in tables.items()}
    reordered["courses"][2]["rooms"] = ["R404"]
    error = refusal(hhyp_bytes(reordered), "HHYP_DANGLING_REFERENCE")
    assert error.where == {"entry": "base/courses.jsonl", "line": 3, "field": "rooms[0]"}


def test_a_reference_to_a_table_absent_from_the_base_dangles() -> None:
    tables = base_tables()
    del tables["rooms"]
    error = refusal(hhyp_bytes(tables), "HHYP_DANGLING_REFERENCE")
    assert error.where == {"entry": "base/courses.jsonl", "line": 1, "field": "rooms[0]"}


def test_groups_whose_parents_form_a_cycle_are_refused() -> None:
    def cycle(tables: dict[str, list[dict[str, Any]]]) -> None:
        tables["groups"][0]["parent"] = "TP1"

    error = refusal(with_rows(cycle), "HHYP_GROUP_CYCLE")
    assert error.where == {"entry": "base/groups.jsonl", "line": 1, "field": "parent"}
    assert "P1" in error.message and "TP1" in error.message


def _chained_groups(count: int, *, closed: bool) -> dict[str, list[dict[str, Any]]]:
    tables = base_tables()
    tables["groups"] += [{"id": f"G{index}", "name": "g", "kind": "td", "parent": f"G{index + 1}"}
                         for index in range(count - 1)]
    tables["groups"].append({"id": f"G{count - 1}", "name": "g", "kind": "td", **({"parent": "G0"} if closed else {})})
    return tables


@pytest.mark.timeout(120)  # (about a second; the quadratic walk took tens of minutes: no slow machine is 100x slower)
def test_a_chain_of_100_000_groups_is_checked_in_one_walk() -> None:
    # The cycle check looked each group up in a list of the path walked so far (found by a fuzz campaign).
    assert read_all(hhyp_bytes(_chained_groups(100_000, closed=False))).rows["groups"] == 100_003
    error = refusal(hhyp_bytes(_chained_groups(100_000, closed=True)), "HHYP_GROUP_CYCLE")
    assert error.where == {"entry": "base/groups.jsonl", "line": 4, "field": "parent"}
    assert "G0 → G1 → G2 → G3 → G4 → G5 → … (100000 groups in all) → G0" in error.message


def test_a_group_that_is_its_own_parent_is_a_cycle() -> None:
    error = refusal(with_rows(lambda t: t["groups"][1].update(parent="TD1")), "HHYP_GROUP_CYCLE")
    assert error.where == {"entry": "base/groups.jsonl", "line": 2, "field": "parent"}


@pytest.mark.parametrize(("placement", "duration", "field"), [
    ({"day": "sun", "start_step": 0, "weeks": [1]}, 2, "placement.day"),
    ({"day": "sat", "start_step": 0, "weeks": [1]}, 2, "placement.day"),
    ({"day": "mon", "start_step": 19, "weeks": [1]}, 2, "placement.start_step"),
    ({"day": "mon", "start_step": 0, "weeks": [1]}, 21, "placement.start_step"),
    ({"day": "mon", "start_step": 0, "weeks": [1, 11]}, 2, "placement.weeks[1]"),
    ({"day": "mon", "start_step": 0, "weeks": [0, 2]}, 2, "placement.weeks[0]"),
    ({"day": "mon", "start_step": 0, "weeks": [-3]}, 2, "placement.weeks[0]"),
    ({"day": "mon", "start_step": 0, "weeks": [3, 4, 3]}, 2, "placement.weeks[2]"),
])
def test_a_placement_outside_the_grid_is_refused(placement: dict[str, Any], duration: int, field: str) -> None:
    def misplace(tables: dict[str, list[dict[str, Any]]]) -> None:
        tables["courses"][1].update(placement=placement, duration_steps=duration)

    error = refusal(with_rows(misplace), "HHYP_PLACEMENT_OUTSIDE_GRID")
    assert error.where == {"entry": "base/courses.jsonl", "line": 2, "field": field}


def test_a_placement_ending_exactly_at_the_end_of_the_day_fits() -> None:
    def last_steps(tables: dict[str, list[dict[str, Any]]]) -> None:
        tables["courses"][1].update(placement={"day": "fri", "start_step": 16, "weeks": [10, 1]}, duration_steps=4)

    assert read_all(with_rows(last_steps)).rows["courses"] == 3


@pytest.mark.parametrize(("table", "index", "change", "field"), [
    ("teachers", 1, {"photo": "annexes/photos/T2.png"}, "photo"),
    ("students", 2, {"photo": "annexes/photos/nobody.png"}, "photo"),
    ("courses", 1, {"documents": ["annexes/documents/syllabus.pdf", "annexes/documents/gone.pdf"]}, "documents[1]"),
])
def test_a_missing_annex_is_refused(table: str, index: int, change: dict[str, Any], field: str) -> None:
    error = refusal(with_rows(lambda t: t[table][index].update(change)), "HHYP_MISSING_ANNEX")
    assert error.where == {"entry": f"base/{table}.jsonl", "line": index + 1, "field": field}


def test_rows_are_checked_in_batches_across_chunk_boundaries() -> None:
    # Enough rows to span several 1 MiB chunks: a bad row deep inside is still named by its line.
    def many(tables: dict[str, list[dict[str, Any]]]) -> None:
        tables["courses"] = [{"id": f"C{k}", "subject": "S1", "teachers": ["T1"], "groups": ["P1"], "rooms": ["R1"],
                              "duration_steps": 2, "placement": {"day": "tue", "start_step": k % 18,
                                                                 "weeks": list(range(1, 11))}}
                             for k in range(15_000)]
        tables["courses"][12_345]["placement"]["day"] = "sun"

    data = with_rows(many)
    assert len(table_bytes(base_tables()["courses"])) < 1 << 20
    error = refusal(data, "HHYP_PLACEMENT_OUTSIDE_GRID")
    assert error.where == {"entry": "base/courses.jsonl", "line": 12_346, "field": "placement.day"}


MISPLACED = {"placement": {"day": "sun", "start_step": 0, "weeks": [1]}}  # (the grid works mon to fri)


@pytest.mark.parametrize(("misplaced", "dangling"), [(1, 2), (2, 1), (0, 2), (2, 0)])
def test_of_two_faulty_rows_the_earlier_is_named_whatever_the_rules(misplaced: int, dangling: int) -> None:
    # Each rule names its first fault; the rules ran in a fixed order, so a dangling subject on
    # line 3 was named before a misplaced course on line 2 (found by a fuzz campaign).
    def two_faults(tables: dict[str, list[dict[str, Any]]]) -> None:
        tables["courses"][misplaced].update(MISPLACED, duration_steps=2)
        tables["courses"][dangling]["subject"] = "S9"

    error = refusal(with_rows(two_faults), "HHYP_PLACEMENT_OUTSIDE_GRID" if misplaced < dangling
                    else "HHYP_DANGLING_REFERENCE")
    assert (error.where["entry"], error.where["line"]) == ("base/courses.jsonl", min(misplaced, dangling) + 1)


@pytest.mark.parametrize("bad_line", [b"{not json", b'{"id": "C9"}'])
def test_a_row_fault_before_a_broken_line_is_named_first(bad_line: bytes) -> None:
    # The broken line sends the batch down the line-by-line path; the rows before it are checked
    # before its fault is raised.
    tables = base_tables()
    tables["courses"][1].update(MISPLACED, duration_steps=2)
    data = table_bytes(tables["courses"]) + bad_line + b"\n"
    error = refusal(hhyp_bytes(tables, table_data={"courses": data}), "HHYP_PLACEMENT_OUTSIDE_GRID")
    assert error.where == {"entry": "base/courses.jsonl", "line": 2, "field": "placement.day"}
