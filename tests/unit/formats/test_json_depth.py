"""JSON nested too deep is refused with its own code, at the same depth wherever it is read, never a traceback.

Before the rule, ``json.loads`` and msgspec recursed until Python's own limit (about 1,000 levels) and
the reader crashed with a RecursionError: a 400 KB line of ``[`` was enough.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hhyp_craft import HOSTING, base_tables, entry_named, hhyp_bytes, refusal, table_bytes

from hosting.formats.errors import FormatError
from hosting.formats.hhyp.reader import HhypReader
from hosting.formats.json.strict import MAX_DEPTH, deeper_than, nests_deeper_than
from hosting.formats.profils.file import read_profils

SAMPLE_PROFILS = json.loads((Path(__file__).parents[2] / "samples" / "small.profils").read_text(encoding="utf-8"))
DEEP = 5_000  # far past Python's recursion limit


def nested(levels: int, kind: str = "[") -> str:
    """A JSON value of exactly ``levels`` arrays (or objects) inside one another."""
    if kind == "[":
        return "[" * levels + "]" * levels
    return '{"k":' * levels + "1" + "}" * levels


@pytest.mark.parametrize(("text", "depth"), [
    (b"1", 0), (b"[]", 1), (b'{"a": [{"b": []}]}', 4), (b'["[[[[", "]]"]', 1), (b'["\\"[[[["]', 1),
    (b'{"a": "\\\\", "b": [[]]}', 3), (b'"[[[[', 0),  # an unterminated string runs to the end
    (b"[[[[", 4),  # not JSON: the parser says so after, but nothing may recurse first
    (b"]]]][[", 0),  # (a parser fails at the first byte)
])
def test_deeper_than_counts_structure_not_text(text: bytes, depth: int) -> None:
    assert not deeper_than(text, depth)
    assert depth == 0 or deeper_than(text, depth - 1)


def test_nests_deeper_than_walks_without_recursion() -> None:
    value: Any = 1
    for _ in range(100_000):
        value = [value]
    assert nests_deeper_than(value, 99_999) and not nests_deeper_than(value, 100_000)
    assert not nests_deeper_than({"a": [1, {"b": []}], "c": 2}, 4)
    assert nests_deeper_than({"a": [1, {"b": []}], "c": 2}, 3)


# --- rows -----------------------------------------------------------------------------------------------

def rooms_with(first_row: bytes) -> bytes:
    rows = table_bytes(base_tables()["rooms"]).split(b"\n")
    return hhyp_bytes(table_data={"rooms": b"\n".join([first_row, *rows[1:]])})


@pytest.mark.parametrize(("kind", "levels"), [(kind, levels) for kind in "[{" for levels in (MAX_DEPTH, 900, DEEP)]
                         + [("[", 200_000)])  # (a 400 KB line: within the line limit)
def test_a_row_nested_too_deep_is_refused_at_its_line(kind: str, levels: int) -> None:
    # The row object is one level: a field holding ``levels - 1`` more makes a row of ``levels``.
    row = f'{{"id": "R1", "name": "Amphi A", "capacity": {nested(levels - 1, kind)}}}'.encode()
    data = rooms_with(row)
    if levels <= MAX_DEPTH:
        refusal(data, "HHYP_ROW_INVALID")  # deep enough to be odd, not too deep: the schema's fault
        return
    error = refusal(data, "HHYP_TOO_DEEP")
    assert error.where == {"entry": "base/rooms.jsonl", "line": 1}


def test_a_whole_line_nested_too_deep_is_refused() -> None:
    refusal(rooms_with(nested(MAX_DEPTH + 1).encode()), "HHYP_TOO_DEEP")
    refusal(rooms_with(nested(MAX_DEPTH).encode()), "HHYP_ROW_INVALID")  # an array, not an object


def test_a_field_left_raw_by_the_fast_path_is_measured_too() -> None:
    # A course's weeks are skipped raw by the fast path (msgspec recurses to skip them) and decoded later.
    tables = base_tables()
    course = next(row for row in tables["courses"] if "placement" in row)
    line = json.dumps({**course, "placement": {**course["placement"], "weeks": "WEEKS"}}).encode()
    rows = [json.dumps(row).encode() for row in tables["courses"]]
    at = rows.index(json.dumps(course).encode())
    for levels, code in ((DEEP, "HHYP_TOO_DEEP"), (MAX_DEPTH - 2, "HHYP_ROW_INVALID")):
        rows[at] = line.replace(b'"WEEKS"', nested(levels).encode())
        error = refusal(hhyp_bytes(table_data={"courses": b"\n".join(rows) + b"\n"}), code)
        assert error.where["line"] == at + 1


# --- the manifest ---------------------------------------------------------------------------------------

def with_manifest(edit: Any) -> bytes:
    def entries(raws: list[Any]) -> None:
        manifest = entry_named(raws, "manifest.json")
        manifest.data = edit(manifest.data)
    return hhyp_bytes(entries=entries)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 900, DEEP])
def test_a_manifest_nested_too_deep_is_refused(levels: int) -> None:
    value = nested(levels - 1).encode()
    for edit in (lambda data: data.replace(b'"generator": "tests"', b'"generator": ' + value),
                 lambda data: data.replace(b'"entries": [', b'"entries": [' + value + b",")):
        assert refusal(with_manifest(edit), "HHYP_TOO_DEEP").where == {"entry": "manifest.json"}
    refusal(with_manifest(lambda data: nested(levels).encode()), "HHYP_TOO_DEEP")


@pytest.mark.parametrize("kind", ["[", "{"])
def test_the_time_grid_may_nest_as_deep_as_the_manifest_and_no_deeper(kind: str) -> None:
    # The grid is the one value the fast path decodes whole (its shape is checked after): its limit
    # must be the document's, not a recursion error at some depth in between.
    def grid_holding(levels: int) -> bytes:  # manifest (1) > time_grid (2) > x (3 and more)
        value = nested(levels - 2, kind).encode()
        return with_manifest(lambda data: data.replace(b'"time_grid": {', b'"time_grid": {"x": ' + value + b",", 1))
    assert refusal(grid_holding(MAX_DEPTH), "GRID_UNKNOWN_FIELD").where["field"] == "time_grid.x"
    for levels in (MAX_DEPTH + 1, 900, DEEP):
        assert refusal(grid_holding(levels), "HHYP_TOO_DEEP").where == {"entry": "manifest.json"}


def test_the_bytes_and_the_decoded_grid_agree_on_the_limit() -> None:
    for levels in (MAX_DEPTH, MAX_DEPTH + 1):
        document = {"time_grid": {"x": json.loads(nested(levels - 2))}}
        assert deeper_than(json.dumps(document).encode()) is nests_deeper_than(document["time_grid"], MAX_DEPTH - 1)


# --- .profils -------------------------------------------------------------------------------------------

def profils_refusal(text: str) -> FormatError:
    with pytest.raises(FormatError) as caught:
        read_profils(io.BytesIO(text.encode()))
    return caught.value


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 900, 990, 1_100, DEEP, 200_000])
def test_a_profils_nested_too_deep_is_refused_whatever_the_depth(levels: int) -> None:
    # Around 1,000 levels json.loads either parses or recurses too deep, depending on the stack: the code
    # must not depend on which.
    user = {**SAMPLE_PROFILS["users"][0], "login": "DEEP"}
    inside_a_user = json.dumps({**SAMPLE_PROFILS, "users": [user]}).replace('"DEEP"', nested(levels - 3))
    for text in (nested(levels), nested(levels, "{"), "[" * levels, inside_a_user):
        error = profils_refusal(text)
        assert (error.code, error.where) == ("PROFILS_TOO_DEEP", {"field": ""}), text[:80]


def test_a_profils_just_within_the_depth_gets_its_own_fault() -> None:
    user = {**SAMPLE_PROFILS["users"][0], "login": "DEEP"}
    text = json.dumps({**SAMPLE_PROFILS, "users": [user]}).replace('"DEEP"', nested(MAX_DEPTH - 3))
    assert profils_refusal(text).code == "PROFILS_INVALID"
    assert profils_refusal(nested(MAX_DEPTH)).code == "PROFILS_NOT_JSON"  # an array, not an object
    clear = {**SAMPLE_PROFILS["users"][0], "password": "x"}
    assert profils_refusal(json.dumps({**SAMPLE_PROFILS, "users": [clear]})).code == "PROFILS_CLEAR_PASSWORD"


def test_a_valid_profils_still_reads() -> None:
    assert len(read_profils(io.BytesIO(json.dumps(SAMPLE_PROFILS).encode())).users) == len(SAMPLE_PROFILS["users"])


def test_the_reader_streams_a_deep_row_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "deep.HHYP"
    path.write_bytes(rooms_with(nested(DEEP).encode()))
    with pytest.raises(FormatError) as caught, HhypReader(path, expected_hosting_number=HOSTING) as reader:
        reader.check()
    assert caught.value.code == "HHYP_TOO_DEEP"
