"""The .profils rules, each with its own code and place; a clear password is never echoed."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from config.limits import Limits
from hosting.errors import NotFound
from hosting.formats.errors import FormatError
from hosting.formats.profils.file import RIGHTS, Profils, read_profils, write_profils

SAMPLES = Path(__file__).parents[2] / "samples"
SCRYPT = "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGk="
PBKDF2 = "pbkdf2_sha256$600000$salt$aGFzaGhhc2hoYXNoaGFzaA=="
DOCUMENT: dict[str, Any] = {
    "format": "HYPERPLANNING-PROFILS", "version": 1, "exported_at": "2026-09-01T08:00:00+02:00",
    "profiles": [{"name": "Secrétariat pédagogique", "rights": ["courses.read", "courses.edit", "rooms.book"]},
                 {"name": "Consultation", "rights": ["courses.read"]}],
    "users": [{"login": "mdupont", "last_name": "Dupont", "first_name": "Marie", "email": "marie@example.edu",
               "status": "user", "profiles": ["Secrétariat pédagogique"], "password_hash": SCRYPT},
              {"login": "p.martin", "last_name": "Martin", "first_name": "Paul", "profiles": ["consultation"],
               "password_hash": PBKDF2},
              {"login": "admin_1", "last_name": "Admin", "first_name": "Root", "status": "superadministrator",
               "profiles": []}],
}


def profils_bytes(change=None) -> bytes:
    document = copy.deepcopy(DOCUMENT)
    if change is not None:
        change(document)
    return json.dumps(document, ensure_ascii=False).encode()


def refused(data: bytes, code: str, *, limits: Limits | None = None) -> FormatError:
    with pytest.raises(FormatError) as caught:
        read_profils(io.BytesIO(data), **({"limits": limits} if limits else {}))
    assert caught.value.code == code, f"{caught.value.code}: {caught.value.message} {caught.value.where}"
    return caught.value


def test_the_independent_sample_is_accepted() -> None:
    profils = read_profils(SAMPLES / "small.profils")
    assert [profile.name for profile in profils.profiles] == ["Secrétariat pédagogique", "Consultation"]
    assert len(profils.users) == 12
    assert profils.users[0].profiles == ("Secrétariat pédagogique",)


def test_a_valid_document_is_read_with_defaults() -> None:
    profils = read_profils(io.BytesIO(profils_bytes()))
    assert profils.users[1].status == "user"
    assert profils.users[1].email is None
    assert profils.users[0].password_hash == SCRYPT
    assert profils.profiles[0].rights == ("courses.read", "courses.edit", "rooms.book")


def test_what_only_the_schema_accepts_is_read_the_same_way() -> None:
    # msgspec, the fast path, refuses version 1.0 where the schema's const 1 takes it: the slow path reads it.
    fast = read_profils(io.BytesIO(profils_bytes()))
    slow = read_profils(io.BytesIO(profils_bytes(lambda document: document.update(version=1.0))))
    assert slow == fast and slow.users[1].status == "user" and slow.users[1].email is None
    assert refused(profils_bytes(lambda document: (document.update(version=1.0),
                                                   document["users"][1].update(login="mdupont"))),
                   "PROFILS_DUPLICATE_LOGIN").where == {"field": "users[1].login"}


def test_writer_and_reader_round_trip(tmp_path: Path) -> None:
    profils = read_profils(io.BytesIO(profils_bytes()))
    path = tmp_path / "users.profils"
    write_profils(path, profils)
    assert read_profils(path) == profils
    assert isinstance(read_profils(path), Profils)


def test_an_unknown_right_is_refused() -> None:
    error = refused(profils_bytes(lambda d: d["profiles"][1]["rights"].append("planes.fly")), "PROFILS_UNKNOWN_RIGHT")
    assert error.where == {"field": "profiles[1].rights[1]"}
    assert "planes.fly" in error.message


def test_every_right_of_the_catalogue_is_known() -> None:
    everything = profils_bytes(lambda d: d["profiles"][0].update(rights=list(RIGHTS)))
    assert len(read_profils(io.BytesIO(everything)).profiles[0].rights) == 14


def test_of_many_faults_the_first_is_reported() -> None:
    # Every user breaks the schema: the operator is sent to the first, not (as jsonschema's best_match
    # would have it) to the last one of thousands.
    def every_status_wrong(document: dict[str, Any]) -> None:
        for user in document["users"]:
            user["status"] = "nope"
    assert refused(profils_bytes(every_status_wrong), "PROFILS_INVALID").where == {"field": "users[0].status"}

    def shallow_and_deep(document: dict[str, Any]) -> None:  # the shallowest fault says most is wrong
        document["users"][1]["status"] = "nope"
        document["exported_at"] = 3
    assert refused(profils_bytes(shallow_and_deep), "PROFILS_INVALID").where == {"field": "exported_at"}


def test_a_duplicate_login_is_refused() -> None:
    error = refused(profils_bytes(lambda d: d["users"].append(dict(d["users"][0]))), "PROFILS_DUPLICATE_LOGIN")
    assert error.where == {"field": "users[3].login"}
    assert "users[0]" in error.message


def test_logins_cannot_differ_by_case_alone() -> None:
    # The schema allows lower case only, so "MDupont" cannot sneak in beside "mdupont".
    def shout(document: dict[str, Any]) -> None:
        document["users"].append({**document["users"][0], "login": "MDupont"})

    error = refused(profils_bytes(shout), "PROFILS_INVALID")
    assert error.where == {"field": "users[3].login"}


def test_a_duplicate_profile_is_refused_case_folded() -> None:
    def twin(document: dict[str, Any]) -> None:
        document["profiles"].append({"name": "SECRÉTARIAT PÉDAGOGIQUE", "rights": []})

    error = refused(profils_bytes(twin), "PROFILS_DUPLICATE_PROFILE")
    assert error.where == {"field": "profiles[2].name"}


def test_a_clear_password_is_refused_and_never_repeated() -> None:
    secret = "Tr0ub4dor&3-horse-battery"
    error = refused(profils_bytes(lambda d: d["users"][1].update(password=secret)), "PROFILS_CLEAR_PASSWORD")
    assert error.where == {"field": "users[1].password"}
    assert secret not in error.message
    assert secret not in str(error)
    assert secret not in json.dumps(error.to_dict())


def test_a_clear_password_put_in_password_hash_is_not_repeated_either() -> None:
    secret = "hunter2hunter2"
    error = refused(profils_bytes(lambda d: d["users"][0].update(password_hash=secret)), "PROFILS_UNSUPPORTED_HASH")
    assert error.where == {"field": "users[0].password_hash"}
    assert secret not in str(error)


@pytest.mark.parametrize("value", ["md5$abc", "bcrypt$2b$12$abc", "scrypt$16384$8$1$salt", "pbkdf2_sha1$1$s$h",
                                   "$scrypt$", 42, SCRYPT + "\n"])
def test_an_unsupported_hash_is_refused(value: Any) -> None:
    error = refused(profils_bytes(lambda d: d["users"][0].update(password_hash=value)), "PROFILS_UNSUPPORTED_HASH")
    assert error.where == {"field": "users[0].password_hash"}


def test_a_user_given_an_unknown_profile_is_refused() -> None:
    error = refused(profils_bytes(lambda d: d["users"][0]["profiles"].append("Direction")), "PROFILS_UNKNOWN_PROFILE")
    assert error.where == {"field": "users[0].profiles[1]"}


def test_an_unknown_field_is_refused() -> None:
    error = refused(profils_bytes(lambda d: d["users"][2].update(phone="0102030405")), "PROFILS_UNKNOWN_FIELD")
    assert error.where == {"field": "users[2].phone"}
    top = refused(profils_bytes(lambda d: d.update(groups=[])), "PROFILS_UNKNOWN_FIELD")
    assert top.where == {"field": "groups"}


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["users"][0].update(login="Marie Dupont"), "users[0].login"),
    (lambda d: d["users"][0].update(login="x" * 65), "users[0].login"),
    (lambda d: d["users"][0].update(login="mdupont\n"), "users[0].login"),  # "$" is the very end (ECMA-262)
    (lambda d: d["users"][0].update(status="root"), "users[0].status"),
    (lambda d: d["profiles"][0].update(name="n" * 81), "profiles[0].name"),
    (lambda d: d["profiles"][0].update(name=""), "profiles[0].name"),
    (lambda d: d["users"][1].pop("last_name"), "users[1].last_name"),
    (lambda d: d.update(exported_at="hier"), "exported_at"),
    (lambda d: d.update(format="PROFILS"), "format"),
])
def test_a_document_breaking_its_schema_is_refused(change, field: str) -> None:
    error = refused(profils_bytes(change), "PROFILS_INVALID")
    assert error.where == {"field": field}


def test_a_newer_version_is_unsupported() -> None:
    error = refused(profils_bytes(lambda d: d.update(version=2)), "PROFILS_UNSUPPORTED_VERSION")
    assert error.where == {"field": "version"}


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"\xff\xfe", b'{"format": Infinity}'])
def test_not_json_is_refused(data: bytes) -> None:
    error = refused(data, "PROFILS_NOT_JSON")
    assert error.where == {"field": ""}


def test_a_file_over_the_limit_is_refused_without_reading_it_all() -> None:
    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            buffer[:] = b" " * len(buffer)
            self.served += len(buffer)
            return len(buffer)

    source = Endless()
    with pytest.raises(FormatError) as caught:
        read_profils(source, limits=Limits(max_profils_bytes=1 << 20))  # type: ignore[arg-type]
    assert caught.value.code == "PROFILS_TOO_LARGE"
    assert source.served <= (1 << 20) + (1 << 20)


def test_the_default_limit_is_64_mib() -> None:
    assert Limits().max_profils_bytes == 64 << 20
    error = refused(profils_bytes(), "PROFILS_TOO_LARGE", limits=Limits(max_profils_bytes=100))
    assert error.where == {"field": ""}


def test_a_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        read_profils(tmp_path / "missing.profils")


def large(change=None, *, users: int = 20_000) -> bytes:
    """A document past the slow path's budget (profils.faults.SLOW_PATH_VALUES): judged by msgspec alone."""
    def grow(document: dict[str, Any]) -> None:
        document["users"] += [{"login": f"u{index}", "last_name": "N", "first_name": "P", "profiles": []}
                              for index in range(users)]
        if change is not None:
            change(document)
    return profils_bytes(grow)


