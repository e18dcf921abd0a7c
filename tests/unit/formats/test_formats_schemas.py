"""The schema files are the source of truth: the compiled fast path agrees with jsonschema."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any
from unittest.mock import patch

import pytest
from hhyp_craft import GRID, base_tables
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hosting.formats.json import explain as explaining
from hosting.formats.json.compiled import (
    DECODE_ERRORS,
    Narrowing,
    SchemaNotCompilable,
    compile_schema,
    conforms,
    decoder,
    narrowed_type,
    row_decoder,
)
from hosting.formats.json.explain import explain
from hosting.formats.json.schema import fault_depth, first_fault, load_schema, python_regex

SCHEMAS = sorted(path.name.removesuffix(".json")
                 for path in (resources.files("hosting.formats") / "schemas").iterdir() if path.name.endswith(".json"))
TABLES = ("subjects", "teachers", "rooms", "groups", "students", "courses")


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_shipped_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(load_schema(name))


def test_the_expected_schemas_are_shipped() -> None:
    assert set(SCHEMAS) == {"manifest", "time_grid", "profils", *(f"{table}.row" for table in TABLES)}


@pytest.mark.parametrize("keyword", [{"uniqueItems": True}, {"oneOf": []}, {"format": "email"}, {"minProperties": 1}])
def test_the_compiler_refuses_what_it_cannot_render(keyword: dict[str, Any]) -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {"x": {"type": "array", **keyword}}}
    with pytest.raises(SchemaNotCompilable):
        compile_schema(schema, "Probe")


def test_the_compiler_refuses_open_objects_with_properties() -> None:
    with pytest.raises(SchemaNotCompilable):
        compile_schema({"type": "object", "properties": {"x": {"type": "string"}}}, "Probe")


def _patterns(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
        return own + [pattern for value in schema.values() for pattern in _patterns(value)]
    return [pattern for value in schema for pattern in _patterns(value)] if isinstance(schema, list) else []


@pytest.mark.parametrize("pattern", sorted({pattern for name in SCHEMAS for pattern in _patterns(load_schema(name))}))
def test_every_pattern_of_the_schemas_is_translated_and_refuses_a_final_newline(pattern: str) -> None:
    regex = python_regex(pattern)
    assert r"\Z" in regex.pattern or not pattern.endswith("$")


@pytest.mark.parametrize(("pattern", "text", "matches"), [
    ("^[0-9]{12}$", "123456789012", True),
    ("^[0-9]{12}$", "123456789012\n", False),  # Python's "$" also matches before a final newline
    (r"^\d+$", "2026", True),
    (r"^\d+$", "٢٠٢٦", False),  # Python's \d takes every script's digits
    (r"^\w+$", "é", False),
    (r"^[^@\s]+$", "a\ufeffb", False),  # ECMA-262's \s holds U+FEFF, Python's does not
    (r"^[^@\s]+$", "a\x1cb", True),  # Python's \s holds U+001C, ECMA-262's does not
    (r"^\s$", "\u2028", True),
    (r"^a[$]$", "a$", True),
    (r"^a\$$", "a$", True),
    (r"^a\$$", "a$\n", False),
    (r"^[^$]+$", "a$b", False),  # "$" in a class is itself
    (r"^[^$]+$", "ab\n", True),  # (and a negated class takes a newline, in both)
])
def test_a_pattern_means_what_ecma_262_says(pattern: str, text: str, matches: bool) -> None:
    assert (python_regex(pattern).search(text) is not None) is matches


@pytest.mark.parametrize("pattern", [r"\bword", r"^\D$", r"^\S+$", "[]a]", "[^]a]"])
def test_a_pattern_whose_meaning_is_not_translated_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="not translated"):
        python_regex(pattern)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def _mutated(data: st.DataObject, row: dict[str, Any]) -> dict[str, Any]:
    draw = data.draw
    row = copy.deepcopy(row)
    for _ in range(draw(st.integers(1, 2))):
        action = draw(st.sampled_from(["set", "drop", "add", "nest"]))
        key = draw(st.sampled_from(sorted(row)))
        if action == "set":
            row[key] = draw(json_values)
        elif action == "drop":
            row.pop(key)
        elif action == "add":
            row[draw(st.text(min_size=1, max_size=5))] = draw(json_values)
        elif isinstance(row[key], list) and row[key]:
            row[key][0] = draw(json_values)
        elif isinstance(row[key], dict) and row[key]:
            inner = draw(st.sampled_from(sorted(row[key])))
            row[key][inner] = draw(json_values)
        if not row:
            break
    return row


def _has_stricter_corner(value: Any) -> bool:
    """What msgspec may refuse and JSON Schema allows: integral floats (and, were msgspec to refuse them again,
    integers beyond 64 bits)."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**64
    if isinstance(value, dict):
        return any(map(_has_stricter_corner, value.values()))
    if isinstance(value, list):
        return any(map(_has_stricter_corner, value))
    return False


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_fast_path_agrees_with_the_schema(data: st.DataObject) -> None:
    table = data.draw(st.sampled_from(TABLES))
    row = _mutated(data, data.draw(st.sampled_from(base_tables()[table])))
    by_schema = first_fault(f"{table}.row", row) is None
    try:
        row_decoder(table).decode(json.dumps(row).encode())
        by_fast_path = True
    except DECODE_ERRORS:
        by_fast_path = False
    if by_fast_path:
        assert by_schema, f"the fast path accepted what {table}.row.json refuses: {row}"
    elif by_schema:
        assert _has_stricter_corner(row), f"the fast path refused a valid row: {row}"


