"""The JSON Schemas of the formats (``hosting/formats/schemas/*.json``), the source of truth, and how a
fault is told (:class:`SchemaFault`, whose ``reason`` never repeats the value: it may be a password).
jsonschema is imported on first use: a valid file never needs it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

FaultKind = Literal["unknown_field", "missing_field", "invalid"]


@dataclass(frozen=True)
class SchemaFault:
    """The first thing wrong with an instance, placed by ``field`` (``placement.weeks[2]``)."""

    kind: FaultKind
    field: str
    name: str
    reason: str
    keyword: str
    path: tuple[str | int, ...] = ()


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.json`` shipped with the package."""
    text = (resources.files("hosting.formats") / "schemas" / f"{name}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# Patterns are ECMA-262: Python's ``$`` matches before a final newline and ``\d`` takes ``"١٢"``, so each is translated.
_ECMA_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_",
                 "s": "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"}
_UNTRANSLATED = set("DWSbB")  # negated classes and word boundaries: not used by the schemas, so not rendered


@cache
def python_regex(pattern: str) -> re.Pattern[str]:
    """The ECMA-262 ``pattern`` of a schema as a Python regex matching exactly the same strings (``$`` as
    ``\\Z``, ``\\d \\w \\s`` as ASCII classes); an untranslated construct raises ValueError."""
    out: list[str] = []
    in_class, at = False, 0
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            escaped = pattern[at + 1:at + 2]
            if escaped in _UNTRANSLATED:
                raise ValueError(f"pattern {pattern!r}: \\{escaped} is not translated to Python")
            if escaped and escaped in _ECMA_CLASSES:
                ranges = _ECMA_CLASSES[escaped]
                out.append(ranges if in_class else f"[{ranges}]")
            else:
                out.append(pattern[at:at + 2])
            at += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            if pattern.startswith(("[]", "[^]"), at):  # (an empty class in ECMA-262, a literal "]" in Python)
                raise ValueError(f"pattern {pattern!r}: a class that opens with ] is not translated to Python")
            in_class = True
        out.append("\\Z" if char == "$" and not in_class else char)
        at += 1
    return re.compile("".join(out))


@cache
def schema_validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    validator_class = _validator_class()
    validator_class.check_schema(schema)
    return validator_class(schema)


@cache
def _validator_class() -> type[Draft202012Validator]:
    """Draft 2020-12, its ``pattern`` keyword read with ECMA-262's meaning (:func:`python_regex`)."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def pattern(validator: Any, value: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string") and not python_regex(value).search(instance):
            yield ValidationError("does not match its pattern")  # (never the value: it may be a secret)

    extended: type[Draft202012Validator] = validators.extend(Draft202012Validator, {"pattern": pattern})
    return extended


def first_fault(name: str, instance: Any, *, kept: Mapping[str, Sequence[int]] | None = None) -> SchemaFault | None:
    """The first fault of ``instance`` against schema ``name``, or None when valid: the shallowest, then the
    first met in the schema's and the document's order (not jsonschema's ``best_match``, a heuristic).
    ``kept`` places it in the original of a pruned document (``{"users": [4, 17]}``, see ``explain``)."""
    errors = schema_validator(name).iter_errors(instance)
    error = min(errors, key=lambda error: len(error.path), default=None)
    return None if error is None else _fault(error, kept or {})


def fault_depth(name: str, instance: Any, under: tuple[str | int, ...]) -> int | None:
    """How many levels below ``under`` the shallowest fault of ``instance`` inside it lies (0: at
    ``under`` itself); None when nothing there is wrong."""
    depths = (len(error.path) - len(under) for error in schema_validator(name).iter_errors(instance)
              if tuple(error.path)[:len(under)] == under)
    return min(depths, default=None)


def field_path(parts: Any) -> str:
    """``("placement", "weeks", 2)`` → ``placement.weeks[2]``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _fault(error: ValidationError, kept: Mapping[str, Sequence[int]]) -> SchemaFault:
    base = list(error.absolute_path)
    if len(base) > 1 and base[0] in kept:
        base[1] = kept[str(base[0])][int(base[1])]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        extra = sorted(key for key in error.instance if key not in known)[0]
        return SchemaFault("unknown_field", field_path([*base, extra]), extra, f"unknown field {extra}",
                           "additionalProperties", (*base, extra))
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [key for key in error.validator_value if key not in error.instance][0]
        return SchemaFault("missing_field", field_path([*base, missing]), missing, f"{missing} is required",
                           "required", (*base, missing))
    name = str(base[-1]) if base else ""
    where = field_path(base) or "the document"
    return SchemaFault("invalid", field_path(base), name, f"{where} {_rule(error)}", str(error.validator), tuple(base))


def _rule(error: ValidationError) -> str:
    """What the value should have been, in words, without echoing it."""
    keyword, value = error.validator, error.validator_value
    rules = {
        "type": lambda: f"must be of type {value if isinstance(value, str) else ' or '.join(value)}",
        "enum": lambda: "must be one of " + ", ".join(map(str, value)),
        "const": lambda: f"must be {json.dumps(value)}",
        "minimum": lambda: f"must be at least {value}",
        "maximum": lambda: f"must be at most {value}",
        "multipleOf": lambda: f"must be a multiple of {value}",
        "minLength": lambda: f"must have at least {value} character(s)",
        "maxLength": lambda: f"must have at most {value} characters",
        "pattern": lambda: f"does not match the pattern {value}",
        "minItems": lambda: f"must have at least {value} item(s)",
        "maxItems": lambda: f"must have at most {value} items",
        "uniqueItems": lambda: "must not repeat an item",
        "propertyNames": lambda: "has a key that is not allowed",
    }
    return rules.get(str(keyword), lambda: f"breaks the rule {keyword}")()
