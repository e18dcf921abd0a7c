"""How deep a JSON document may nest: a fixed limit, the same wherever the document is read.

Python's ``json`` module and msgspec (skipping a value left raw, or decoding one
typed ``Any``) recurse once per level and raise ``RecursionError`` somewhere
near 1,000 levels, a depth that depends on how deep the caller's stack already
is. Unchecked, a 400 KB line of ``[`` crashed the reader with a traceback, and a
document just under that depth could get one code in the CLI and another in a
worker. So a document of the formats (manifest, row, ``.profils``) may nest at
most :data:`MAX_DEPTH` arrays or objects, and a deeper one is refused with its
own code (``HHYP_TOO_DEEP``, ``PROFILS_TOO_DEEP``), whatever the stack:

* a ``RecursionError`` while decoding is a refusal like any other (see
  ``compiled.DECODE_ERRORS``), and sends the document to its slow path;
* a slow path (a refused document, parsed again to name its fault) parses it
  with :func:`loads`, which asks :func:`deeper_than` first, before
  ``json.loads`` can recurse;
* a document that decodes although it nests too deep (up to ~1,000 levels) is
  refused by that same first question, or, for the one value of free shape
  (the manifest's time grid), by :func:`nests_deeper_than`.

A valid document nests 4 levels at most.

:func:`loads` also refuses half of a UTF-16 surrogate pair (``"\\ud800"``): JSON text may escape
one, ``json.loads`` takes it, and the string it makes can be neither UTF-8 encoded nor stored;
msgspec, on the fast paths, refuses it too.
"""

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
    """``data`` parsed as the formats' JSON: UTF-8, no NaN or Infinity, no lone surrogate, at most
    :data:`MAX_DEPTH` levels.

    The slow paths' parse (a document some fast path refused); raises :class:`NotJson`, the depth
    asked first, so that nothing recurses and the answer does not depend on the caller's stack.
    ``json.loads`` lets ``"\\ud800"`` (half of a UTF-16 pair, no character) through as a string no
    UTF-8 encoder takes, where msgspec, the fast paths, and a database refuse it: so does this parse.
    """
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
    """Whether ``data`` (JSON text, valid or not) opens more than ``limit`` arrays or objects at once.

    Linear and without recursion; brackets inside strings do not count.
    """
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def values_more_than(data: bytes | bytearray, limit: int) -> bool:
    """Whether ``data`` (JSON text, valid or not) may hold more than ``limit`` values.

    Every value but the first follows a ``,``, a ``:`` or a ``[``: their count bounds the values (keys
    and strings' own punctuation make it larger, never smaller). Those inside strings are counted
    only when the whole text has too many: a pass over the text, then one over its strings emptied.
    """
    if len(data.translate(None, _NOT_VALUE_MARKS)) < limit:
        return False
    return len(_STRING.sub(b"", data).translate(None, _NOT_VALUE_MARKS)) >= limit


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether a decoded value (dicts and lists) holds more than ``limit`` containers inside one another.

    Walked a level at a time, not by recursion; stops as soon as the answer is known.
    """
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, dict | list)]
    return bool(level)


def may_hold_nul(data: bytes | bytearray) -> bool:
    """Whether ``data`` has a ``\\u0000`` escape (or text after ``\\\\`` that looks like one).

    A search for a backslash first: one byte is found ten times faster than six, and most files have none.
    """
    return b"\\" in data and NUL_ESCAPE in data


def nul_at(value: Any) -> str | None:
    """Where the first string holding U+0000 is (for a key, its object); None when none does.

    JSON may hold it (``"\\u0000"``), but no database stores it: PostgreSQL refuses it in ``text``
    and in ``jsonb``. A reader that said valid would let a stage fail later, so the readers refuse it.
    """
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