def _documents() -> dict[str, dict[str, Any]]:
    from pathlib import Path

    profils = json.loads((Path(__file__).parents[2] / "samples" / "small.profils").read_text(encoding="utf-8"))
    return {"time_grid": GRID, "profils": profils}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_quick_verdict_agrees_with_the_schema(data: st.DataObject) -> None:
    # conforms() lets a valid time grid or .profils skip jsonschema: it must never pass what the schema refuses.
    name = data.draw(st.sampled_from(["time_grid", "profils"]))
    document = _documents()[name]
    if name == "profils" and data.draw(st.booleans()):  # reach into a user or a profile too
        part = data.draw(st.sampled_from(["users", "profiles"]))
        document = {**document, part: [_mutated(data, document[part][0]), *document[part][1:]]}
    else:
        document = _mutated(data, document)
    by_schema = first_fault(name, document) is None
    if conforms(name, document):
        assert by_schema, f"conforms() passed what {name}.json refuses: {document}"
    elif by_schema:
        assert _has_stricter_corner(document), f"conforms() refused a valid {name}: {document}"


@pytest.mark.parametrize(("change", "valid"), [
    ({"working_days": ["mon", "tue", "mon"]}, False),  # uniqueItems, which msgspec cannot express
    ({"working_days": ["tue", "mon"]}, True),
    ({"sequence_minutes": 45}, True),
    ({"sequence_minutes": 42}, False),  # multipleOf
    ({"steps_per_sequence": True}, False),
    ({"day_start": "8:00"}, False),
])
def test_the_quick_verdict_on_time_grids(change: dict[str, Any], valid: bool) -> None:
    grid = {**GRID, **change}
    assert conforms("time_grid", grid) is valid
    assert (first_fault("time_grid", grid) is None) is valid


def test_unique_items_are_lifted_only_on_request_and_only_on_strings_or_integers() -> None:
    with pytest.raises(SchemaNotCompilable):
        decoder("time_grid")  # the strict type cannot say "no item twice": it must not pretend to
    assert narrowed_type("time_grid", Narrowing(lift_unique=True)).unique == (("working_days",),)

    def array_of(items: dict[str, Any], **keywords: Any) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False,
                "properties": {"x": {"type": "array", "items": items, **keywords}}}

    lifted = Narrowing(lift_unique=True)
    record = {"type": "object", "additionalProperties": False, "properties": {"y": {"type": "string"}}}
    compile_schema(array_of(record), "Probe", lifted)
    compile_schema(array_of({"type": "integer", "minimum": 1}, uniqueItems=True), "Probe", lifted)
    with pytest.raises(SchemaNotCompilable):  # a set cannot tell records apart as JSON does
        compile_schema(array_of(record, uniqueItems=True), "Probe", lifted)
    with pytest.raises(SchemaNotCompilable):  # left raw, the array would never be looked at
        compile_schema(array_of({"type": "string"}, uniqueItems=True), "Probe",
                       Narrowing(lift_unique=True, raw=frozenset({("x",)})))


