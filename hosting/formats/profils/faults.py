"""The first fault of a large refused ``.profils``, found by msgspec without building the document.

Past :data:`SLOW_PATH_VALUES` values or :data:`SLOW_PATH_BYTES` bytes the slow path (json, then
jsonschema) would cost gigabytes or minutes; the codes and places stay the slow path's."""

from __future__ import annotations

import codecs
import re
from functools import cache

import msgspec

from hosting.formats.errors import FormatError
from hosting.formats.errors import profils as p
from hosting.formats.json.compiled import decoder, msgspec_fault
from hosting.formats.json.strict import MAX_DEPTH

SLOW_PATH_VALUES = 16_384
SLOW_PATH_BYTES = 4 << 20
_UTF8_CHUNK_BYTES = 1 << 20
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(.*)`", re.DOTALL)
_MISSING_FIELD = re.compile(r"Object missing required field `(.*)`", re.DOTALL)
_ENUM_VALUE = re.compile(r"Invalid enum value '(.*)'", re.DOTALL)


class _Top(msgspec.Struct, forbid_unknown_fields=False):
    """The top level only: every other value is skipped, not built."""

    format: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    version: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


def too_large_for_slow_path(data: bytes | bytearray) -> bool:
    """Whether the slow path could cost more than the file (every value follows a ``,``, ``:`` or ``[``)."""
    if len(data) > SLOW_PATH_BYTES:
        return True
    return data.count(b",") + data.count(b":") + data.count(b"[") > SLOW_PATH_VALUES


def first_fault(data: bytes | bytearray, *, format_name: str, supported_version: int) -> FormatError | None:
    """The fault of ``data`` as msgspec finds it first; None when the strict type takes the document."""
    if not _is_utf8(data):
        return p.ProfilsNotJson(reason="not UTF-8", where={"field": ""})
    try:
        msgspec.json.decode(data, type=msgspec.Raw)  # the whole text is JSON (skipped, not built)
        top = msgspec.json.decode(data, type=_Top)
    except RecursionError:
        return p.ProfilsTooDeep(limit=MAX_DEPTH, where={"field": ""})
    except msgspec.ValidationError:  # (a DecodeError too: asked first)
        return p.ProfilsNotJson(reason="not an object", where={"field": ""})
    except msgspec.DecodeError as exc:
        return p.ProfilsNotJson(reason=str(exc), where={"field": ""})
    version = _small_int(top.version)
    if _small_str(top.format) == format_name and version is not None and version > supported_version:
        return p.ProfilsUnsupportedVersion(format=format_name, version=version, where={"field": "version"})
    try:
        _strict().decode(data)
    except RecursionError:
        return p.ProfilsTooDeep(limit=MAX_DEPTH, where={"field": ""})
    except msgspec.ValidationError as exc:
        return _named(*msgspec_fault(exc))
    except msgspec.DecodeError as exc:
        return p.ProfilsNotJson(reason=str(exc), where={"field": ""})
    return None


@cache
def _strict() -> msgspec.json.Decoder[object]:
    return decoder("profils")


def _named(reason: str, field: str) -> FormatError:
    """msgspec's refusal as the slow path's code and place."""
    if unknown := _UNKNOWN_FIELD.fullmatch(reason):
        name = unknown.group(1)
        where = {"field": f"{field}.{name}" if field else name}
        if name == "password" and field.startswith("users["):
            return p.ProfilsClearPassword(where=where)  # (its value is not read, let alone repeated)
        return p.ProfilsUnknownField(name=name, where=where)
    if missing := _MISSING_FIELD.fullmatch(reason):
        name = missing.group(1)
        return p.ProfilsInvalid(reason=f"{name} is required", where={"field": f"{field}.{name}" if field else name})
    if field.endswith(".password_hash"):
        return p.ProfilsUnsupportedHash(where={"field": field})
    if ".rights[" in field and (value := _ENUM_VALUE.fullmatch(reason)):
        return p.ProfilsUnknownRight(right=value.group(1), where={"field": field})
    if _ENUM_VALUE.fullmatch(reason):  # (msgspec quotes the value: it could be a password put in the wrong field)
        reason = "not one of the allowed values"
    return p.ProfilsInvalid(reason=f"{field or 'the document'}: {reason}", where={"field": field})


def _is_utf8(data: bytes | bytearray) -> bool:
    if data.isascii():
        return True
    check = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _UTF8_CHUNK_BYTES):
            check.decode(view[start:start + _UTF8_CHUNK_BYTES])
        check.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _small_int(raw: msgspec.Raw | msgspec.UnsetType) -> int | None:
    value = _small_value(raw, 32)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _small_str(raw: msgspec.Raw | msgspec.UnsetType) -> str | None:
    value = _small_value(raw, 256)
    return value if isinstance(value, str) else None


def _small_value(raw: msgspec.Raw | msgspec.UnsetType, most_bytes: int) -> object:
    """A top-level value of at most ``most_bytes`` bytes, decoded; None for a larger or undecodable one."""
    if raw is msgspec.UNSET or len(raw) > most_bytes:
        return None
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
