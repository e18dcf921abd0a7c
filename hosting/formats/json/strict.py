"""Strict JSON for the formats: at most :data:`MAX_DEPTH` levels (fixed: ``json`` and msgspec raise
``RecursionError`` at a depth that depends on the caller's stack, and a document must get the same
code everywhere), no NaN, no lone surrogate, and where a NUL hides. A valid document nests 4 levels."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from hosting.formats.json.schema import field_path

MAX_DEPTH = 64
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # \uD800 to \uDFFF
NUL_ESCAPE = b"\\u0000"  # the one way JSON text holds U+0000 (a raw control character is not JSON)
# A JSON string (an unterminated one runs to the end): its brackets are text, not structure.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_NOT_VALUE_MARKS = bytes(byte for byte in range(256) if byte not in b",:[")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class NotJson(ValueError):
    """Why a document is not JSON the formats accept; ``too_deep`` when it nests past :data:`MAX_DEPTH`."""

    def __init__(self, reason: str, *, too_deep: bool = False, field: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.too_deep = too_deep
        self.field = field  # where in the document, when the text parsed but a value is not JSON the formats take


def loads(data: bytes | bytearray) -> Any:
    """``data`` parsed as the formats' JSON, the depth asked before anything recurses; raises :class:`NotJson`."""
    if deeper_than(data):
        raise NotJson(f"nests more than {MAX_DEPTH} levels", too_deep=True)
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=refuse_constant)
    except UnicodeDecodeError:
        raise NotJson("not UTF-8") from None
    except ValueError as exc:
        raise NotJson(str(exc)) from None
    field = _first_string_at(value, lone_surrogate) if may_hold_lone_surrogate(data) else None
    if field is not None:
        raise NotJson("a \\u escape is half of a UTF-16 surrogate pair, not a character", field=field)
    return value


def may_hold_lone_surrogate(data: bytes | bytearray) -> bool:
    """Whether ``data`` has a ``\\uD800``-``\\uDFFF`` escape (one of a pair, or alone, or text after ``\\\\``)."""
    return _SURROGATE_ESCAPE.search(data) is not None


def refuse_constant(name: str) -> None:
    """``parse_constant`` for ``json.loads``: NaN, Infinity and -Infinity are not JSON."""
    raise ValueError(f"{name} is not JSON")


def deeper_than(data: bytes | bytearray, limit: int = MAX_DEPTH) -> bool:
    """Whether ``data`` (JSON text, valid or not) opens more than ``limit`` arrays or objects at once;
    brackets in strings do not count."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def values_more_than(data: bytes | bytearray, limit: int) -> bool:
    """Whether ``data`` (JSON text, valid or not) may hold more than ``limit`` values: an upper bound
    counted on the ``,``, ``:`` and ``[`` outside strings."""
    if len(data.translate(None, _NOT_VALUE_MARKS)) < limit:
        return False
    return len(_STRING.sub(b"", data).translate(None, _NOT_VALUE_MARKS)) >= limit


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether a decoded value holds more than ``limit`` containers inside one another (no recursion)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, dict | list)]
    return bool(level)


def may_hold_nul(data: bytes | bytearray) -> bool:
    """Whether ``data`` has a ``\\u0000`` escape (or text after ``\\\\`` that looks like one); a backslash
    is searched first, being faster."""
    return b"\\" in data and NUL_ESCAPE in data


def nul_at(value: Any) -> str | None:
    """Where the first string holding U+0000 is (for a key, its object), or None: PostgreSQL stores no NUL."""
    return _first_string_at(value, _holds_nul)


def _first_string_at(value: Any, bad: Callable[[str], bool]) -> str | None:
    """Where the first string (or key: then its object) that is ``bad`` is, in document order."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if bad(item):
                return field_path(path)
        elif isinstance(item, dict):
            if any(map(bad, item)):
                return field_path(path)
            stack.extend(reversed([(child, (*path, key)) for key, child in item.items()]))
        elif isinstance(item, list):
            stack.extend(reversed([(child, (*path, index)) for index, child in enumerate(item)]))
    return None


def _holds_nul(text: str) -> bool:
    return "\x00" in text


def lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds half of a surrogate pair, which has no UTF-8 form."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