def test_the_manifest_fast_path_accepts_what_the_schema_accepts() -> None:
    import zipfile
    from pathlib import Path

    data = zipfile.ZipFile(Path(__file__).parents[2] / "samples" / "small.HHYP").read("manifest.json")
    assert first_fault("manifest", json.loads(data)) is None
    assert decoder("manifest").decode(data).hosting_number == "123456789012"


def test_every_code_is_unique_and_documented() -> None:
    from pathlib import Path

    from hosting.formats.errors.catalogue import all_format_errors

    codes = [cls.code for cls in all_format_errors()]
    assert len(codes) == len(set(codes))
    documented = (Path(__file__).parents[3] / "docs" / "errors.md").read_text(encoding="utf-8")
    assert [code for code in codes if f"`{code}`" not in documented] == []


def _sample_manifest() -> dict[str, Any]:
    import zipfile
    from pathlib import Path

    manifest: dict[str, Any] = json.loads(
        zipfile.ZipFile(Path(__file__).parents[2] / "samples" / "small.HHYP").read("manifest.json"))
    return manifest


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_explain_names_the_fault_first_fault_names(data: st.DataObject) -> None:
    # explain() spares jsonschema the items the compiled type proves valid: it must still name the very fault.
    name = data.draw(st.sampled_from(["profils", "manifest"]))
    document = _documents()["profils"] if name == "profils" else _sample_manifest()
    key = "users" if name == "profils" else "entries"
    items = [copy.deepcopy(item) for _ in range(data.draw(st.integers(1, 6))) for item in document[key]]
    for _ in range(data.draw(st.integers(0, 3))):
        position = data.draw(st.integers(0, len(items) - 1))
        item = items[position]
        items[position] = _mutated(data, item) if isinstance(item, dict) and item and data.draw(st.booleans()) \
            else data.draw(json_values)
    document = {**document, key: items}
    if data.draw(st.integers(0, 4)) == 0:
        document = _mutated(data, document)
    with patch.object(explaining, "BLOCK", data.draw(st.sampled_from([1, 3, 1024]))):
        assert explain(name, document) == first_fault(name, document)


def test_explain_asks_jsonschema_about_one_item_of_each_array(monkeypatch: pytest.MonkeyPatch) -> None:
    judged: list[Any] = []
    asked: list[Any] = []

    def judging(name: str, instance: Any, **kw: Any) -> Any:
        judged.append(instance)
        return first_fault(name, instance, **kw)

    def asking(name: str, instance: Any, under: Any) -> Any:
        asked.append(under)
        return fault_depth(name, instance, under)

    monkeypatch.setattr(explaining, "first_fault", judging)
    monkeypatch.setattr(explaining, "fault_depth", asking)
    profils = _documents()["profils"]
    users = [{**profils["users"][0], "login": f"User{index}"} for index in range(5000)]  # every login refused
    users[3210] = {key: value for key, value in users[3210].items() if key != "last_name"}  # shallower
    users[4999] = {**users[4999], "nickname": "x"}  # as shallow, met later
    fault = explain("profils", {**profils, "users": users})
    assert fault is not None and (fault.kind, fault.field) == ("missing_field", "users[3210].last_name")
    assert [len(instance["users"]) for instance in judged] == [1]
    assert len(asked) == 1

    users[3210]["last_name"] = "Durand"  # now the first of the shallowest is the first user
    judged.clear()
    fault = explain("profils", {**profils, "users": users})
    assert fault is not None and (fault.kind, fault.field) == ("unknown_field", "users[4999].nickname")
    users[4999].pop("nickname")
    fault = explain("profils", {**profils, "users": users})
    assert fault is not None and fault.field == "users[0].login" and "users[0].login" in fault.reason


def test_explain_looks_past_an_item_a_level_refuses_too_strictly() -> None:
    # A level may be stricter than the schema (msgspec refuses 4.0 for an integer; an array that must not
    # repeat an item keeps its items whole): its first refused item is a candidate, not yet the answer.
    profils = _documents()["profils"]
    users = [{**profils["users"][0], "login": "Capitals"},  # a fault one level below the user
             {key: value for key, value in profils["users"][0].items() if key != "last_name"}]  # at the user
    strict = explaining._arrays("profils")[1]
    assert strict.key == "users"
    everything = explaining._Array("users", None, (strict.levels[-1],) * len(strict.levels))
    assert explaining._first_of_shallowest("profils", everything, users) == [1]
    assert explaining._first_of_shallowest("profils", strict, users) == [1]
