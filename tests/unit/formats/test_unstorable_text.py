"""Text no database stores is refused where it stands, never a traceback, never a stage failing later.

Half of a UTF-16 surrogate pair (``"\\ud800"``): JSON text may escape any code unit, and
``json.loads`` turns a lone one into a Python string that no UTF-8 encoder takes: msgspec refused it
with a UnicodeEncodeError the readers did not expect (a traceback, found by the fuzz tests), or let it
through to the database. U+0000 (``"\\u0000"``): valid JSON, refused by PostgreSQL in ``text`` and
``jsonb``, so a file the reader called valid failed in the instantiate or assign stage.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hhyp_craft import GRID, base_tables, entry_named, hhyp_bytes, refusal, table_bytes

from hosting.formats.errors import FormatError, HhypUnknownField
from hosting.formats.errors.grid import GridError
from hosting.formats.json.strict import NotJson, loads
from hosting.formats.profils.file import read_profils
from hosting.timegrid import TimeGrid

SAMPLE_PROFILS = json.loads((Path(__file__).parents[2] / "samples" / "small.profils").read_text(encoding="utf-8"))
LONE = "\\ud800"  # as written in the file: six characters


@pytest.mark.parametrize(("text", "field"), [
    (f'{{"a": "x{LONE}"}}', "a"), (f'{{"a": ["ok", "{LONE}"]}}', "a[1]"), (f'{{"a": {{"{LONE}b": 1}}}}', "a"),
    ('["\\udc00"]', "[0]"), (f'"{LONE}\\ud800"', ""), ('["\\uDFFF\\uD800"]', "[0]"),  # low before high
])
def test_the_strict_parse_refuses_a_lone_surrogate_and_says_where(text: str, field: str) -> None:
    with pytest.raises(NotJson) as caught:
        loads(text.encode())
    assert caught.value.field == field and "surrogate" in caught.value.reason


@pytest.mark.parametrize(("text", "value"), [
    ('["\\ud83d\\ude00"]', ["\U0001F600"]), ('["\\uD83D\\uDE00"]', ["\U0001F600"]),  # a pair: one character
    ('["\\\\ud800"]', ["\\ud800"]),  # an escaped backslash, then text
])
def test_the_strict_parse_takes_a_pair_and_text_that_only_looks_like_one(text: str, value: Any) -> None:
    assert loads(text.encode()) == value


def _profils_with(edit: Any) -> bytes:
    document = json.loads(json.dumps(SAMPLE_PROFILS))
    edit(document)
    return json.dumps(document).encode()  # (ensure_ascii: every non-ASCII character escaped)


@pytest.mark.parametrize(("edit", "code", "field"), [
    (lambda d: d["users"][3].update(first_name="Zo\ud800"), "PROFILS_NOT_JSON", "users[3].first_name"),
    (lambda d: d["users"][3].update(login="\udfff"), "PROFILS_NOT_JSON", "users[3].login"),  # (it has a pattern)
    (lambda d: d["users"][3].update({"\ud800ast_name": "x"}), "PROFILS_NOT_JSON", "users[3]"),  # a key: its object
    (lambda d: d["profiles"][0].update(name="Direction\ud800"), "PROFILS_NOT_JSON", "profiles[0].name"),
    (lambda d: d["users"][3].update(first_name="Zo\x00e"), "PROFILS_NUL_CHARACTER", "users[3].first_name"),
    (lambda d: d["users"][3].update(email="zoe@exa\x00mple.edu"), "PROFILS_NUL_CHARACTER", "users[3].email"),
    (lambda d: d["profiles"][1].update(name="Consul\x00tation"), "PROFILS_NUL_CHARACTER", "profiles[1].name"),
    (lambda d: d["users"][3].update({"x\x00": 1}), "PROFILS_NUL_CHARACTER", "users[3]"),
])
def test_a_profils_with_text_no_database_stores_is_refused_at_its_field(edit: Any, code: str, field: str) -> None:
    with pytest.raises(FormatError) as caught:
        read_profils(io.BytesIO(_profils_with(edit)))
    assert (caught.value.code, caught.value.where) == (code, {"field": field})


def test_a_profils_with_a_pair_is_valid() -> None:
    profils = read_profils(io.BytesIO(_profils_with(lambda d: d["users"][3].update(first_name="Zo\U0001F600"))))
    assert profils.users[3].first_name == "Zo\U0001F600"


def test_a_row_with_a_lone_surrogate_is_refused_at_its_line_and_field() -> None:
    rows = table_bytes(base_tables()["rooms"]).split(b"\n")
    rows[1] = rows[1].replace(b'"name": "', f'"name": "{LONE}'.encode(), 1)
    error = refusal(hhyp_bytes(table_data={"rooms": b"\n".join(rows)}), "HHYP_ROW_NOT_JSON")
    assert error.where == {"entry": "base/rooms.jsonl", "line": 2, "field": "name"}


def test_a_manifest_with_a_lone_surrogate_is_refused_at_its_field() -> None:
    def entries(raws: list[Any]) -> None:
        manifest = entry_named(raws, "manifest.json")
        manifest.data = manifest.data.replace(b'"generator": "', f'"generator": "{LONE}'.encode(), 1)
    error = refusal(hhyp_bytes(entries=entries), "HHYP_MANIFEST_NOT_JSON")
    assert error.where == {"entry": "manifest.json", "field": "generator"}


def test_a_time_grid_with_a_lone_surrogate_key_is_an_unknown_field() -> None:
    # (a grid handed over as a dict, by the Python client: the key cannot be looked up among a struct's fields)
    with pytest.raises(GridError) as caught:
        TimeGrid.from_dict({**GRID, "\ud800": 1})
    assert caught.value.code == "GRID_UNKNOWN_FIELD"


def test_the_cli_refuses_a_grid_file_with_a_lone_surrogate(tmp_path: Path) -> None:
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({**GRID, "\ud800": 1}))
    env = {**os.environ, "HPHOST_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "console", "base", "create", "EDT", "--grid", str(grid), "--json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert (done.returncode, "Traceback" in done.stderr) == (2, False), done.stderr
    assert json.loads(done.stdout)["code"] == "INVALID_INPUT"


NUL = "\\u0000"  # as written in the file


def test_text_that_only_looks_like_u0000_is_taken() -> None:
    profils = read_profils(io.BytesIO(_profils_with(lambda d: d["users"][3].update(first_name="\\u0000"))))
    assert profils.users[3].first_name == "\\u0000"  # a backslash, then five characters


@pytest.mark.parametrize("split", [False, True])  # one chunk, or the fast path's batch and the last line
def test_a_row_with_u0000_is_refused_at_its_line_and_field(split: bool) -> None:
    rows = table_bytes(base_tables()["students"]).split(b"\n")
    at = len(rows) - 2 if split else 1  # (the last row, which is a batch of its own when it has no newline)
    rows[at] = rows[at].replace(b'"last_name": "', f'"last_name": "{NUL}'.encode(), 1)
    data = b"\n".join(rows).rstrip(b"\n") if split else b"\n".join(rows)
    error = refusal(hhyp_bytes(table_data={"students": data}), "HHYP_NUL_CHARACTER")
    assert error.where == {"entry": "base/students.jsonl", "line": at + 1, "field": "last_name"}


def test_the_cli_says_where_u0000_is(tmp_path: Path) -> None:
    path = tmp_path / "nul.profils"
    path.write_bytes(_profils_with(lambda d: d["users"][0].update(last_name="Du\x00pont")))
    done = subprocess.run([sys.executable, "-m", "console", "profils", "check", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, "Traceback" in done.stderr) == (2, False), done.stderr
    answer = json.loads(done.stdout)
    assert (answer["code"], answer["where"]) == ("PROFILS_NUL_CHARACTER", {"field": "users[0].last_name"})
    assert "users[0].last_name" in answer["message"]


@pytest.mark.parametrize(("nul_line", "bad_line", "code"), [(1, 3, "HHYP_NUL_CHARACTER"), (3, 1, "HHYP_ROW_INVALID")])
def test_of_a_nul_and_a_broken_row_the_first_in_the_file_is_named(nul_line: int, bad_line: int, code: str) -> None:
    rows = table_bytes(base_tables()["students"]).split(b"\n")
    assert len(rows) >= 3
    rows[nul_line - 1] = rows[nul_line - 1].replace(b'"last_name": "', f'"last_name": "{NUL}'.encode(), 1)
    rows[bad_line - 1] = json.dumps({**json.loads(rows[bad_line - 1]), "last_name": 7}).encode()
    error = refusal(hhyp_bytes(table_data={"students": b"\n".join(rows)}), code)
    assert error.where["line"] == min(nul_line, bad_line)


@pytest.mark.parametrize("quoted", ["a\x00b", "a\x1bb", "a\ud800b", "a\x85b"])
def test_a_refusal_quoting_the_file_holds_nothing_unstorable_or_unprintable(quoted: str) -> None:
    # A failed job's error is stored in PostgreSQL (no U+0000) and shown in a terminal (no escapes).
    error = HhypUnknownField(name=quoted, where={"entry": "base/rooms.jsonl", "line": 1, "field": quoted})
    assert error.message == "Unknown field a?b (a sign of a newer format: refused, not ignored)."
    assert error.where["field"] == "a?b" and str(error).count("a?b") == 2
    error.message.encode("utf-8")
