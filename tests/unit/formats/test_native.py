"""The native fast path (hosting/formats/rows/_rowscan.c, planned by native.py) is sound, and taken.

It may refuse any batch (the Python paths then read it, slower); it must never accept one they refuse,
and a file's outcome (valid, or the refusal's code, message and where) is the same with it and without.
Each accepted batch's ids, their hashes and whether they ascend must be Python's: the reader trusts them
for the uniqueness of ids. And on ordinary valid files it must be taken, or its speed-up is lost unseen.

The scanner is held to the exact path (:func:`native_cases.python_verdict`) line by line: hostile lines
one by one, lines broken byte by byte, rows built field by field; then whole archives with it on and off.
"""

from __future__ import annotations

import copy
import io
import os
import random
import shutil
import sysconfig
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hhyp_craft import HOSTING, Raw, base_tables, entry_named, hhyp_bytes, table_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from native_cases import (
    COURSE,
    DOCUMENT,
    DROP,
    GRID,
    GRID62,
    STUDENT,
    built_regions,
    check_built,
    check_exact,
    check_sound,
    edited,
    line,
    mutated,
    mutated_regions,
    python_verdict,
    scan,
    spaced_regions,
    substituted,
    text_regions,
)

from config.limits import DEFAULT_LIMITS, Limits
from hosting.formats.errors import FormatError
from hosting.formats.hhyp.reader import HhypReader
from hosting.formats.rows import native, tables
from hosting.formats.rows.native import NativeRows, ScannedIds
from hosting.formats.rows.tables import BaseChecks
from hphost_samples.generator import generate_sample

C, S = "courses", "students"
SAMPLES = Path(__file__).parents[2] / "samples"
# Deterministic in CI: the same examples on every run, nothing remembered between runs.
FUZZ = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


def _compiler() -> str | None:
    """What stops this machine from building the scanner, or None when it can."""
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    if shutil.which(compiler.split()[0]) is None:
        return f"no C compiler ({compiler})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers"
    return None


def test_native_module_is_built() -> None:
    # Optional at install (pyproject.toml): where it could have been built and was not, every file is read,
    # slower, in Python, unseen but for `hphost info`. The project's setup (pip install -e .) compiles it.
    if (missing := _compiler()) is not None:
        pytest.skip(f"this machine cannot build the scanner: {missing}")
    assert native.AVAILABLE, f"native scanner: {native.describe()}; run `pip install -e .` again"
    assert tables.NATIVE


# --- the fast path is taken on valid files ----------------------------------------------------------------

@pytest.fixture
def native_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bool]]:
    """Every batch a scanner was asked about, by table: whether it accepted it."""
    calls: dict[str, list[bool]] = {}
    owners: dict[NativeRows, str] = {}  # (held: no scanner's id() is reused by another)
    build, ids = BaseChecks._native_rows, NativeRows.ids

    def spy_build(self: BaseChecks, table: str, max_line_bytes: int) -> NativeRows | None:
        scanner = build(self, table, max_line_bytes)
        if scanner is not None:
            owners[scanner] = table
        return scanner

    def spy_ids(self: NativeRows, region: bytes) -> ScannedIds | None:
        scanned = ids(self, region)
        calls.setdefault(owners[self], []).append(scanned is not None)
        return scanned

    monkeypatch.setattr(BaseChecks, "_native_rows", spy_build)
    monkeypatch.setattr(NativeRows, "ids", spy_ids)
    return calls


def test_a_generated_sample_takes_the_native_path_for_every_batch(tmp_path: Path,
                                                                  native_calls: dict[str, list[bool]]) -> None:
    path = tmp_path / "school.HHYP"
    summary = generate_sample(path, hosting_number=HOSTING, preset="school")
    with HhypReader(path, expected_hosting_number=HOSTING) as reader:
        assert reader.check().rows == summary.rows
    assert len(native_calls["courses"]) >= 2  # (1.3 MB of courses: more than one batch)
    for table in ("courses", "students", "subjects", "teachers", "rooms"):
        assert native_calls[table] and all(native_calls[table]), (table, native_calls[table])
    assert "groups" not in native_calls  # (their parents are checked in Python)


def test_the_independent_writers_sample_takes_the_native_path(native_calls: dict[str, list[bool]]) -> None:
    # Written by another tool: spaces after ":" and ",", non-ASCII names, long lists of weeks.
    with HhypReader(SAMPLES / "small.HHYP", expected_hosting_number=HOSTING) as reader:
        rows = reader.check().rows
    assert rows["courses"] and rows["students"]
    for table in ("courses", "students"):
        assert native_calls[table] and all(native_calls[table]), (table, native_calls[table])


