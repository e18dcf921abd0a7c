"""Schemas compiled into msgspec types: the fast path of validation (about 1 µs a row against tens).

A keyword the translation does not render is refused (:class:`SchemaNotCompilable`), so a compiled
type is at least as strict as its schema; msgspec is stricter in one corner (an integer refuses ``4.0``)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from hosting.formats.json.schema import load_schema, python_regex

IGNORED_KEYWORDS = {"$schema", "$id", "$defs", "title", "description", "default"}
# What a compiled decoder raises on a bad document (RecursionError: see hosting.formats.json.strict).
DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError)
# What converting decoded values raises (a key with a lone surrogate cannot be encoded to find its field).
_CONVERT_ERRORS = (msgspec.ValidationError, UnicodeEncodeError)


_AT = " - at `$"  # how msgspec places a refusal: "Expected `int`, got `float` - at `$.placement.weeks[2]`"


def msgspec_fault(exc: Exception) -> tuple[str, str]:
    """A msgspec refusal as (what is wrong, where: ``placement.weeks[2]``, or ``""`` for the document or unsaid)."""
    reason, _, path = str(exc).partition(_AT)
    return reason, path.rstrip("`").lstrip(".")


FieldPath = tuple[str, ...]  # ("placement", "weeks", "*"): "*" stands for every item of an array


class SchemaNotCompilable(Exception):
    """A schema uses a keyword the fast path cannot render (a programming error, raised at import)."""


@dataclass(frozen=True)
class Narrowing:
    """What a reader already knows about a document, checked while it is decoded.

    ``values``: the allowed values at a path; ``lift_patterns``/``lift_unique``: ``pattern`` and
    ``uniqueItems`` taken out of the type for :meth:`NarrowedType.lifted_hold`; ``raw``: paths left undecoded."""

    values: Mapping[FieldPath, Collection[Any]] = field(default_factory=dict)
    lift_patterns: bool = False
    raw: frozenset[FieldPath] = frozenset()
    lift_unique: bool = False


@dataclass(frozen=True)
class NarrowedType:
    """A compiled type at least as strict as its schema once the caller checks ``patterns``, ``unique``
    and ``raw`` (see :class:`Narrowing`); ``covered``: the paths restricted to their values."""

    type: Any
    covered: frozenset[FieldPath]
    patterns: tuple[tuple[FieldPath, re.Pattern[str]], ...]
    raw: tuple[tuple[FieldPath, Any], ...]
    unique: tuple[FieldPath, ...] = ()

    def proves_valid(self, values: list[Any]) -> bool:
        """Whether each of ``values`` (decoded JSON) converts to :attr:`type` and keeps the lifted rules."""
        try:
            documents = msgspec.convert(values, list.__class_getitem__(self.type), strict=True)
        except _CONVERT_ERRORS:
            return False
        return self.lifted_hold(documents)

    def lifted_hold(self, documents: list[Any]) -> bool:
        """Whether ``documents`` keep the rules taken out of :attr:`type` (patterns, unique items)."""
        return (all(all(map(regex.search, values_at(documents, path))) for path, regex in self.patterns)
                and all(len(set(items)) == len(items) for path in self.unique for items in values_at(documents, path)))


def values_at(documents: list[Any], path: FieldPath) -> Iterable[Any]:
    """The values at ``path`` in decoded documents, absent optional fields skipped."""
    values: Iterable[Any] = documents
    for key in path:
        values = chain.from_iterable(values) if key == "*" else _present(map(attrgetter(key), values))
    return values


def _present(values: Iterable[Any]) -> list[Any]:
    values = list(values)
    return [value for value in values if value is not msgspec.UNSET] if msgspec.UNSET in values else values


@cache
def compiled_type(name: str) -> Any:
    """The msgspec type compiled from ``schemas/<name>.json``."""
    return compile_schema(load_schema(name), "".join(part.title() for part in name.split(".")))


def compile_schema(schema: dict[str, Any], name: str, narrowing: Narrowing | None = None) -> Any:
    """The msgspec type of ``schema``; raises SchemaNotCompilable for a keyword it cannot render."""
    return _Compiler(schema, narrowing).render(schema, name)


def narrowed_type(name: str, narrowing: Narrowing) -> NarrowedType:
    """The type of ``schemas/<name>.json`` with ``narrowing`` applied (per file, not cached). It only removes
    values, so its refusal proves nothing and the strict path explains it."""
    schema = load_schema(name)
    return part_type(schema, schema, "".join(part.title() for part in name.split(".")), narrowing)


def part_type(root: dict[str, Any], schema: dict[str, Any], name: str, narrowing: Narrowing) -> NarrowedType:
    """The type of ``schema``, ``root`` itself or a part of it (whose ``$ref`` point into ``root``'s ``$defs``)."""
    compiler = _Compiler(root, narrowing)
    compiled = compiler.render(schema, name)
    return NarrowedType(compiled, frozenset(compiler.covered), tuple(compiler.patterns), tuple(compiler.raw),
                        tuple(compiler.unique))


def resolved(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or what its ``$ref`` points to in ``root``'s ``$defs`` (the only references rendered)."""
    while "$ref" in schema:
        if set(schema) - IGNORED_KEYWORDS != {"$ref"}:
            raise SchemaNotCompilable(f"$ref beside other keywords: {sorted(schema)}")
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise SchemaNotCompilable(f"only local $defs references are rendered, not {ref}")
        schema = root["$defs"][ref.removeprefix("#/$defs/")]
    return schema


@cache
def conforming_type(name: str) -> NarrowedType:
    """The type :func:`conforms` uses (``uniqueItems`` lifted) for ``schemas/<name>.json``."""
    return narrowed_type(name, Narrowing(lift_unique=True))


def conforms(name: str, instance: Any) -> bool:
    """Whether ``instance`` (decoded JSON) is valid against ``schemas/<name>.json``: True proves it, False
    proves nothing (``4.0``), ask :func:`~hosting.formats.json.schema.first_fault`. Spares jsonschema's import."""
    return conforming_type(name).proves_valid([instance])


@cache
def decoder(name: str) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(compiled_type(name))


def row_decoder(table: str) -> msgspec.json.Decoder[Any]:
    """Decoder of one row of ``base/<table>.jsonl`` (schema ``<table>.row.json``)."""
    return decoder(f"{table}.row")


class _Compiler:
    def __init__(self, root: dict[str, Any], narrowing: Narrowing | None = None):
        self.root = root
        self.narrowing = narrowing or Narrowing()
        self.covered: list[FieldPath] = []
        self.patterns: list[tuple[FieldPath, re.Pattern[str]]] = []
        self.raw: list[tuple[FieldPath, Any]] = []
        self.unique: list[FieldPath] = []
        self._inside_raw = 0

    def render(self, schema: dict[str, Any], name: str, path: FieldPath = (), *, raw: bool = True) -> Any:
        unknown = set(schema) - IGNORED_KEYWORDS - _KNOWN
        if unknown:
            raise SchemaNotCompilable(f"{name}: keywords {sorted(unknown)} have no fast-path rendering")
        if "$ref" in schema:
            return self.render(resolved(self.root, schema), name, path, raw=raw)
        if raw and path in self.narrowing.raw:
            self._inside_raw += 1
            self.raw.append((path, self.render(schema, name, path, raw=False)))
            self._inside_raw -= 1
            return msgspec.Raw
        if path in self.narrowing.values:
            narrowed = self._narrowed(schema, name, path)
            if narrowed is not None:
                return narrowed
        if not set(schema) - IGNORED_KEYWORDS:
            return Any
        if "enum" in schema or "const" in schema:
            return self._enum(schema, name)
        kind = schema.get("type")
        renderers = {"object": self._object, "array": self._array, "string": self._string, "integer": self._integer}
        if kind not in renderers:
            raise SchemaNotCompilable(f"{name}: type {kind!r} has no fast-path rendering")
        return renderers[kind](schema, name, path)

    def _narrowed(self, schema: dict[str, Any], name: str, path: FieldPath) -> Any:
        """A Literal of the allowed values the field's own type accepts; None when there are none."""
        allowed = allowed_values(self.root, schema, name, self.narrowing.values[path])
        if not allowed:
            return None
        self.covered.append(path)
        # Fresh copies, contiguous in memory: lookups twice as fast as on ids scattered among rows.
        return Literal[tuple(_copy(value) for value in allowed)]

    def _object(self, schema: dict[str, Any], name: str, path: FieldPath) -> Any:
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
            field_type = self.render(sub, f"{name}_{key}", (*path, key))
            if key in required:
                fields.append((key, field_type))
            else:
                fields.append((key, Union[field_type, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        # gc=False: rows hold no cycles, and skipping the collector's tracking is a large part of the speed.
        return msgspec.defstruct(name, fields, kw_only=True, forbid_unknown_fields=True, gc=False)

    def _array(self, schema: dict[str, Any], name: str, path: FieldPath) -> Any:
        items = self.render(schema.get("items", {}), f"{name}_item", (*path, "*"))
        if schema.get("uniqueItems"):
            # Items decoded to strings or integers are equal exactly when their JSON is: a set tells.
            if not (self.narrowing.lift_unique and _plain(items) and not self._inside_raw):
                raise SchemaNotCompilable(f"{name}: uniqueItems is rendered only when lifted, on strings or integers"
                                          " decoded (not left raw)")
            self.unique.append(path)
        # Tuples decode faster than lists, and hash: equal week lists are checked once per batch.
        return _constrained(tuple.__class_getitem__((items, ...)),
                            min_length=schema.get("minItems"), max_length=schema.get("maxItems"))

    def _string(self, schema: dict[str, Any], name: str, path: FieldPath) -> Any:
        pattern = None
        if "pattern" in schema:
            regex = python_regex(schema["pattern"])
            pattern = regex.pattern
            if self.narrowing.lift_patterns and path and not self._inside_raw:
                self.patterns.append((path, regex))
                pattern = None
        return _constrained(str, min_length=schema.get("minLength"), max_length=schema.get("maxLength"),
                            pattern=pattern)

    def _integer(self, schema: dict[str, Any], name: str, path: FieldPath) -> Any:
        if type(schema.get("multipleOf", 1)) is not int:
            raise SchemaNotCompilable(f"{name}: only an integer multipleOf is rendered")
        return _constrained(int, ge=schema.get("minimum"), le=schema.get("maximum"),
                            multiple_of=schema.get("multipleOf"))

    def _enum(self, schema: dict[str, Any], name: str) -> Any:
        values = schema["enum"] if "enum" in schema else [schema["const"]]
        plain = all(isinstance(value, str) for value in values) or (
            all(type(value) is int for value in values) and schema.get("type") in (None, "integer"))
        if not values or not plain or set(schema) - IGNORED_KEYWORDS - {"type"} not in ({"enum"}, {"const"}):
            raise SchemaNotCompilable(f"{name}: only an enum or const of strings or of integers is rendered")
        return Literal[tuple(values)]


_KNOWN = {"$ref", "enum", "const", "type", "properties", "required", "additionalProperties", "propertyNames",
          "items", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "minimum", "maximum",
          "multipleOf"}


def allowed_values(root: dict[str, Any], schema: dict[str, Any], name: str, values: Collection[Any]) -> tuple[Any, ...]:
    """Those of ``values`` that ``schema`` accepts, each decoded to itself: what a narrowing folds into a field."""
    return _accepted(_Compiler(root).render(schema, name), values)


def _accepted(compiled: Any, values: Collection[Any]) -> tuple[Any, ...]:
    """The values (strings or integers) that ``compiled`` accepts, each decoded to itself."""
    plain = tuple(values) if {str} >= set(map(type, values)) else tuple(
        value for value in values if type(value) in (str, int))
    try:
        if msgspec.convert(plain, tuple[compiled, ...], strict=True) == plain:
            return plain
    except msgspec.ValidationError:
        pass
    return tuple(value for value in plain if _accepts(compiled, value))


def _plain(compiled: Any) -> bool:
    """Whether ``compiled`` decodes to strings or integers only (``str``, ``int``, constrained, or a Literal)."""
    if get_origin(compiled) is Annotated:
        compiled = get_args(compiled)[0]
    if get_origin(compiled) is Literal:
        return all(type(value) in (str, int) for value in get_args(compiled))
    return compiled in (str, int)


def _copy(value: Any) -> Any:
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass") if type(value) is str else value


def _accepts(compiled: Any, value: Any) -> bool:
    try:
        return bool(msgspec.convert(value, compiled, strict=True) == value)
    except msgspec.ValidationError:
        return False


def _constrained(base: Any, **constraints: Any) -> Any:
    given = {key: value for key, value in constraints.items() if value is not None}
    return Annotated[base, msgspec.Meta(**given)] if given else base
