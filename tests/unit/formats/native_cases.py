"""The native scanner next to the Python paths it stands in for: shared by test_native.py and longer campaigns.

A :class:`~hosting.formats.rows.tables.BaseChecks` knows a few ids, annexes and a time grid; :func:`scan` runs
the native scanner it builds for a table (as the reader does), :func:`python_verdict` says what the exact
Python path (msgspec's full type, the JSON Schema on a refusal, then every cross-row rule but unique ids)
makes of the same lines. :func:`check_sound` holds the one to the other. The strategies make regions of
lines: valid rows broken byte by byte (:func:`mutated_regions`), or rows built field by field, valid or
not, written with any JSON spacing (:func:`built_regions`).

A campaign outside the test command (many more examples) imports this module as the tests do::

    sys.path.insert(0, "tests/unit/formats"); import native_cases
"""

from __future__ import annotations

import copy
import json
import re
from array import array
from functools import cache
from itertools import pairwise
from typing import Any

from hhyp_craft import GRID
from hypothesis import strategies as st

from hosting.formats.errors import FormatError
from hosting.formats.rows.jsonl import TableLines
from hosting.formats.rows.native import NativeRows, ScannedIds
from hosting.formats.rows.tables import BaseChecks
from hosting.timegrid import TimeGrid

MAX_LINE = 1 << 20
GRID62 = {**GRID, "weeks": 62}  # the most weeks a grid has, and a course may list
STEPS = GRID["sequences_per_day"] * GRID["steps_per_sequence"]  # 20 steps a day, 10 weeks, mon..fri
# The tables a course or a student refers to, as read before (non-ASCII ids: a reference may escape them).
KNOWN_IDS = {"subjects": {"S1", "S2"}, "teachers": {"T1", "T2"}, "rooms": {"R1", "R2"},
             "groups": {"P1", "TD1", "TP1", "Gé", "G😀"}}
# What the archive holds: paths of either folder, and paths no field's pattern takes (in the archive all the same).
ANNEXES = ["annexes/photos/T1.png", "annexes/photos/E1.png", "annexes/photos/sub/É.png",
           "annexes/documents/syllabus.pdf", "annexes/documents/été.pdf", "annexes/documents//double.pdf",
           "annexes/photos//double.png", "annexes/other/x.pdf"]
DOCUMENT = "annexes/documents/syllabus.pdf"

COURSE: dict[str, Any] = {
    "id": "C1", "subject": "S1", "teachers": ["T1", "T2"], "groups": ["P1"], "rooms": ["R1"], "duration_steps": 4,
    "placement": {"day": "mon", "start_step": 0, "weeks": [1, 2, 3]}, "documents": [DOCUMENT]}
STUDENT: dict[str, Any] = {
    "id": "E1", "number": "2026001", "last_name": "Petit", "first_name": "Léa", "email": "lea.petit@example.edu",
    "groups": ["TD1", "TP1"], "photo": "annexes/photos/E1.png"}
BASE = {"courses": COURSE, "students": STUDENT}
DROP = object()  # (a field to remove)

Verdict = list[str] | FormatError  # the ids of the rows, or the refusal


def make_checks(grid: dict[str, Any] = GRID) -> BaseChecks:
    """The reader's checks once the referenced tables were read (courses and students still to come)."""
    checks = BaseChecks(TimeGrid.from_dict(grid), ANNEXES, {"courses": 1, "students": 1}, lambda table: iter(()))
    for table, ids in KNOWN_IDS.items():
        checks.ids[table] |= ids
    return checks


@cache
def scanner(table: str, grid: str, max_line_bytes: int) -> NativeRows:
    """The native scanner of ``table`` as :meth:`BaseChecks._native_rows` builds it (``grid``: as JSON)."""
    native = make_checks(json.loads(grid))._native_rows(table, max_line_bytes)
    assert native is not None, f"{table} has no native scanner"
    return native


def scan(table: str, region: bytes, *, grid: dict[str, Any] = GRID,
         max_line_bytes: int = MAX_LINE) -> ScannedIds | None:
    return scanner(table, json.dumps(grid, sort_keys=True), max_line_bytes).ids(region)