# --- hostile lines, one by one ----------------------------------------------------------------------------

def _each(*values: Any) -> tuple[Any, ...]:
    return values


def _case(name: str, table: str, region: bytes, grid: dict[str, Any] = GRID) -> Any:
    return pytest.param(table, region, grid, id=name)


def _course(**changes: Any) -> bytes:
    return line(edited(C, **changes))


def _student(**changes: Any) -> bytes:
    return line(edited(S, **changes))


def _in_id(text: bytes) -> bytes:
    return substituted(C, b'"C1"', b'"C' + text + b'"')


def _in_name(text: bytes) -> bytes:
    return substituted(S, b'"Petit"', b'"Pe' + text + b'tit"')


_COURSE_REQUIRED = ["id", "subject", "teachers", "groups", "rooms", "duration_steps"]
_PLACEMENT_REQUIRED = ["day", "start_step", "weeks"]
_STUDENT_REQUIRED = ["id", "last_name", "first_name", "groups"]
_BAD_UTF8 = {"overlong C0 AF": b"\xc0\xaf", "overlong E0 80 AF": b"\xe0\x80\xaf", "surrogate ED A0 80": b"\xed\xa0\x80",
             "above U+10FFFF F4 90 80 80": b"\xf4\x90\x80\x80", "F5": b"\xf5\x80\x80\x80", "FF": b"\xff",
             "a lone continuation byte": b"\x80", "truncated C3": b"\xc3", "truncated E2 82": b"\xe2\x82",
             "truncated F0 9F 98": b"\xf0\x9f\x98", "C3 then ASCII": b"\xc3(", "E2 then a quote": b'\xe2"'}
_BAD_ESCAPES = {"lone high surrogate": rb"\ud800", "lone low surrogate": rb"\udc00", "high then letter": rb"\ud800x",
                "high then another escape": rb"\ud83d\u0041", "low then high": rb"\ude00\ud83d",
                "two highs": rb"\ud83d\ud83d", "U+0000": rb"\u0000", "\\x": rb"\x41", "short \\u": rb"\u12",
                "\\u not hex": rb"\u12g4", "\\U": rb"\U00e9", "\\'": rb"\'", "\\a": rb"\a"}
_BAD_EMAILS = {"two @": "a@b@c", "no @": "ab", "leading @": "@b", "trailing @": "a@", "only @": "@", "empty": "",
               "a space": "a b@c", "a space after": "a@b c", "leading space": " a@b", "trailing space": "a@b ",
               "a tab (escaped)": "a\tb@c", "a final newline (escaped)": "a@b\n", "VT (escaped)": "a\x0bb@c",
               "FF (escaped)": "a\x0cb@c", "CR (escaped)": "a\rb@c", "NBSP": "a\xa0b@c", "U+2028": "a\u2028b@c",
               "U+3000": "a@b\u3000", "255 characters": "x" * 127 + "@" + "y" * 127}

