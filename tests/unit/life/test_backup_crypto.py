"""Backups encrypted at rest: chunks, key ids, rotation, a wrong key, a cut or altered object."""

from __future__ import annotations

import base64
import io
import os

import pytest

from hosting.backups.crypto import CHUNK_BYTES, BackupKeys, decrypt, encrypt
from hosting.errors import HphostError


def _keys(*ids: str, current: str | None = None) -> BackupKeys:
    return BackupKeys.parse(",".join(f"{i}=" + base64.b64encode(os.urandom(32)).decode() for i in ids), current)


def _sealed(data: bytes, keys: BackupKeys) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, keys.current, keys.keys[keys.current])
    return out.getvalue()


def _opened(sealed: bytes, keys: BackupKeys) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(sealed), out, keys, "backups/x/base.HHYP.enc")
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 5])
def test_a_backup_opens_to_its_bytes_and_holds_none_in_clear(size):
    keys = _keys("k1")
    data = (b"Dupont Marie mdupont " * (size // 21 + 1))[:size]
    sealed = _sealed(data, keys)
    assert _opened(sealed, keys) == data
    assert size < 21 or b"Dupont Marie" not in sealed


def test_a_key_rotated_out_of_current_still_opens_old_backups():
    old = _keys("k1")
    sealed = _sealed(b"rows", old)
    rotated = BackupKeys({"k2": os.urandom(32), **old.keys}, "k2")
    assert _opened(sealed, rotated) == b"rows"
    assert _sealed(b"new", rotated)[6:8] == b"k2"  # new backups name the new key


def test_a_wrong_key_and_an_unknown_key_are_refused_with_their_codes():
    sealed = _sealed(b"rows" * 1000, _keys("k1"))
    for keys, code in ((_keys("k1"), "BACKUP_KEY_WRONG"), (_keys("k9"), "BACKUP_KEY_UNKNOWN")):
        with pytest.raises(HphostError) as refused:
            _opened(sealed, keys)
        assert refused.value.code == code and refused.value.where["key_id"] == "k1"


def test_an_object_cut_at_a_chunk_boundary_or_altered_is_refused():
    keys = _keys("k1")
    data = os.urandom(2 * CHUNK_BYTES + 10)
    sealed = _sealed(data, keys)
    chunk = CHUNK_BYTES + 16 + 4
    header = len(sealed) - (2 * chunk + 10 + 16 + 4)
    for broken, code in ((sealed[:header + chunk], "BACKUP_KEY_WRONG"),  # the last chunk dropped
                         (sealed[:-3], "BACKUP_CORRUPT"),
                         (sealed[:100] + bytes([sealed[100] ^ 1]) + sealed[101:], "BACKUP_KEY_WRONG"),
                         (b"PK\x03\x04" + sealed[4:], "BACKUP_CORRUPT")):
        with pytest.raises(HphostError) as refused:
            _opened(broken, keys)
        assert refused.value.code == code


@pytest.mark.parametrize("text", ["k1", "k1=short", "=" + "A" * 43 + "=", ""])
def test_bad_key_settings_are_refused_without_their_value(text):
    with pytest.raises(HphostError) as refused:
        BackupKeys.parse(text)
    assert refused.value.code == "BACKUP_KEY_INVALID" and "short" not in refused.value.message