def python_verdict(table: str, region: bytes, *, grid: dict[str, Any] = GRID,
                   max_line_bytes: int = MAX_LINE) -> Verdict:
    """What the exact path says of ``region``: each line decoded by the table's full type (jsonschema naming
    a refusal), then the rules across rows and tables (every one but unique ids, which stay in Python)."""
    checks = make_checks(grid)
    ids: list[str] = []

    def on_rows(rows: list[Any], first_line: int, lines: list[bytes] | None) -> None:
        checks.rows(table, rows, first_line)
        ids.extend(row.id for row in rows)

    lines = TableLines(table, on_rows, max_line_bytes=max_line_bytes)
    try:
        lines.feed(region)
        lines.finish()
    except FormatError as error:
        return error
    return ids


def describe(verdict: Verdict | None) -> str:
    if isinstance(verdict, FormatError):
        return f"{verdict.code}: {verdict.message} {verdict.where}"
    return f"ok {verdict}"


def check_sound(table: str, region: bytes, *, grid: dict[str, Any] = GRID,
                max_line_bytes: int = MAX_LINE) -> ScannedIds | None:
    """The scanner's answer; when it accepts, Python must accept too, with the same ids, hashes and order."""
    scanned = scan(table, region, grid=grid, max_line_bytes=max_line_bytes)
    if scanned is not None:
        verdict = python_verdict(table, region, grid=grid, max_line_bytes=max_line_bytes)
        assert isinstance(verdict, list), f"the scanner accepted what Python refuses ({describe(verdict)}): {region!r}"
        assert_same_ids(scanned, verdict)
    return scanned


def assert_same_ids(scanned: ScannedIds, ids: list[str]) -> None:
    """The scanner's ids are Python's, and so are their hashes and whether they ascend (id_fingerprints trusts both)."""
    assert scanned.ids == ids
    assert all(type(ident) is str for ident in scanned.ids)
    assert scanned.hashes == array("q", map(hash, ids)).tobytes()
    assert scanned.ascending == all(a < b for a, b in pairwise(ids))


def line(row: dict[str, Any], *, ensure_ascii: bool = False, separators: tuple[str, str] = (",", ":")) -> bytes:
    return json.dumps(row, ensure_ascii=ensure_ascii, separators=separators).encode() + b"\n"


def edited(table: str, **changes: Any) -> dict[str, Any]:
    """The base row of ``table`` with fields changed (``DROP``: removed); ``placement_<key>`` edits the placement."""
    row = copy.deepcopy(BASE[table])
    for key, value in changes.items():
        target, field = (row["placement"], key.removeprefix("placement_")) if key.startswith("placement_") \
            else (row, key)
        if value is DROP:
            del target[field]
        else:
            target[field] = value
    return row


def substituted(table: str, old: bytes, new: bytes) -> bytes:
    """The base line of ``table`` (compact, UTF-8) with ``old`` (which must occur) replaced once by ``new``."""
    base = line(BASE[table])
    assert old in base, old
    return base.replace(old, new, 1)


# --- byte-level mutations of valid lines -------------------------------------------------------------------

def _pool() -> dict[str, list[bytes]]:
    courses = [line(COURSE), line(COURSE, separators=(", ", ": ")),
               line(edited("courses", id="C2", placement=DROP, documents=DROP, teachers=[])),
               line(edited("courses", id="C3", subject="S2", groups=["Gé", "G😀"], duration_steps=20,
                           placement_day="fri", placement_weeks=[10, 1]), ensure_ascii=True),
               line(edited("courses", id="C\"é\\", documents=[DOCUMENT, "annexes/documents/été.pdf"],
                           placement_start_step=16), separators=(" ,\t", "\r: "))]
    students = [line(STUDENT), line(STUDENT, separators=(", ", ": ")),
                line(edited("students", id="E2", number=DROP, email=DROP, photo=DROP, groups=[])),
                line(edited("students", id="É3", last_name="Ünal 😀", first_name="a\"b\\c/d\te",
                            photo="annexes/photos/sub/É.png", groups=["Gé"]), ensure_ascii=True),
                line(dict(reversed(edited("students", id="E4", email="x@y").items())))]
    return {"courses": courses, "students": students}