REFUSED = [
    # fields: unknown, missing, twice
    _case("unknown field", C, _course(colour="red")),
    _case("unknown field in the placement", C, _course(placement_room="R1")),
    _case("a known field's name in another case", S, _student(Email="a@b")),
    _case("a known field's name with a space", S, substituted(S, b'"number"', b'"number "')),
    *(_case(f"missing {key}", C, _course(**{key: DROP})) for key in _COURSE_REQUIRED),
    *(_case(f"missing placement.{key}", C, _course(**{f"placement_{key}": DROP})) for key in _PLACEMENT_REQUIRED),
    *(_case(f"missing student {key}", S, _student(**{key: DROP})) for key in _STUDENT_REQUIRED),
    _case("a key twice, the last invalid", C,
          substituted(C, b'"duration_steps":4', b'"duration_steps":4,"duration_steps":0')),
    _case("a key twice, the first invalid", C,
          substituted(C, b'"duration_steps":4', b'"duration_steps":0,"duration_steps":4')),
    # kinds of value
    *(_case(f"duration {value!r}", C, _course(duration_steps=value))
      for value in ["4", None, True, False, 4.0, 4.5, [4], {"n": 4}]),
    *(_case(f"duration {text!r}", C, substituted(C, b'"duration_steps":4', b'"duration_steps":' + text))
      for text in [b"1e2", b"4E0", b"40e-1", b"4.", b".4", b"+4", b"0x4", b"-0", b"04", b"00", b"-04", b"NaN",
                   b"Infinity", b"4 4", b"- 4", b""]),
    *(_case(f"id {value!r}", C, _course(id=value)) for value in _each(1, None, True, ["C1"], {})),
    *(_case(f"subject {value!r}", C, _course(subject=value)) for value in [1, None, ["S1"]]),
    *(_case(f"teachers {value!r}", C, _course(teachers=value))
      for value in ["T1", None, [1], [None], [["T1"]], {"T1": 1}]),
    *(_case(f"placement {value!r}", C, _course(placement=value)) for value in _each(None, [], "mon", 1)),
    *(_case(f"day {value!r}", C, _course(placement_day=value)) for value in [1, None, ["mon"]]),
    *(_case(f"start_step {value!r}", C, _course(placement_start_step=value)) for value in ["0", None, 0.0, True]),
    _case("start_step 00", C, substituted(C, b'"start_step":0', b'"start_step":00')),
    *(_case(f"weeks {value!r}", C, _course(placement_weeks=value))
      for value in _each(None, 1, "1", ["1"], [1.0], [None], [[1]], {})),
    *(_case(f"documents {value!r}", C, _course(documents=value)) for value in [None, DOCUMENT, [1], [None]]),
    *(_case(f"email {value!r}", S, _student(email=value)) for value in [1, None, ["a@b"]]),
    *(_case(f"photo {value!r}", S, _student(photo=value)) for value in [1, None]),
    *(_case(f"student groups {value!r}", S, _student(groups=value)) for value in [None, "TD1"]),
    *(_case(f"number {value!r}", S, _student(number=value)) for value in [2026001, None]),
    *(_case(f"last_name {value!r}", S, _student(last_name=value)) for value in [None, 1]),
    # integers out of range
    *(_case(f"duration {value}", C, _course(duration_steps=value))
      for value in [0, -1, 2**31, 10**18 - 1, 10**18, 2**63, 2**64]),
    *(_case(f"start_step {value}", C, _course(placement_start_step=value)) for value in [-1, 2**31]),
    # strings: lengths in code points
    *(_case(f"id {name}", C, _course(id=value)) for name, value in [
        ("empty", ""), ("129 a", "a" * 129), ("129 é", "é" * 129), ("129 €", "€" * 129), ("129 😀", "😀" * 129),
        ("128 a and é", "a" * 128 + "é")]),
    _case("id 129 😀 escaped", C, line(edited(C, id="😀" * 129), ensure_ascii=True)),
    _case("id 128 a and an escaped pair", C, line(edited(C, id="a" * 128 + "😀"), ensure_ascii=True)),
    *(_case(f"last_name {name}", S, _student(last_name=value))
      for name, value in [("empty", ""), ("201 é", "é" * 201)]),
    *(_case(f"number {name}", S, _student(number=value)) for name, value in [("empty", ""), ("65", "1" * 65)]),
    # UTF-8, raw controls, escapes
    *(_case(f"id: {name}", C, _in_id(text)) for name, text in _BAD_UTF8.items()),
    *(_case(f"name: {name}", S, _in_name(text)) for name, text in _BAD_UTF8.items()),
    *(_case(f"name: raw {text!r}", S, _in_name(text)) for text in [b"\x00", b"\x01", b"\t", b"\x1f", b"\r"]),
    *(_case(f"name: {name}", S, _in_name(text)) for name, text in _BAD_ESCAPES.items()),
    *(_case(f"id: {name}", C, _in_id(text)) for name, text in _BAD_ESCAPES.items()),
    _case("a backslash before the closing quote", S, substituted(S, b'"Petit"', b'"Petit\\"')),
    _case("an id of U+0000 alone", C, substituted(C, b'"C1"', rb'"\u0000"')),
    _case("a name ending on a lone high surrogate", S, substituted(S, b'"Petit"', rb'"Petit\ud83d"')),
    # references
    *(_case(f"subject {value!r}", C, _course(subject=value)) for value in ["S9", "s1", "S1 ", "", "G😀"]),
    _case("subject escaped to an unknown one", C, substituted(C, b'"S1"', rb'"S\u0039"')),
    _case("teachers one unknown", C, _course(teachers=["T1", "T9"])),
    *(_case(f"groups {value!r}", C, _course(groups=[value])) for value in ["X", "Ge", "G", "Gè", "G😀x"]),
    _case("groups escaped to a near one", C, substituted(C, b'"P1"', rb'"G\u00e8"')),
    _case("rooms unknown", C, _course(rooms=["R1", "R9"])),
    _case("student groups unknown", S, _student(groups=["TD1", "X"])),
    # annexes
    *(_case(f"documents {value!r}", C, _course(documents=[DOCUMENT, value])) for value in [
        "annexes/documents/gone.pdf", "annexes/photos/T1.png", "annexes/documents//double.pdf",
        "annexes/other/x.pdf", "", "annexes/documents/"]),
    _case("1001 documents", C, _course(documents=[DOCUMENT] * 1001)),
    *(_case(f"photo {value!r}", S, _student(photo=value)) for value in [
        "annexes/photos/gone.png", "annexes/documents/syllabus.pdf", "annexes/photos//double.png",
        "annexes/other/x.pdf", "", "annexes/photos/"]),
    # placements in the grid: mon..fri, 20 steps a day, weeks 1..10
    *(_case(f"day {value!r}", C, _course(placement_day=value)) for value in ["sat", "sun", "Mon", "", "monday"]),
    _case("start 17 + duration 4 > 20", C, _course(placement_start_step=17)),
    _case("start 20", C, _course(duration_steps=1, placement_start_step=20)),
    _case("duration 21 placed", C, _course(duration_steps=21)),
    _case("start 1 + duration 20", C, _course(duration_steps=20, placement_start_step=1)),
    _case("start and duration at the int32 edge", C, _course(duration_steps=2**31 - 1, placement_start_step=1)),
    *(_case(f"weeks {value!r}", C, _course(placement_weeks=value)) for value in [
        [0], [11], [1, 1], [2, 3, 2], [], [-1], [*range(1, 11), 1], [10, 10], [2**31]]),
    _case("63 weeks (a grid of 62)", C, _course(placement_weeks=[*range(1, 63), 1]), GRID62),
    _case("week 63 (a grid of 62)", C, _course(placement_weeks=[63]), GRID62),
    _case("weeks valid on a row, a week twice on the next", C,
          _course() + _course(id="C2", placement_weeks=[1, 2, 3, 1])),
    _case("the same weeks then a week too many", C, _course() + substituted(C, b"[1,2,3]", b"[1,2,3]]")),
    *(_case(f"weeks [1,2,3] on a row, {text!r} on the next", C, _course() + substituted(C, b"[1,2,3]", text))
      for text in [b"[3,2,3]", b"[0,2,3]", b"[1,2,-3]"]),
    # emails
    *(_case(f"email {name}", S, _student(email=value)) for name, value in _BAD_EMAILS.items()),
    _case("email with a raw tab", S, substituted(S, b'"lea.petit@example.edu"', b'"a\tb@c"')),
    _case("email with U+0000", S, substituted(S, b'"lea.petit@example.edu"', rb'"a\u0000b@c"')),
    # framing: one object a line, nothing else
    *(_case(f"then {text!r}", C, line(COURSE)[:-1] + text + b"\n") for text in [
        b"x", b",", b"}", b"]", b" {}", b"{}", line(COURSE)[:-1], b" " + line(COURSE)[:-1], b"\x00", b"\x0c",
        b"\x0b", b"\xc2\xa0", b"\xef\xbb\xbf", b"/"]),
    *(_case(f"{text!r} between tokens", C, substituted(C, b'"id":', b'"id"' + text + b":")) for text in [
        b"\x0c", b"\x0b", b"\x00", b"\xc2\xa0", b"\xe2\x80\xa8", b"\xef\xbb\xbf"]),
    _case("an empty line", C, b"\n"),
    _case("a blank line", C, b" \t\r\n"),
    _case("an empty line between rows", C, _course() + b"\n" + _course(id="C2")),
    _case("a bad second row", C, _course() + _course(id="C2", subject="S9")),
    _case("a BOM", C, b"\xef\xbb\xbf" + _course()),
    *(_case(f"the line is {text!r}", C, text + b"\n") for text in [b"[]", b'"C1"', b"null", b"{}", b"1", b"{"]),
    _case("no closing brace", C, line(COURSE)[:-2] + b"\n"),
    _case("no closing quote", C, substituted(C, b'"C1"', b'"C1')),
    _case("deep nesting", C, substituted(C, b'"S1"', b"[" * 200 + b"]" * 200)),
]


