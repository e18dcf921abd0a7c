"""Password hashes: scrypt for chosen passwords, one-iteration PBKDF2 for generated ones, old hashes still verify."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hosting.controller import assign_profils, reveal_credentials
from hosting.db.models import ControllerUser
from hosting.formats.profils.file import Profile, Profils, User, read_profils
from hosting.passwords import dummy_hash, generate_password, hash_generated, hash_password, verify_password
from hosting.plannings import PlanningSettings, create_hosting, create_planning
from hosting.sealing import Sealer

NUMBER = "123456789012"
SAMPLES = Path(__file__).parents[1] / "samples"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_a_generated_password_is_a_one_iteration_pbkdf2_that_verifies():
    password = generate_password()
    encoded = hash_generated(password)
    scheme, iterations, salt, digest = encoded.split("$")
    assert (scheme, iterations) == ("pbkdf2_sha256", "1")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1)
    assert verify_password(password, encoded)
    assert not verify_password(password + "x", encoded)
    assert hash_generated(password) != encoded  # salted: the same password never gives the same hash


def test_a_generated_hash_is_one_the_profils_format_takes(tmp_path):
    """Backups and exports write users' hashes into a .profils: the reader must take ours."""
    document = json.loads((SAMPLES / "small.profils").read_text())
    document["users"][0]["password_hash"] = hash_generated(generate_password())
    path = tmp_path / "users.profils"
    path.write_text(json.dumps(document))
    assert read_profils(path).users[0].password_hash == document["users"][0]["password_hash"]


def test_a_pbkdf2_hash_written_elsewhere_verifies_at_its_own_cost():
    digest = _b64(hashlib.pbkdf2_hmac("sha256", b"s3cret", b"NaCl", 1000))
    assert verify_password("s3cret", f"pbkdf2_sha256$1000$NaCl${digest}")
    assert not verify_password("s3cret", f"pbkdf2_sha256$1001$NaCl${digest}")
    assert not verify_password("s3cret", f"pbkdf2_sha256$99999999999$NaCl${digest}")  # a hostile cost is refused


def test_a_chosen_password_is_stretched_with_scrypt():
    encoded = hash_password("correct horse battery staple")
    assert encoded.split("$")[:4] == ["scrypt", str(2**14), "8", "1"]
    assert verify_password("correct horse battery staple", encoded)
    assert not verify_password("correct horse battery stapler", encoded)


def test_the_cheaper_scrypt_hashes_of_generated_passwords_made_before_still_verify():
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"Abc123def456gh", salt=salt, n=2**10, r=8, p=1, dklen=32)
    old = f"scrypt${2**10}$8$1${_b64(salt)}${_b64(digest)}"
    assert verify_password("Abc123def456gh", old)
    assert not verify_password("Abc123def456gX", old)


@pytest.mark.parametrize("encoded", [
    "", "sha256$AAAA$AAAA", "pbkdf2_sha256", "pbkdf2_sha256$1$salt", "pbkdf2_sha256$x$salt$AAAA",
    "pbkdf2_sha256$0$salt$AAAA", "pbkdf2_sha256$1$$AAAA", "pbkdf2_sha256$1$salt$!!!", "md5$AAAA$AAAA",
    "scrypt$16384$8$1$AAAA", "scrypt$x$8$1$AAAA$AAAA", "pbkdf2_sha256$1$salt$AAAA", dummy_hash(),
])
def test_a_malformed_or_unknown_hash_never_verifies(encoded):
    assert not verify_password("anything", encoded)


def test_generated_hashes_cost_far_less_than_scrypt():
    started = time.perf_counter()
    for _ in range(200):
        hash_generated("Abc123def456gh")
    sha_s = time.perf_counter() - started
    started = time.perf_counter()
    hash_password("Abc123def456gh")
    assert sha_s < time.perf_counter() - started  # 200 one-iteration PBKDF2 < one scrypt at n=2**14


def test_assign_stores_generated_passwords_as_sha256_and_keeps_given_hashes(db):
    given = hash_password("chosen by a person")
    profils = Profils(exported_at=dt.datetime(2026, 8, 31, tzinfo=dt.UTC),
                      profiles=(Profile(name="Enseignants", rights=()),),
                      users=(User(login="anew", last_name="A", first_name="B", profiles=("Enseignants",)),
                             User(login="chose", last_name="C", first_name="D", profiles=("Enseignants",),
                                  password_hash=given)))
    sealer = Sealer(Fernet.generate_key())
    with db.transaction() as session:
        create_hosting(session, NUMBER, actor="test")
        cfg = PlanningSettings(name="EDT", domain="edt.example.org", controller_domain="ctl.example.org")
        planning = create_planning(session, NUMBER, cfg, actor="test")
        report = assign_profils(session, hosting_number=NUMBER, planning_id=planning.id, profils=profils,
                                job_id="job-1", sealer=sealer)
    assert report.passwords_generated == 1
    with db.transaction() as session:
        hashes = {login: hashed for login, hashed in session.execute(
            select(ControllerUser.login, ControllerUser.password_hash))}
        revealed = reveal_credentials(session, "job-1", sealer)
    assert hashes["anew"].startswith("pbkdf2_sha256$1$") and verify_password(revealed["anew"], hashes["anew"])
    assert hashes["chose"] == given and verify_password("chosen by a person", hashes["chose"])