POOL = _pool()
_UTF8_STRINGS = ['"Gé"', '"' + "é" * 128 + '"', '"' + "é" * 129 + '"', '"' + "😀" * 129 + '"', '"é@b"']
TOKENS = [
    # numbers, canonical or not, at the edges of what the schemas and the scanner take
    b"-0", b"0", b"00", b"01", b"-1", b"1.0", b"4.0", b"1e2", b"1E2", b"4e0", b"+4", b"0x10", b"16", b"17", b"20",
    b"21", b"2147483647", b"2147483648", b"999999999999999999", b"1000000000000000000",
    b"18446744073709551616", b"1e999", b"NaN", b"Infinity",
    # other values
    b"null", b"true", b"false", b'""', b"[]", b"{}", b"[1]", b"[0]", b"[11]", b"[1,1]", b'{"a":1}', b'["T1"]',
    b'"S1"', b'"T1"', b'"TD1"', b'"G\\u00e9"', b'"G\\ud83d\\ude00"', b'"mon"', b'"sat"', b'"Mon"',
    b'"annexes/photos/T1.png"', b'"annexes/documents/syllabus.pdf"', b'"annexes/documents/gone.pdf"',
    b'"annexes/other/x.pdf"', b'"a@b"', b'"a@b@c"', b'"@b"', b'"a@"', b'"a b@c"', b'"a\\tb@c"',
    b'"' + b"a" * 128 + b'"', b'"' + b"a" * 129 + b'"', *(text.encode() for text in _UTF8_STRINGS),
    # inside strings
    b"\\u0000", b'"\\u0000"', b"\\ud800", b'"\\ud800"', b"\\udc00", b"\\ud83d", b"\\ude00", b"\\ud83d\\ude00",
    b"\\u00e9", b"\\u00E9", b"\\u0041", b"\\u0040", b"\\u0009", b"\\u000b", b"\\u001f", b"\\u00a0", b"\\u2028",
    b"\\", b'"', b'\\"', b"\\/", b"\\n", b"\\t", b"\\b", b"\\x", b"\\u12", b"\\U00e9", b"@", b"@@",
    # bytes: whitespace JSON takes and does not, controls, UTF-8 good and bad
    b" ", b"\t", b"\r", b"\n", b"\x0c", b"\x0b", b"\x00", b"\x01", b"\x1f", b"\x7f", b"\xc3\xa9", b"\xc3",
    b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
    b"\xf0\x9f\x98\x80", b"\xf0\x9f\x98", b"\xef\xbb\xbf", b"\xe2\x80\xa8", b"\xc2\xa0", b"\xff", b"\x80",
    # structure
    b"[", b"]", b"{", b"}", b",", b":", b'"id":"X",', b'"id":"C1",', b'"colour":1,', b'"day":"sat",',
    b'"placement":{"day":"mon","start_step":0,"weeks":[1]},', b'"email":"a@b",', b'"i\\u0064"', b'"id"',
    b'"weeks"', b'"start_step"', b'"duration_steps"', b'"photo"', b'"documents"',
]
_VALUE_START = re.compile(rb"[:\[,]")
_STRING_START = re.compile(rb'"')
_PAIR = re.compile(rb'"[a-z_]+" ?: ?(?:"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|[-0-9a-z.]+)')
_HOWS = ["flip", "byte", "insert", "delete", "value", "replace", "string", "splice", "pair"]