@pytest.mark.parametrize(("table", "region", "grid"), REFUSED)
def test_the_scanner_refuses_what_python_refuses(table: str, region: bytes, grid: dict[str, Any]) -> None:
    assert isinstance(python_verdict(table, region, grid=grid), FormatError)  # (the case is invalid indeed)
    assert scan(table, region, grid=grid) is None


NARROWED = [  # the scanner refuses these; Python takes them (a slower read, the same outcome)
    _case("a key escaped", C, substituted(C, b'"subject"', rb'"subj\u0065ct"')),
    _case("a key twice, the same value", S, substituted(S, b'"id":"E1"', b'"id":"E1","id":"E1"')),
    _case("a key twice, two valid values", C, substituted(C, b'"subject":"S1"', b'"subject":"S1","subject":"S2"')),
    _case("start_step -0", C, substituted(C, b'"start_step":0', b'"start_step":-0')),
    *(_case(f"email {value!r}", S, _student(email=value)) for value in ["léa@example.edu", "a@exämple.fr"]),
    _case("email non-ASCII, escaped", S, line(edited(S, email="léa@example.edu"), ensure_ascii=True)),
    _case("no final newline", C, line(COURSE)[:-1]),
    _case("an empty region", C, b""),
]


@pytest.mark.parametrize(("table", "region", "grid"), NARROWED)
def test_the_scanner_refuses_its_narrowings(table: str, region: bytes, grid: dict[str, Any]) -> None:
    assert scan(table, region, grid=grid) is None
    assert isinstance(python_verdict(table, region, grid=grid), list)


