"""``.profils`` v1: the users of a base and their authorisations, read and written.

``read_profils(source)`` returns a :class:`Profils` once every rule of FORMATS.md holds, or raises the
``PROFILS_*`` error of the first broken one (never repeating a clear password). A valid file decodes
straight into the schema's compiled type; a refused one goes the slow way, which names the fault."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from config.limits import DEFAULT_LIMITS, Limits
from hosting.formats.errors import FormatError, no_such_file
from hosting.formats.errors import profils as p
from hosting.formats.json.compiled import DECODE_ERRORS, conforming_type
from hosting.formats.json.explain import explain
from hosting.formats.json.schema import SchemaFault, load_schema
from hosting.formats.json.strict import (
    MAX_DEPTH,
    NotJson,
    loads,
    may_hold_lone_surrogate,
    may_hold_nul,
    nests_deeper_than,
    nul_at,
    refuse_constant,
)
from hosting.formats.profils.faults import first_fault, too_large_for_slow_path

FORMAT, VERSION = "HYPERPLANNING-PROFILS", 1
RIGHTS: tuple[str, ...] = tuple(load_schema("profils")["$defs"]["right"]["enum"])
_READ_BYTES = 1 << 20


@dataclass(frozen=True)
class Profile:
    name: str
    rights: tuple[str, ...]


@dataclass(frozen=True)
class User:
    login: str
    last_name: str
    first_name: str
    profiles: tuple[str, ...]
    email: str | None = None
    status: str = "user"
    password_hash: str | None = None


@dataclass(frozen=True)
class Profils:
    """A valid ``.profils``: profiles (with rights) and users (with the names of their profiles)."""

    exported_at: dt.datetime
    profiles: tuple[Profile, ...]
    users: tuple[User, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": VERSION, "exported_at": self.exported_at.isoformat(),
            "profiles": [{"name": item.name, "rights": list(item.rights)} for item in self.profiles],
            "users": [_user_dict(user) for user in self.users],
        }


def read_profils(source: str | os.PathLike[str] | BinaryIO, *, limits: Limits = DEFAULT_LIMITS) -> Profils:
    """Read and check a ``.profils`` from a path or a binary stream."""
    return _checked(_bounded_bytes(source, limits.max_profils_bytes))


def checked_profils_bytes(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a ``.profils`` file once they pass every rule: what is stored is what was checked."""
    data = _bounded_bytes(path, limits.max_profils_bytes)
    _checked(data)
    return bytes(data)


def _checked(data: bytes | bytearray) -> Profils:
    profils = _decoded(data)
    if profils is None:  # refused by msgspec: the slow path names the fault (or finds none, 1.0 for 1)
        if too_large_for_slow_path(data):  # (what the strict type takes costs what a valid file costs)
            fault = first_fault(data, format_name=FORMAT, supported_version=VERSION)
            if fault is not None:
                raise fault
        raw = _explained(data, _quick_object(data))
        return _built(raw["exported_at"], raw["profiles"], raw["users"], itemgetter, dict.get)
    return profils


def write_profils(target: str | os.PathLike[str] | BinaryIO, profils: Profils) -> None:
    """Write ``profils`` as a ``.profils`` document (UTF-8 JSON)."""
    data = json.dumps(profils.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
    if isinstance(target, str | os.PathLike):
        Path(target).write_bytes(data)
    else:
        target.write(data)


def _bounded_bytes(source: str | os.PathLike[str] | BinaryIO, limit: int) -> bytearray:
    """The file's bytes, read into one growing buffer (joined blocks would hold them twice at the peak)."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():  # (whatever its name: "folder/" is no misnamed file)
            raise no_such_file(path)
        if not path.name.lower().endswith(".profils"):
            raise p.ProfilsFileName(where={"path": str(path)})
        try:
            with path.open("rb") as stream:
                return _bounded_bytes(stream, limit)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise no_such_file(path, exc) from None
    data = bytearray()
    while len(data) <= limit and (block := source.read(min(_READ_BYTES, limit + 1 - len(data)))):
        data += block
    if len(data) > limit:
        raise p.ProfilsTooLarge(limit=limit, where={"field": ""})
    return data


def _decoded(data: bytes | bytearray) -> Profils | None:
    """The file decoded straight into the schema's compiled type (no dicts on the way); None if refused."""
    compiled = conforming_type("profils")
    if may_hold_nul(data):  # msgspec takes U+0000; the slow path says where it is, if anywhere
        return None
    try:
        document = msgspec.json.decode(data, type=compiled.type)
    except DECODE_ERRORS:
        return None
    if not compiled.lifted_hold([document]):
        return None

    def present(item: Any, key: str, default: Any = None) -> Any:
        value = getattr(item, key)
        return default if value is msgspec.UNSET else value
    return _built(document.exported_at, document.profiles, document.users, attrgetter, present)


def _built(exported_at: str, profiles: Any, users: Any, fields: Any, optional: Any) -> Profils:
    """A :class:`Profils` of valid profiles and users, dicts or structs (``fields`` makes their getter)."""
    profile_of = fields("name", "rights")
    user_of = fields("login", "last_name", "first_name", "profiles")
    built_profiles = tuple(Profile(name, tuple(rights)) for name, rights in map(profile_of, profiles))
    built_users = tuple(
        User(login=login, last_name=last_name, first_name=first_name, profiles=tuple(names),
             email=optional(user, "email"), status=optional(user, "status", "user"),
             password_hash=optional(user, "password_hash"))
        for user, (login, last_name, first_name, names) in zip(users, map(user_of, users), strict=True))
    _check_names(built_profiles, built_users)
    return Profils(_timestamp(exported_at), built_profiles, built_users)


def _quick_object(data: bytes | bytearray) -> dict[str, Any] | None:
    """The document if json.loads makes an object of it and no escape may hide a lone surrogate or U+0000;
    else None, and :func:`_explained` says why."""
    if may_hold_lone_surrogate(data) or may_hold_nul(data):
        return None
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=refuse_constant)
    except (RecursionError, ValueError):  # (UnicodeDecodeError is a ValueError)
        return None
    return raw if isinstance(raw, dict) else None