def mutate(draw: st.DrawFn, data: bytearray) -> None:
    """One change to ``data``, in place: a bit, a byte, a token put or a value replaced, a piece copied."""
    how = draw(st.sampled_from(_HOWS))
    at = draw(st.integers(0, len(data) - 1)) if data else 0
    if how == "flip" and data:
        data[at] ^= 1 << draw(st.integers(0, 7))
    elif how == "byte" and data:
        data[at] = draw(st.integers(0, 255))
    elif how == "insert":
        data[at:at] = draw(st.sampled_from(TOKENS))
    elif how == "delete":
        del data[at:at + draw(st.integers(1, 8))]
    elif how in ("value", "replace", "string"):
        starts = [match.end() for match in (_STRING_START if how == "string" else _VALUE_START).finditer(data)]
        if not starts:
            return
        start = end = draw(st.sampled_from(starts))
        if how == "replace":  # the whole value, up to the next separator
            while end < len(data) and data[end] not in b",}]\n":
                end += 1
        data[start:end] = draw(st.sampled_from(TOKENS))
    elif how == "splice" and data:  # a piece of the region copied elsewhere (a pair twice, an object twice...)
        start = draw(st.integers(0, len(data) - 1))
        data[at:at] = data[start:start + draw(st.integers(1, 40))]
    elif how == "pair":  # a "key": value pair written twice, the same or with another value
        pairs = list(_PAIR.finditer(data))
        if not pairs:
            return
        pair = draw(st.sampled_from(pairs))
        copied = pair.group()
        if draw(st.booleans()):
            copied = copied.partition(b":")[0] + b":" + draw(st.sampled_from(TOKENS))
        data[pair.end():pair.end()] = b"," + copied


@st.composite
def mutated(draw: st.DrawFn, data: bytes, most: int = 3) -> bytes:
    """``data`` changed 1 to ``most`` times by :func:`mutate`."""
    changed = bytearray(data)
    for _ in range(draw(st.integers(1, most))):
        mutate(draw, changed)
    return bytes(changed)


@st.composite
def mutated_regions(draw: st.DrawFn, table: str) -> bytes:
    """1-3 valid lines of ``table``, changed 1-3 times at the byte level; always ending with a newline."""
    data = draw(mutated(b"".join(draw(st.lists(st.sampled_from(POOL[table]), min_size=1, max_size=3)))))
    return data if data.endswith(b"\n") else data + b"\n"


# --- rows built field by field, valid or not, written with any JSON spacing --------------------------------

# Stands for a piece of text written as raw bytes or escapes (one code point when valid), see written().
PLACEHOLDER = "\U000f0000"
_PLACED = re.compile(re.escape(PLACEHOLDER.encode()) + rb"|\\udb80\\udc00")
GOOD_PIECES = [b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbf",
               b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\x7f", rb"\ud83d\ude00", rb"\uD800\uDC00", rb"\udbff\udfff",
               rb"\u00e9", rb"\u00E9", rb"\/", rb"\u001c", rb"\u007f", rb"\u0080", rb"\uffff", rb"\"", rb"\\", rb"\b",
               rb"\f", rb"\n", rb"\r", rb"\t", rb"\u0041"]
BAD_PIECES = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x9f\xbf",
              b"\xf0\x8f\xbf\xbf", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xbf", b"\xc2", b"\xe0\xa0",
              b"\xf0\x90\x80", b"\xc2\x7f", b"\xff", rb"\ud800", rb"\udfff", rb"\udbff\u0041", rb"\ude00\ud83d",
              rb"\ud83d", rb"\u0000", rb"\x00", rb"\u00g0", rb"\U00e9", b"\x00", b"\x01", b"\x1f", b"\t", b'"', b"\\"]
CHARS = [*"abcXYZ09 _-./@:", '"', "\\", "\t", "\n", "\r", "\x01", "\x1f", "\x7f", "é", "É", "ß", "€", "\u2028",
         "\ufeff", "\xa0", "😀", "\U0010ffff", "\u0800", "\uffff", PLACEHOLDER]