# --- tricky valid lines: accepted, with Python's ids ------------------------------------------------------

_VALID_TEXTS = ["a" * 128, "é" * 128, "€" * 128, "😀" * 128, "\U0010ffff" * 128, "é", "\x80\u07ff\u0800\ud7ff\ue000",
                "\uffff\U00010000", "a\x7fb", "a\u2028b\ufeff", "a\x01\x1f\n\tb", 'q"b\\s/'] + ["a" * 127 + "😀"]
ACCEPTED = [
    _case("a course", C, line(COURSE)),
    _case("a student", S, line(STUDENT)),
    _case("optional fields absent", C, _course(placement=DROP, documents=DROP)),
    _case("only the required fields", S, _student(number=DROP, email=DROP, photo=DROP)),
    _case("empty lists", C, _course(teachers=[], groups=[], rooms=[], documents=[])),
    _case("fields in reverse order", C, line({**dict(reversed(COURSE.items())),
                                              "placement": dict(reversed(COURSE["placement"].items()))})),
    _case("student fields in reverse order", S, line(dict(reversed(STUDENT.items())))),
    _case("spaces, tabs and CRs around every token", C,
          b" \t" + line(COURSE, separators=(" \t,\r ", " \r:\t "))[:-1] + b" \r\n"),
    _case("CRLF", S, line(STUDENT)[:-1] + b"\r\n"),
    _case("escapes in a name", S, substituted(S, b'"Petit"', rb'"P\"e\\t\/i\bt\f\n\r\t"')),
    _case("\\u escapes, either case", S, substituted(S, "\"Léa\"".encode(), rb'"L\u00e9a \u00E9 \u0041"')),
    _case("an id escaped", C, substituted(C, b'"C1"', rb'"C\u0031"')),
    _case("an id of an escaped pair", C, substituted(C, b'"C1"', rb'"\ud83d\ude00"')),
    _case("a reference escaped", C, substituted(C, b'"S1"', rb'"S\u0031"')),
    _case("non-ASCII references", C, _course(groups=["Gé", "G😀"])),
    _case("non-ASCII references escaped", C, line(edited(C, groups=["Gé", "G😀"]), ensure_ascii=True)),
    *(_case(f"id {text[:3]!r} x{len(text)}", C, _course(id=text)) for text in _VALID_TEXTS),
    *(_case(f"id {text[:3]!r} x{len(text)} escaped", C, line(edited(C, id=text), ensure_ascii=True))
      for text in _VALID_TEXTS),
    _case("names of 200 é", S, _student(last_name="é" * 200, first_name="😀" * 200)),
    _case("a number of 64", S, _student(number="1" * 64)),
    *(_case(f"email {value!r}", S, _student(email=value)) for value in [
        "a@b", "x" * 126 + "@" + "y" * 127, 'a"b@c', "a/b@c", "a\x1cb@c", "a\x7f@b", "!#$%&'*+-/=?^_`{|}~@b"]),
    _case("email escaped", S, substituted(S, b'"lea.petit@example.edu"', rb'"\u0041\/b@c"')),
    _case("a photo of a non-ASCII path", S, _student(photo="annexes/photos/sub/É.png")),
    _case("a photo escaped", S, line(edited(S, photo="annexes/photos/sub/É.png"), ensure_ascii=True)),
    _case("documents escaped", C, line(edited(C, documents=["annexes/documents/été.pdf"]), ensure_ascii=True)),
    _case("1000 documents", C, _course(documents=[DOCUMENT] * 1000)),
    _case("start 16 + duration 4 = 20", C, _course(placement_start_step=16)),
    _case("duration 20 from 0", C, _course(duration_steps=20)),
    _case("not placed, duration at the int32 edge", C, _course(duration_steps=2**31 - 1, placement=DROP)),
    _case("friday, week 10", C, _course(placement_day="fri", placement_weeks=[10])),
    _case("every week, out of order", C, _course(placement_weeks=[10, *range(1, 10)])),
    _case("62 weeks", C, _course(placement_weeks=list(range(62, 0, -1))), GRID62),
    _case("the same weeks on many rows", C, b"".join(_course(id=f"C{k}") for k in range(5))),
    _case("weeks spaced differently", C, _course() + substituted(C, b"[1,2,3]", b"[ 1,2 ,3 ]")),
    _case("rows in order", C, b"".join(_course(id=ident) for ident in ["A", "B", "BA", "b", "é", "😀"])),
    _case("rows out of order", C, b"".join(_course(id=ident) for ident in ["B", "A", "C"])),
    _case("rows out of order by a code point", C, b"".join(_course(id=ident) for ident in ["é", "z"])),
    _case("an id twice (unique ids stay in Python)", S, _student() + _student(email=DROP)),
    _case("a prefix then the id", S, _student(id="E") + _student(id="E1") + _student(id="E")),
]


