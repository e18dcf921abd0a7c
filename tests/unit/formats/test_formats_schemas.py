"""The schema files are the source of truth: the compiled fast path agrees with jsonschema."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest
from hhyp_craft import base_tables
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hosting.formats.compiled import DECODE_ERRORS, SchemaNotCompilable, compile_schema, decoder, row_decoder
from hosting.formats.schema import first_fault, load_schema

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
    """What msgspec refuses and JSON Schema allows: integral floats, integers beyond 64 bits."""
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


def test_the_manifest_fast_path_accepts_what_the_schema_accepts() -> None:
    import zipfile
    from pathlib import Path

    data = zipfile.ZipFile(Path(__file__).parents[2] / "samples" / "small.HHYP").read("manifest.json")
    assert first_fault("manifest", json.loads(data)) is None
    assert decoder("manifest").decode(data).hosting_number == "123456789012"


def test_every_code_is_unique_and_documented() -> None:
    from pathlib import Path

    from hosting.formats.errors import all_format_errors

    codes = [cls.code for cls in all_format_errors()]
    assert len(codes) == len(set(codes))
    documented = (Path(__file__).parents[3] / "docs" / "errors.md").read_text(encoding="utf-8")
    assert [code for code in codes if f"`{code}`" not in documented] == []