def _text(sizes: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return sizes.flatmap(lambda size: st.text(st.sampled_from(CHARS), min_size=size, max_size=size))


def _sized(least: int, most: int) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """Texts of ``least``..``most`` code points, and texts at and past those edges."""
    return (_text(st.integers(least, min(most, least + 4)) | st.integers(max(least, most - 2), most)),
            _text(st.sampled_from(sorted({max(0, least - 1), least, most, most + 1}))))


_ID, _EDGY_ID = _sized(1, 128)
_NAME, _EDGY_NAME = _sized(1, 200)
_NUMBER, _EDGY_NUMBER = _sized(1, 64)
_WRONG = st.sampled_from([None, True, False, 1.5, 4.0, -1, 0, "4", "", [], {}, ["T1"], {"a": 1}])
_EMAIL = st.sampled_from(["a@b", "lea.petit@example.edu", "a/\"\\@b", "a\x1cb@c", "a\x7f@b",
                          "x" * 126 + "@" + "y" * 127])
_EDGY_EMAIL = st.sampled_from([
    "a@b@c", "ab", "@b", "a@", "@", "", "a b@c", "a@b c", "a\tb@c", "a@b\n", "a\x0bb@c", "a\x0cb@c", "\ra@b",
    "a\xa0b@c", "a\u2028b@c", "a@b\u3000", "é@b", "a@exämple.fr", "x" * 127 + "@" + "y" * 127,
]) | st.text(st.sampled_from([*"ab@ .", "\t", "é"]), max_size=6)
_DAYS, _EDGY_DAYS = st.sampled_from(["mon", "tue", "fri"]), st.sampled_from(["sat", "sun", "Mon", ""])
# Faults written rather than built: a text's code point as bad bytes or a bad escape (thrice as likely: the
# richest), whitespace JSON does not take between tokens, something after the object.
_WRITTEN = ["text", "text", "text", "spacing", "trailing"]
_COURSE_FAULTS = ["id", "subject", "teachers", "groups", "rooms", "duration", "day", "start", "weeks", "documents",
                  "wrong", "extra", "drop", "wrong_placement", "drop_placement", *_WRITTEN]
_STUDENT_FAULTS = ["id", "number", "last_name", "first_name", "email", "groups", "photo", "wrong", "extra", "drop",
                   *_WRITTEN]
_BAD_SPACES = ["\x0c", "\x0b", "\x00", "\xa0", "\u2028", "\ufeff", "\x85", "\x1c"]
_TRAILING = ["x", ",", "}", "]", " {}", "{}", '"', "/", "\x00", "\x0c", "\xa0", '{"id":"X"}']


@st.composite
def built_rows(draw: st.DrawFn, table: str) -> tuple[dict[str, Any], str | None]:
    """A row of ``table``, valid or with one fault at or past an edge of the schema or the grid; and the
    fault :func:`written` is to make, if any (see _WRITTEN)."""
    fault = draw(st.sampled_from(_COURSE_FAULTS if table == "courses" else _STUDENT_FAULTS)) \
        if draw(st.booleans()) else None

    def pick(name: str, valid: st.SearchStrategy[Any], edgy: st.SearchStrategy[Any]) -> Any:
        return draw(edgy if fault == name else valid)

    def ids(name: str, known: list[str], unknown: list[str], most: int = 3) -> list[str]:
        return pick(name, st.lists(st.sampled_from(known), max_size=most),
                    st.lists(st.sampled_from(known + unknown), min_size=1, max_size=most))

    row: dict[str, Any] = {"id": pick("id", _ID, _EDGY_ID)}

    def optional(name: str, valid: st.SearchStrategy[Any], edgy: st.SearchStrategy[Any]) -> None:
        if fault == name or draw(st.booleans()):
            row[name] = pick(name, valid, edgy)

    if table == "courses":
        row["subject"] = pick("subject", st.sampled_from(["S1", "S2"]), st.sampled_from(["S9", "s1", "", "G😀"]))
        row["teachers"] = ids("teachers", ["T1", "T2"], ["T9", "t1"])
        row["groups"] = ids("groups", ["P1", "TD1", "TP1", "Gé", "G😀"], ["X", "Ge"])
        row["rooms"] = ids("rooms", ["R1", "R2"], ["R9"], 2)
        duration = row["duration_steps"] = pick("duration", st.integers(1, 6),
                                                st.sampled_from([0, -1, 21, 2**31 - 1, 2**31]))
        if fault in ("day", "start", "weeks", "wrong_placement", "drop_placement") or draw(st.booleans()):
            last = max(0, STEPS - duration)
            row["placement"] = {
                "day": pick("day", _DAYS, _EDGY_DAYS),
                "start_step": pick("start", st.integers(0, last), st.sampled_from([-1, last + 1, STEPS, 2**31])),
                "weeks": pick("weeks", st.lists(st.integers(1, 10), min_size=1, max_size=10, unique=True),
                              st.lists(st.integers(-1, 12), max_size=5) | st.sampled_from([[1] * 63, [10, 10]]))}
        documents = [DOCUMENT, "annexes/documents/été.pdf"]
        optional("documents", st.lists(st.sampled_from(documents), max_size=3) | st.just([DOCUMENT] * 1000),
                 st.lists(st.sampled_from([*documents, "annexes/documents/gone.pdf", "annexes/photos/T1.png",
                                           "annexes/documents//double.pdf", ""]), min_size=1, max_size=3)
                 | st.just([DOCUMENT] * 1001))
    else:
        optional("number", _NUMBER, _EDGY_NUMBER)
        row["last_name"] = pick("last_name", _NAME, _EDGY_NAME)
        row["first_name"] = pick("first_name", _NAME, _EDGY_NAME)
        optional("email", _EMAIL, _EDGY_EMAIL)
        row["groups"] = ids("groups", ["P1", "TD1", "Gé", "G😀"], ["X", ""])
        optional("photo", st.sampled_from(["annexes/photos/E1.png", "annexes/photos/sub/É.png"]),
                 st.sampled_from(["annexes/photos/gone.png", "annexes/documents/syllabus.pdf",
                                  "annexes/photos//double.png", "annexes/other/x.pdf"]))
    if fault == "text":  # a code point of a text written as bad bytes or a bad escape
        key = draw(st.sampled_from(["id", "last_name", "first_name"] if table == "students" else ["id"]))
        text = row[key]
        at = draw(st.integers(0, len(text) - 1))
        row[key] = text[:at] + PLACEHOLDER + text[at + 1:]
    elif fault == "wrong":
        row[draw(st.sampled_from(sorted(row)))] = draw(_WRONG)
    elif fault == "extra":
        row[draw(st.sampled_from(["colour", "Id", "id ", "placement" if table == "students" else "email"]))] = 1
    elif fault == "drop":
        del row[draw(st.sampled_from(sorted(row)))]
    elif fault == "wrong_placement":
        row["placement"][draw(st.sampled_from(["day", "start_step", "weeks", "extra"]))] = draw(_WRONG)
    elif fault == "drop_placement":
        del row["placement"][draw(st.sampled_from(["day", "start_step", "weeks"]))]
    return row, fault if fault in _WRITTEN else None


def within_narrowings(row: dict[str, Any]) -> bool:
    """Whether the scanner must take the row when Python does: of what built_rows makes, it refuses only
    a non-ASCII email (see _rowscan.c's narrowings)."""
    email = row.get("email")
    return not (isinstance(email, str) and not email.isascii())


@st.composite
def written(draw: st.DrawFn, row: dict[str, Any], fault: str | None = None) -> bytes:
    """``row`` as a line of JSON: keys in any order, any spacing JSON takes within a line, escaped or not;
    each :data:`PLACEHOLDER` as a piece of :data:`GOOD_PIECES` (of :data:`BAD_PIECES` for the fault "text");
    the faults "spacing" and "trailing" put what JSON does not take between tokens, or after the object."""
    def shuffled(value: dict[str, Any]) -> dict[str, Any]:
        return {key: value[key] for key in draw(st.permutations(sorted(value)))}

    row = shuffled(row)
    if isinstance(row.get("placement"), dict):
        row["placement"] = shuffled(row["placement"])
    items = draw(st.sampled_from([",", ", ", " ,\t", "\r,", "\t,\r "]))
    keys = draw(st.sampled_from([":", ": ", " :\t", "\r:", "\t: "]))
    if fault == "spacing":
        space = draw(st.sampled_from(_BAD_SPACES))
        items, keys = draw(st.sampled_from([(items + space, keys), (items, space + keys)]))
    text = json.dumps(row, ensure_ascii=draw(st.booleans()), separators=(items, keys))
    before, after = draw(st.sampled_from(["", " ", "\t"])), draw(st.sampled_from(["", " ", "\r", "\t "]))
    if fault == "trailing":
        after += draw(st.sampled_from(_TRAILING))
    pieces = st.sampled_from(BAD_PIECES if fault == "text" else GOOD_PIECES)
    return _PLACED.sub(lambda _: draw(pieces), (before + text + after).encode()) + b"\n"


@st.composite
def built_regions(draw: st.DrawFn, table: str) -> tuple[bytes, bool]:
    """1-3 rows built by :func:`built_rows`, written; and whether all lie within the scanner's narrowings."""
    rows = draw(st.lists(built_rows(table), min_size=1, max_size=3))
    region = b"".join(draw(written(row, fault)) for row, fault in rows)
    return region, all(within_narrowings(row) for row, _ in rows)


# --- one text, one spacing: the scanner takes exactly what Python takes -----------------------------------

_EMAIL_PIECES = [b"a", b"a", b"a", b"@", b"@", b" ", rb"\u0020", rb"\u0040", rb"\u00a0", b"\xc2\xa0", rb"\u000b",
                 rb"\u000c", rb"\u001c", rb"\u0085", rb"\u2028", rb"\u3000", b"\xe3\x80\x80"]
TEXT_FIELDS = {"courses": ["id"], "students": ["id", "number", "last_name", "first_name", "email", "email"]}


@st.composite
def text_regions(draw: st.DrawFn, table: str) -> tuple[bytes, str]:
    """The base row of ``table`` with one text written from a few pieces (ASCII, raw UTF-8 good and bad,
    escapes good and bad, raw controls); and that text's field."""
    field = draw(st.sampled_from(TEXT_FIELDS[table]))
    pieces = st.sampled_from(_EMAIL_PIECES if field == "email" and draw(st.booleans()) else
                             GOOD_PIECES + BAD_PIECES + _EMAIL_PIECES)
    text = b"".join(draw(st.lists(pieces, max_size=4)))
    return _with_text(table, field, text), field


def _with_text(table: str, field: str, text: bytes) -> bytes:
    base = line(BASE[table])
    start = base.index(b'"%s":"' % field.encode()) + len(field) + 4
    return base[:start] + text + base[base.index(b'"', start):]


_SPACES = ["", " ", "\t", "\r", "\n", "\x0c", "\x0b", "\x00", "\xa0", "\u2028", "\ufeff", "\x85", "\x1c", "\x1f", "/"]


@st.composite
def spaced_regions(draw: st.DrawFn, table: str) -> bytes:
    """The base row of ``table`` with any of a few characters around its tokens: whitespace JSON takes or not."""
    def space() -> str:
        return "".join(draw(st.lists(st.sampled_from(_SPACES), max_size=2)))

    text = json.dumps(BASE[table], ensure_ascii=False, separators=(space() + "," + space(), space() + ":" + space()))
    return (space() + text + space()).encode() + b"\n"


def check_exact(table: str, region: bytes, *, email_field: bool = False) -> tuple[ScannedIds | None, Verdict]:
    """The scanner takes ``region`` exactly when Python does (but a non-ASCII email, when ``email_field``)."""
    scanned = check_sound(table, region)
    verdict = python_verdict(table, region)
    if isinstance(verdict, list) and not (email_field and not json.loads(region)["email"].isascii()):
        assert scanned is not None, f"the scanner refused a valid region within its narrowings: {region!r}"
    return scanned, verdict


def check_built(table: str, region: bytes, within: bool) -> tuple[ScannedIds | None, Verdict]:
    """Rows built field by field: the scanner takes exactly what Python takes (``within`` its narrowings)."""
    scanned = check_sound(table, region)
    verdict = python_verdict(table, region)
    if isinstance(verdict, list) and within:
        assert scanned is not None, f"the scanner refused a valid region within its narrowings: {region!r}"
    return scanned, verdict