@pytest.mark.parametrize(("table", "region", "grid"), ACCEPTED)
def test_the_scanner_accepts_valid_lines_with_pythons_ids(table: str, region: bytes, grid: dict[str, Any]) -> None:
    scanned = check_sound(table, region, grid=grid)  # (its ids, hashes and order: Python's)
    assert scanned is not None
    assert len(scanned.ids) == region.count(b"\n")


def test_a_line_longer_than_the_limit_is_refused() -> None:
    region = line(COURSE)[:-1] + b"\r\n"
    length = len(region) - 1  # (the newline not counted, a CR counted, as the Python paths count)
    assert check_sound(C, region, max_line_bytes=length) is not None
    assert scan(C, region, max_line_bytes=length - 1) is None
    assert isinstance(python_verdict(C, region, max_line_bytes=length - 1), FormatError)
    two = line(STUDENT) + _student(id="E2", last_name="x" * 150)
    assert check_sound(S, two, max_line_bytes=len(two) - len(line(STUDENT)) - 1) is not None
    assert scan(S, two, max_line_bytes=len(two) - len(line(STUDENT)) - 2) is None


def test_a_batch_of_thousands_of_rows_gives_each_id_in_order() -> None:
    # Past the scanner's first 1024 ids; non-ASCII ids, some escaped, in order and then not.
    rng = random.Random(5)
    rows = [line(edited(C, id=f"{k:05d}" + rng.choice(["é", "😀", "a", '"', "/"])), ensure_ascii=k % 2 == 0)
            for k in range(3_000)]
    scanned = check_sound(C, b"".join(rows))
    assert scanned is not None and scanned.ascending and len(scanned.ids) == 3_000
    rows[1_500], rows[2_999] = rows[2_999], rows[1_500]
    assert check_sound(C, b"".join(rows)) is not None
    assert scan(C, b"".join(rows[:-1]) + _course(id="")) is None


def test_a_region_is_scanned_whole_or_not_at_all() -> None:
    # A valid region, then one byte less: the last line has no newline, the batch is not complete lines.
    region = b"".join(_course(id=f"C{k}") for k in range(3))
    assert check_sound(C, region) is not None
    assert scan(C, region[:-1]) is None
    assert scan(C, memoryview(region)) is not None  # (any buffer)


# --- properties: whatever the scanner accepts, Python accepts alike ---------------------------------------

@FUZZ
@given(table=st.sampled_from([C, S]), data=st.data())
def test_what_the_scanner_accepts_of_lines_broken_byte_by_byte_python_accepts(table: str, data: st.DataObject) -> None:
    check_sound(table, data.draw(mutated_regions(table)))


@settings(FUZZ, max_examples=300)
@given(table=st.sampled_from([C, S]), data=st.data())
def test_rows_built_field_by_field_are_accepted_exactly_when_python_accepts(table: str, data: st.DataObject) -> None:
    region, within = data.draw(built_regions(table))
    check_built(table, region, within)


@settings(FUZZ, max_examples=600)
@given(table=st.sampled_from([C, S]), data=st.data())
def test_a_text_of_any_bytes_and_escapes_is_accepted_exactly_when_python_accepts(table: str,
                                                                                 data: st.DataObject) -> None:
    region, field = data.draw(text_regions(table))
    check_exact(table, region, email_field=field == "email")


@settings(FUZZ, max_examples=150)
@given(table=st.sampled_from([C, S]), data=st.data())
def test_any_spacing_is_accepted_exactly_when_python_accepts(table: str, data: st.DataObject) -> None:
    check_exact(table, data.draw(spaced_regions(table)))


