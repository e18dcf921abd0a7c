"""Schemas compiled into msgspec types: the fast path of validation.

A JSONL table can hold millions of rows and a manifest 200,000 entries;
jsonschema checks a row in tens of microseconds, msgspec decodes *and*
validates one in about one. So the schema files of the rows and of the
manifest are translated, keyword by keyword, into ``msgspec.Struct`` types,
and documents are decoded straight into them.

The translation refuses any keyword it does not render (a schema edited with a
new keyword fails at first use, it is never silently ignored), so the compiled
type is at least as strict as its schema. When a document fails the fast
path, jsonschema is asked for the precise fault. msgspec is stricter than JSON
Schema in two corners only: an integer refuses ``4.0``, and must fit 64 bits.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal, Union

import msgspec

from hosting.formats.schema import load_schema

_IGNORED = {"$schema", "$id", "$defs", "title", "description", "default"}
# What a compiled decoder raises on a bad document (msgspec lets invalid UTF-8 through as UnicodeDecodeError).
DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError)


class SchemaNotCompilable(Exception):
    """A schema uses a keyword the fast path cannot render (a programming error, raised at import)."""


@cache
def compiled_type(name: str) -> Any:
    """The msgspec type compiled from ``schemas/<name>.json``."""
    return compile_schema(load_schema(name), "".join(part.title() for part in name.split(".")))


def compile_schema(schema: dict[str, Any], name: str) -> Any:
    """The msgspec type of ``schema``; raises SchemaNotCompilable for a keyword it cannot render."""
    return _Compiler(schema).render(schema, name)


@cache
def decoder(name: str) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(compiled_type(name))


def row_decoder(table: str) -> msgspec.json.Decoder[Any]:
    """Decoder of one row of ``base/<table>.jsonl`` (schema ``<table>.row.json``)."""
    return decoder(f"{table}.row")


class _Compiler:
    def __init__(self, root: dict[str, Any]):
        self.root = root

    def render(self, schema: dict[str, Any], name: str) -> Any:
        unknown = set(schema) - _IGNORED - _KNOWN
        if unknown:
            raise SchemaNotCompilable(f"{name}: keywords {sorted(unknown)} have no fast-path rendering")
        if "$ref" in schema:
            if set(schema) - _IGNORED != {"$ref"}:
                raise SchemaNotCompilable(f"{name}: $ref beside other keywords")
            return self.render(self._resolve(schema["$ref"]), name)
        if "enum" in schema or "const" in schema:
            return self._enum(schema, name)
        kind = schema.get("type")
        renderers = {"object": self._object, "array": self._array, "string": self._string, "integer": self._integer}
        if kind not in renderers:
            raise SchemaNotCompilable(f"{name}: type {kind!r} has no fast-path rendering")
        return renderers[kind](schema, name)

    def _resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/$defs/"):
            raise SchemaNotCompilable(f"only local $defs references are rendered, not {ref}")
        resolved: dict[str, Any] = self.root["$defs"][ref.removeprefix("#/$defs/")]
        return resolved

    def _object(self, schema: dict[str, Any], name: str) -> Any:
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not schema.get("properties"):
            keys = self.render({"type": "string", **schema["propertyNames"]}, f"{name}_key") \
                if "propertyNames" in schema else str
            return dict.__class_getitem__((keys, self.render(extra, f"{name}_value")))
        if extra is None and not schema.get("properties") and not schema.get("required"):
            return dict[str, Any]  # a free-form object, checked elsewhere (the time grid)
        if extra is not False:
            raise SchemaNotCompilable(f"{name}: objects must refuse additional properties")
        required = set(schema.get("required", ()))
        fields: list[Any] = []
        for key, sub in schema.get("properties", {}).items():
            field_type = self.render(sub, f"{name}_{key}")
            if key in required:
                fields.append((key, field_type))
            else:
                fields.append((key, Union[field_type, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        # gc=False: rows hold no cycles, and skipping the collector's tracking is a large part of the speed.
        return msgspec.defstruct(name, fields, kw_only=True, forbid_unknown_fields=True, gc=False)

    def _array(self, schema: dict[str, Any], name: str) -> Any:
        items = self.render(schema.get("items", {}), f"{name}_item")
        # Tuples decode faster than lists, and hash: equal week lists are checked once per batch.
        return _constrained(tuple.__class_getitem__((items, ...)),
                            min_length=schema.get("minItems"), max_length=schema.get("maxItems"))

    def _string(self, schema: dict[str, Any], name: str) -> Any:
        pattern = schema.get("pattern")
        if pattern is not None:
            re.compile(pattern)
        return _constrained(str, min_length=schema.get("minLength"), max_length=schema.get("maxLength"),
                            pattern=pattern)

    def _integer(self, schema: dict[str, Any], name: str) -> Any:
        return _constrained(int, ge=schema.get("minimum"), le=schema.get("maximum"))

    def _enum(self, schema: dict[str, Any], name: str) -> Any:
        values = schema["enum"] if "enum" in schema else [schema["const"]]
        plain = all(isinstance(value, str) for value in values) or (
            all(type(value) is int for value in values) and schema.get("type") in (None, "integer"))
        if not values or not plain or set(schema) - _IGNORED - {"type"} not in ({"enum"}, {"const"}):
            raise SchemaNotCompilable(f"{name}: only an enum or const of strings or of integers is rendered")
        return Literal[tuple(values)]


_KNOWN = {"$ref", "enum", "const", "type", "properties", "required", "additionalProperties", "propertyNames",
          "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum"}


def _constrained(base: Any, **constraints: Any) -> Any:
    given = {key: value for key, value in constraints.items() if value is not None}
    return Annotated[base, msgspec.Meta(**given)] if given else base