def _explained(data: bytes | bytearray, parsed: dict[str, Any] | None) -> dict[str, Any]:
    """Raise the first fault of a document msgspec refused (parsed again by the strict ``loads``, so a
    document too deep is refused the same way); return it when only msgspec refuses it."""
    try:
        if parsed is not None and nests_deeper_than(parsed, MAX_DEPTH):
            raise NotJson(f"nests more than {MAX_DEPTH} levels", too_deep=True)
        raw = loads(data) if parsed is None else parsed
    except NotJson as exc:
        if exc.too_deep:
            raise p.ProfilsTooDeep(limit=MAX_DEPTH, where={"field": ""}) from None
        raise p.ProfilsNotJson(reason=exc.reason, where={"field": exc.field}) from None
    if not isinstance(raw, dict):
        raise p.ProfilsNotJson(reason="not an object", where={"field": ""})
    _check_version(raw)
    _check_clear_passwords(raw)
    _check_nul(data, raw)
    fault = explain("profils", raw)
    if fault is not None:
        raise _schema_error(fault, raw)
    return raw


def _check_nul(data: bytes | bytearray, raw: dict[str, Any]) -> None:
    field = nul_at(raw) if may_hold_nul(data) else None
    if field is not None:
        raise p.ProfilsNulCharacter(field=field or "the top", where={"field": field})


def _check_version(raw: dict[str, Any]) -> None:
    version = raw.get("version")
    if raw.get("format") == FORMAT and isinstance(version, int) and not isinstance(version, bool) and version > 1:
        raise p.ProfilsUnsupportedVersion(format=FORMAT, version=version, where={"field": "version"})


def _check_clear_passwords(raw: dict[str, Any]) -> None:
    users = raw.get("users")
    for index, user in enumerate(users if isinstance(users, list) else ()):
        if isinstance(user, dict) and "password" in user:
            raise p.ProfilsClearPassword(where={"field": f"users[{index}].password"})


def _schema_error(fault: SchemaFault, raw: dict[str, Any]) -> FormatError:
    where = {"field": fault.field}
    if fault.kind == "unknown_field":
        return p.ProfilsUnknownField(name=fault.name, where=where)
    if fault.name == "password_hash":
        return p.ProfilsUnsupportedHash(where=where)
    if ".rights[" in fault.field and fault.keyword == "enum":
        _, profile, _, position = fault.path
        return p.ProfilsUnknownRight(right=raw["profiles"][profile]["rights"][position], where=where)
    return p.ProfilsInvalid(reason=fault.reason, where=where)


def _check_names(profiles: tuple[Profile, ...], users: tuple[User, ...]) -> None:
    names = {name.casefold() for _, name in _unique_folded(
        [profile.name for profile in profiles], "profiles", "name", p.ProfilsDuplicateProfile)}
    for index, _ in _unique_folded([user.login for user in users], "users", "login", p.ProfilsDuplicateLogin):
        for position, name in enumerate(users[index].profiles):
            if name.casefold() not in names:
                raise p.ProfilsUnknownProfile(name=name, where={"field": f"users[{index}].profiles[{position}]"})


def _unique_folded(values: list[str], array: str, key: str,
                   duplicate: type[FormatError]) -> Iterator[tuple[int, str]]:
    """Each (position, value), raising ``duplicate`` at the first value equal, case-folded, to an earlier one."""
    first: dict[str, int] = {}
    for index, value in enumerate(values):
        folded = value.casefold()
        if folded in first:
            raise duplicate(**{key: value}, first=first[folded], where={"field": f"{array}[{index}].{key}"})
        first[folded] = index
        yield index, value


def _timestamp(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError:
        raise p.ProfilsInvalid(reason="exported_at is not a real date and time",
                               where={"field": "exported_at"}) from None


def _user_dict(user: User) -> dict[str, Any]:
    data: dict[str, Any] = {"login": user.login, "last_name": user.last_name, "first_name": user.first_name}
    if user.email is not None:
        data["email"] = user.email
    data["status"] = user.status
    if user.password_hash is not None:
        data["password_hash"] = user.password_hash
    data["profiles"] = list(user.profiles)
    return data