# --- whole archives: the same outcome with the native path and without ------------------------------------

Outcome = tuple[Any, ...]  # ("ok", summary) or (code, message, where)


def outcome(data: bytes, *, native_on: bool, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tables, "NATIVE", native_on)
        try:
            with HhypReader(io.BytesIO(data), limits=limits, expected_hosting_number=HOSTING) as reader:
                return "ok", reader.check().to_dict()
        except FormatError as error:
            return error.code, error.message, error.where


@cache
def _large_tables(courses: int = 8_000) -> dict[str, list[dict[str, Any]]]:
    """More than 1 MiB of courses (two batches at least), and a few thousand students."""
    tables = base_tables()
    rng = random.Random(11)
    tables["courses"] = [
        {"id": f"C{k:06d}", "subject": rng.choice(["S1", "S2"]),
         "teachers": rng.sample(["T1", "T2"], rng.randint(0, 2)), "groups": [rng.choice(["P1", "TD1", "TP1"])],
         "rooms": [rng.choice(["R1", "R2"])], "duration_steps": 2,
         **({"placement": {"day": rng.choice(["mon", "tue", "fri"]), "start_step": k % 18,
                           "weeks": sorted(rng.sample(range(1, 11), rng.randint(1, 4)))}} if k % 7 else {}),
         **({"documents": ["annexes/documents/syllabus.pdf"]} if k % 50 == 0 else {})}
        for k in range(courses)]
    tables["students"] = [{"id": f"E{k:06d}", "last_name": "Nom", "first_name": "Prénom", "email": f"e{k}@example.edu",
                           "groups": ["TD1"], **({"photo": "annexes/photos/E1.png"} if k % 3 == 0 else {})}
                          for k in range(3_000)]
    return tables


def _stored(raws: list[Raw]) -> None:
    entry_named(raws, "base/courses.jsonl").method = 0  # (stored: chunks of exactly 1 MiB, so batches are known)


def _second_batch_line() -> int:
    """A course on a line past the first MiB of the table, and so in its second batch."""
    offset = 0
    for index, row in enumerate(table_bytes(_large_tables()["courses"]).splitlines(keepends=True)):
        if offset > (1 << 20) + 50_000:
            return index
        offset += len(row)
    raise AssertionError("the large table is not large")


def _large(edit: Callable[[dict[str, list[dict[str, Any]]]], None] | None = None) -> bytes:
    tables = copy.deepcopy(_large_tables())
    if edit is not None:
        edit(tables)
    return hhyp_bytes(tables, entries=_stored)


def _edited_base(table: str, index: int, **changes: Any) -> bytes:
    tables = base_tables()
    tables[table][index].update(changes)
    return hhyp_bytes(tables)


def _bytes_of(table: str, index: int, old: bytes, new: bytes) -> bytes:
    """The base archive with ``old`` replaced by ``new`` in line ``index`` (from 0) of ``table``."""
    lines = table_bytes(base_tables()[table]).splitlines(keepends=True)
    assert old in lines[index], (old, lines[index])
    lines[index] = lines[index].replace(old, new, 1)
    return hhyp_bytes(table_data={table: b"".join(lines)})


def _placed_outside(tables: dict[str, list[dict[str, Any]]]) -> None:
    tables["courses"][_second_batch_line()]["placement"] = {"day": "mon", "start_step": 19, "weeks": [1]}


def _repeated_across_batches(tables: dict[str, list[dict[str, Any]]]) -> None:
    tables["courses"][_second_batch_line()]["id"] = tables["courses"][10]["id"]


