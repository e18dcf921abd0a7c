"""HhypReader.stream: the contract with the pipeline, the writer round trip, the shared samples."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import pytest
from hhyp_craft import GRID, HOSTING, base_annexes, base_tables, hhyp_bytes, read_all, table_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hosting.formats.errors import FormatError
from hosting.formats.hhyp.reader import HhypReader, iter_table_rows
from hosting.formats.hhyp.writer import HhypWriter, write_hhyp
from hosting.formats.rows.jsonl import iter_table_lines
from hosting.timegrid import DAYS, TimeGrid

SAMPLES = Path(__file__).parents[2] / "samples"


def test_the_independent_sample_is_accepted() -> None:
    with HhypReader(SAMPLES / "small.HHYP", expected_hosting_number="123456789012") as reader:
        summary = reader.check()
        assert reader.manifest.base_name == "Université Exemple 2026"
    assert summary.rows == {"subjects": 5, "teachers": 4, "rooms": 3, "groups": 4, "students": 40, "courses": 30}
    assert summary.entries == 11 and summary.annexes == 5


def test_put_gets_every_entry_but_the_manifest_in_archive_order() -> None:
    data = hhyp_bytes()
    calls: list[tuple[str, bytes, int]] = []

    def put(path: str, stream: BinaryIO, size_bytes: int) -> None:
        calls.append((path, stream.read(), size_bytes))

    with HhypReader(io.BytesIO(data), expected_hosting_number=HOSTING) as reader:
        summary = reader.stream(put)
    expected = {f"base/{name}.jsonl": table_bytes(rows) for name, rows in base_tables().items()}
    expected.update(base_annexes())
    assert [path for path, _, _ in calls] == list(expected)
    assert all(content == expected[path] and size == len(content) for path, content, size in calls)
    assert summary.entries == len(expected)
    assert summary.bytes == sum(map(len, expected.values()))


def test_a_caller_reading_in_small_pieces_gets_the_exact_bytes() -> None:
    got: dict[str, bytes] = {}

    def put(path: str, stream: BinaryIO, size_bytes: int) -> None:
        got[path] = b"".join(iter(lambda: stream.read(7), b""))

    with HhypReader(io.BytesIO(hhyp_bytes())) as reader:
        reader.stream(put)
    assert got["base/courses.jsonl"] == table_bytes(base_tables()["courses"])


def test_the_stream_works_with_buffered_readers_and_copyfileobj() -> None:
    copies: dict[str, bytes] = {}

    def put(path: str, stream: BinaryIO, size_bytes: int) -> None:
        sink = io.BytesIO()
        # the stream is a RawIOBase (EntryStream) typed as BinaryIO, which declares no readinto
        shutil.copyfileobj(io.BufferedReader(stream, 16), sink)  # type: ignore[type-var]
        copies[path] = sink.getvalue()

    with HhypReader(io.BytesIO(hhyp_bytes())) as reader:
        reader.stream(put)
    assert copies["annexes/photos/T1.png"] == base_annexes()["annexes/photos/T1.png"]


def test_a_caller_that_stops_early_does_not_skip_the_checks() -> None:
    def tamper(manifest: dict[str, Any]) -> None:
        manifest["entries"][5]["sha256"] = "0" * 64

    def put(path: str, stream: BinaryIO, size_bytes: int) -> None:
        stream.read(1)

    with HhypReader(io.BytesIO(hhyp_bytes(manifest=tamper))) as reader, pytest.raises(FormatError) as caught:
        reader.stream(put)
    assert caught.value.code == "HHYP_CHECKSUM_MISMATCH"
    assert caught.value.where == {"entry": "base/courses.jsonl"}


def test_a_fault_surfaces_from_the_callers_read() -> None:
    def tamper(manifest: dict[str, Any]) -> None:
        manifest["entries"][0]["sha256"] = "0" * 64

    def put(path: str, stream: BinaryIO, size_bytes: int) -> None:
        with pytest.raises(FormatError):
            stream.read()
        raise RuntimeError("the stage gives up")

    with HhypReader(io.BytesIO(hhyp_bytes(manifest=tamper))) as reader, pytest.raises(RuntimeError):
        reader.stream(put)


def test_an_error_of_put_stops_the_read() -> None:
    seen: list[str] = []

    def put(path: str, stream: BinaryIO, size_bytes: int) -> None:
        seen.append(path)
        if path == "base/rooms.jsonl":
            raise OSError("disk full")

    with HhypReader(io.BytesIO(hhyp_bytes())) as reader, pytest.raises(OSError):
        reader.stream(put)
    assert seen[-1] == "base/rooms.jsonl"


def test_iter_table_rows_gives_back_plain_dicts() -> None:
    rows = base_tables()["courses"]
    assert list(iter_table_rows("courses", io.BytesIO(table_bytes(rows)))) == rows


def test_iter_table_lines_gives_each_id_and_its_line_as_written() -> None:
    rows = base_tables()["courses"]
    lines = table_bytes(rows).decode().splitlines()
    assert list(iter_table_lines("courses", io.BytesIO(table_bytes(rows)))) == [
        (row["id"], line) for row, line in zip(rows, lines, strict=True)]


def test_iter_table_lines_checks_each_row() -> None:
    with pytest.raises(FormatError) as caught:
        list(iter_table_lines("rooms", io.BytesIO(b'{"id": "R1", "name": "A"}\n{"id": "R2"}\n')))
    assert caught.value.where == {"entry": "base/rooms.jsonl", "line": 2, "field": "name"}


def test_iter_table_rows_checks_each_row() -> None:
    with pytest.raises(FormatError) as caught:
        list(iter_table_rows("rooms", io.BytesIO(b'{"id": "R1", "name": "A"}\n{"id": "R2"}\n')))
    assert caught.value.code == "HHYP_ROW_INVALID"
    assert caught.value.where == {"entry": "base/rooms.jsonl", "line": 2, "field": "name"}


def test_the_writer_computes_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "base.HHYP"
    write_hhyp(path, hosting_number=HOSTING, base_name="Écrite", time_grid=GRID, tables=base_tables(),
               annexes=base_annexes())
    with HhypReader(path, expected_hosting_number=HOSTING) as reader:
        manifest = reader.manifest
        assert reader.check().rows == manifest.tables
    listed = manifest.entries["annexes/documents/syllabus.pdf"]
    assert listed.sha256 == hashlib.sha256(base_annexes()["annexes/documents/syllabus.pdf"]).hexdigest()
    assert manifest.time_grid == TimeGrid.from_dict(GRID)


def test_an_aborted_writer_leaves_no_valid_base(tmp_path: Path) -> None:
    path = tmp_path / "base.HHYP"
    with pytest.raises(RuntimeError), HhypWriter(path, hosting_number=HOSTING, base_name="B", time_grid=GRID) as writer:
        writer.add_table("rooms", [{"id": "R1", "name": "A"}])
        raise RuntimeError("interrupted")
    with pytest.raises(FormatError) as caught:
        HhypReader(path)
    assert caught.value.code == "HHYP_MANIFEST_MISSING"


# --- property: whatever valid base is written, the reader gives the same rows back --------------------------

# Any character a database stores: not half of a surrogate pair, not U+0000 (the reader refuses both).
names = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1, max_size=12)
emails = st.from_regex(r"\A[a-z0-9.]{1,8}@[a-z]{1,8}\.edu\Z")


@st.composite
def grids(draw: st.DrawFn) -> dict[str, Any]:
    steps = draw(st.sampled_from([1, 2, 3, 4, 6, 12]))
    return {"first_monday": "2026-08-31", "weeks": draw(st.integers(1, 62)),
            "working_days": sorted(draw(st.sets(st.sampled_from(DAYS), min_size=1)), key=DAYS.index),
            "day_start": "08:00", "sequences_per_day": draw(st.integers(1, 12)), "sequence_minutes": 60,
            "steps_per_sequence": steps}


def _optional(draw: st.DrawFn, row: dict[str, Any], field: str, strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        row[field] = draw(strategy)


@st.composite
def bases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], dict[str, bytes]]:
    grid = TimeGrid.from_dict(draw(grids()))
    ids = lambda prefix, n: [f"{prefix}{k}" for k in range(n)]  # noqa: E731
    annexes = {f"annexes/photos/p{k}.png": draw(st.binary(max_size=40)) for k in range(draw(st.integers(0, 3)))}
    documents = {f"annexes/documents/d{k}.pdf": draw(st.binary(max_size=40)) for k in range(draw(st.integers(0, 2)))}
    subjects = [{"id": i, "code": draw(names), "name": draw(names)} for i in ids("S", draw(st.integers(1, 4)))]
    teachers = []
    for ident in ids("T", draw(st.integers(0, 4))):
        row: dict[str, Any] = {"id": ident, "last_name": draw(names), "first_name": draw(names)}
        _optional(draw, row, "email", emails)
        if annexes:
            _optional(draw, row, "photo", st.sampled_from(sorted(annexes)))
        teachers.append(row)
    rooms = []
    for ident in ids("R", draw(st.integers(0, 3))):
        row = {"id": ident, "name": draw(names)}
        _optional(draw, row, "capacity", st.integers(0, 2000))
        rooms.append(row)
    groups: list[dict[str, Any]] = []
    for ident in ids("G", draw(st.integers(0, 5))):
        row = {"id": ident, "name": draw(names), "kind": draw(st.sampled_from(["promotion", "td", "tp", "other"]))}
        if groups:
            _optional(draw, row, "parent", st.sampled_from([group["id"] for group in groups]))
        groups.append(row)
    group_ids = [group["id"] for group in groups]
    students = []
    for ident in ids("E", draw(st.integers(0, 5))):
        row = {"id": ident, "last_name": draw(names), "first_name": draw(names),
               "groups": draw(st.lists(st.sampled_from(group_ids), max_size=2)) if group_ids else []}
        _optional(draw, row, "number", names)
        _optional(draw, row, "email", emails)
        students.append(row)
    courses = [draw(_course(ident, grid, subjects, teachers, rooms, group_ids, sorted(documents)))
               for ident in ids("C", draw(st.integers(0, 5)))]
    tables = {"subjects": subjects, "teachers": teachers, "rooms": rooms, "groups": groups, "students": students,
              "courses": courses}
    return grid.to_dict(), tables, {**annexes, **documents}


@st.composite
def _course(draw: st.DrawFn, ident: str, grid: TimeGrid, subjects: list[dict[str, Any]],
            teachers: list[dict[str, Any]], rooms: list[dict[str, Any]], group_ids: list[str],
            documents: list[str]) -> dict[str, Any]:
    def some(values: list[str]) -> list[str]:
        return draw(st.lists(st.sampled_from(values), max_size=2, unique=True)) if values else []

    duration = draw(st.integers(1, grid.steps_per_day))
    row: dict[str, Any] = {"id": ident, "subject": draw(st.sampled_from([s["id"] for s in subjects])),
                           "teachers": some([t["id"] for t in teachers]), "groups": some(group_ids),
                           "rooms": some([r["id"] for r in rooms]), "duration_steps": duration}
    if draw(st.booleans()):
        row["placement"] = {"day": draw(st.sampled_from(grid.working_days)),
                            "start_step": draw(st.integers(0, grid.steps_per_day - duration)),
                            "weeks": draw(st.lists(st.integers(1, grid.weeks), min_size=1, max_size=6, unique=True))}
    if documents:
        _optional(draw, row, "documents", st.lists(st.sampled_from(documents), max_size=2))
    return row


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bases())
def test_any_written_base_reads_back_the_same(base: tuple[dict[str, Any], dict[str, Any], dict[str, bytes]]) -> None:
    grid, tables, annexes = base
    target = io.BytesIO()
    write_hhyp(target, hosting_number=HOSTING, base_name="Propriété", time_grid=grid, tables=tables, annexes=annexes)
    stored: dict[str, bytes] = {}

    def put(path: str, stream: BinaryIO, size_bytes: int) -> None:
        stored[path] = stream.read()

    with HhypReader(io.BytesIO(target.getvalue()), expected_hosting_number=HOSTING) as reader:
        summary = reader.stream(put)
        assert reader.manifest.time_grid.to_dict() == grid
    assert summary.rows == {table: len(rows) for table, rows in tables.items()}
    for table, rows in tables.items():
        assert list(iter_table_rows(table, io.BytesIO(stored[f"base/{table}.jsonl"]))) == rows
    assert {path: data for path, data in stored.items() if path.startswith("annexes/")} == annexes


def test_rows_decode_to_the_builtins_they_were_written_from() -> None:
    row = base_tables()["courses"][0]
    assert msgspec.to_builtins(msgspec.json.decode(msgspec.json.encode(row))) == row
    assert read_all(hhyp_bytes()).rows["courses"] == 3