def test_a_large_valid_document_is_read() -> None:
    assert len(read_profils(io.BytesIO(large())).users) == 20_003


@pytest.mark.parametrize(("change", "code", "field"), [
    (lambda d: d["users"].insert(5, []), "PROFILS_INVALID", "users[5]"),
    (lambda d: d["profiles"][1]["rights"].extend(["nope"] * 30_000), "PROFILS_UNKNOWN_RIGHT", "profiles[1].rights[1]"),
    (lambda d: d["users"][900].update(password="s3cret-Pa55"), "PROFILS_CLEAR_PASSWORD", "users[900].password"),
    (lambda d: d["users"][7].update(phone="01"), "PROFILS_UNKNOWN_FIELD", "users[7].phone"),
    (lambda d: d["users"][8].pop("last_name"), "PROFILS_INVALID", "users[8].last_name"),
    (lambda d: d["users"][9].update(status="s3cret-Pa55"), "PROFILS_INVALID", "users[9].status"),
    (lambda d: d["users"][0].update(password_hash="s3cret-Pa55"), "PROFILS_UNSUPPORTED_HASH", "users[0].password_hash"),
    (lambda d: d.update(version=2), "PROFILS_UNSUPPORTED_VERSION", "version"),
    (lambda d: d.update(groups=[]), "PROFILS_UNKNOWN_FIELD", "groups"),
])
def test_a_large_document_is_refused_at_its_first_fault_with_the_same_codes(change, code: str, field: str) -> None:
    error = refused(large(change), code)
    assert error.where == {"field": field}
    assert "s3cret" not in error.message


@pytest.mark.parametrize("data", [large()[:-1], large() + b"]", b"[" + large() + b"]", large() + b"\xff"])
def test_a_large_document_that_is_no_json_object_is_refused(data: bytes) -> None:
    assert refused(data, "PROFILS_NOT_JSON").where == {"field": ""}


def test_a_large_document_of_one_user_nested_too_deep_is_refused() -> None:
    deep = large(lambda d: d["users"][1].update(profiles=[[[[[[[[]]]]]]]]))
    assert refused(deep, "PROFILS_INVALID").where == {"field": "users[1].profiles[0]"}