ARCHIVES: dict[str, Callable[[], bytes]] = {
    "valid": hhyp_bytes,
    "valid, large": _large,
    "a dangling subject in courses": lambda: _edited_base("courses", 1, subject="S404"),
    "a dangling teacher in courses": lambda: _edited_base("courses", 2, teachers=["T1", "T404"]),
    "a placement outside the grid in the second batch": lambda: _large(_placed_outside),
    "a course id repeated across batches": lambda: _large(_repeated_across_batches),
    "a course id repeated in a batch": lambda: _edited_base("courses", 2, id="C1"),
    "a subject id repeated": lambda: _edited_base("subjects", 1, id="S1"),
    "a student id repeated": lambda: _edited_base("students", 2, id="E1"),
    "an invalid UTF-8 byte in a student name": lambda: _bytes_of("students", 1, b"Roux", b"Ro\xffux"),
    "an overlong UTF-8 form in a student name": lambda: _bytes_of("students", 1, b"Roux", b"Ro\xc0\xafux"),
    "a UTF-8 surrogate in a course id": lambda: _bytes_of("courses", 2, b'"C3"', b'"C\xed\xa0\x80"'),
    "a lone surrogate escape in a teacher name": lambda: _bytes_of("teachers", 1, b"Martin", rb"Mar\ud800tin"),
    "U+0000 in a student first name": lambda: _bytes_of("students", 0, "Léa".encode(), rb"L\u0000a"),
    "an unknown field in rooms": lambda: _edited_base("rooms", 0, colour="red"),
    "a dangling group in students": lambda: _edited_base("students", 1, groups=["TD1", "G404"]),
    "a missing photo": lambda: _edited_base("students", 1, photo="annexes/photos/gone.png"),
    "a missing document": lambda: _edited_base("courses", 1, documents=["annexes/documents/gone.pdf"]),
    "week 11": lambda: _edited_base("courses", 0, placement={"day": "mon", "start_step": 0, "weeks": [11]}),
    "sunday": lambda: _edited_base("courses", 0, placement={"day": "sun", "start_step": 0, "weeks": [1]}),
    "a week twice": lambda: _edited_base("courses", 0, placement={"day": "mon", "start_step": 0, "weeks": [1, 1]}),
    "a duration of 1e2": lambda: _bytes_of("courses", 2, b'"duration_steps": 3', b'"duration_steps": 1e2'),
    "a week of 4.0": lambda: _bytes_of("courses", 0, b"[1, 2, 3]", b"[1, 2, 4.0]"),
    "an email with two @": lambda: _edited_base("students", 2, email="i@ex@ample.edu"),
    "a name too long": lambda: _edited_base("teachers", 1, last_name="é" * 201),
    # narrowings: refused by the scanner, valid all the same
    "a key twice in a student": lambda: _bytes_of("students", 1, b'"id": "E2"', b'"id": "E2", "id": "E2"'),
    "a key escaped in a course": lambda: _bytes_of("courses", 1, b'"rooms"', rb'"r\u006foms"'),
    "start_step -0": lambda: _bytes_of("courses", 0, b'"start_step": 0', b'"start_step": -0'),
    "a non-ASCII email": lambda: _edited_base("students", 2, email="inès@example.edu"),
    "no final newline": lambda: hhyp_bytes(table_data={"courses": table_bytes(base_tables()["courses"])[:-1]}),
    "CRLF line endings": lambda: hhyp_bytes(table_data={
        "students": table_bytes(base_tables()["students"]).replace(b"\n", b"\r\n")}),
}


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_an_archive_has_the_same_outcome_with_the_native_path_and_without(
        name: str, native_calls: dict[str, list[bool]]) -> None:
    data = ARCHIVES[name]()
    with_native = outcome(data, native_on=True)
    assert native_calls, "the native path was not tried"
    native_calls.clear()
    assert outcome(data, native_on=False) == with_native
    assert not native_calls  # (off means off)
    if name.startswith("valid"):
        assert with_native[0] == "ok"


def test_a_fault_in_the_second_batch_is_found_after_the_first_was_scanned(
        native_calls: dict[str, list[bool]]) -> None:
    data = _large(_placed_outside)
    code, _, where = with_native = outcome(data, native_on=True)
    assert (code, where) == ("HHYP_PLACEMENT_OUTSIDE_GRID", {"entry": "base/courses.jsonl",
                                                             "line": _second_batch_line() + 1,
                                                             "field": "placement.start_step"})
    assert native_calls["courses"][0] is True and native_calls["courses"][-1] is False
    assert outcome(data, native_on=False) == with_native


def test_a_long_line_has_the_same_outcome_with_the_native_path_and_without() -> None:
    tables = copy.deepcopy(_large_tables())
    tables["courses"][2_000]["teachers"] = ["T1"] * 60
    data, limits = hhyp_bytes(tables), Limits(max_line_bytes=400)
    assert outcome(data, native_on=True, limits=limits) == outcome(data, native_on=False, limits=limits)
    assert outcome(data, native_on=True, limits=limits)[0] == "HHYP_LINE_TOO_LONG"


@st.composite
def _mutated_archives(draw: st.DrawFn) -> bytes:
    """The base archive, one of its natively read tables changed at the byte level (checksums made right)."""
    table = draw(st.sampled_from(["courses", "students", "subjects", "teachers", "rooms"]))
    return hhyp_bytes(table_data={table: draw(mutated(table_bytes(base_tables()[table])))})


@settings(FUZZ, max_examples=150)
@given(data=_mutated_archives())
def test_a_mutated_archive_has_the_same_outcome_with_the_native_path_and_without(data: bytes) -> None:
    assert outcome(data, native_on=True) == outcome(data, native_on=False)
