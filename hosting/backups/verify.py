"""Reading a backup back: decrypt each object, check its digests, and the ``.HHYP`` reader's every rule."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from config.limits import Limits
from hosting.backups.crypto import BackupKeys, decrypt
from hosting.errors import PermanentError
from hosting.store.base import ObjectStore

HHYP, PROFILS = "base.HHYP", "users.profils"


class BackupDamaged(PermanentError):
    """Backup object {key} does not match what was recorded ({detail})."""

    code = "BACKUP_DAMAGED"


def decrypt_to(store: ObjectStore, keys: BackupKeys, entry: dict[str, Any], target: BinaryIO) -> None:
    """Decrypt one recorded backup object into ``target``, checking both digests on the way."""
    key = entry["key"]
    with store.open_read(key) as source:
        hashing = _Hashing(source)
        decrypt(hashing, _HashingWriter(target, plain := hashlib.sha256()), keys, key)
    for what, digest, expected in (("encrypted", hashing.digest, entry["sha256"]),
                                   ("clear", plain, entry.get("plain_sha256"))):
        if expected is not None and digest.hexdigest() != expected:
            raise BackupDamaged(key=key, detail=f"{what} SHA-256 differs", where={"key": key})


def verify_backup(store: ObjectStore, keys: BackupKeys, objects: dict[str, Any], *, hosting_number: str,
                  limits: Limits) -> dict[str, Any]:
    """Read the backup back whole; what the reader found (rows per table, users)."""
    from hosting.formats.hhyp.reader import HhypReader
    from hosting.formats.profils.file import read_profils

    with tempfile.TemporaryDirectory(prefix="hphost-verify-") as folder:
        hhyp, profils = Path(folder) / HHYP, Path(folder) / PROFILS
        with hhyp.open("wb") as out:
            decrypt_to(store, keys, objects[HHYP], out)
        with HhypReader(hhyp, expected_hosting_number=hosting_number, limits=limits) as reader:
            summary = reader.check()
        with profils.open("wb") as out:
            decrypt_to(store, keys, objects[PROFILS], out)
        users = len(read_profils(profils, limits=limits).users)
    return {"rows": summary.rows, "entries": summary.entries, "users": users}


class _Hashing:
    def __init__(self, stream: BinaryIO):
        self._stream, self.digest = stream, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.digest.update(data)
        return data


class _HashingWriter:
    def __init__(self, stream: BinaryIO, digest: Any):
        self._stream, self._digest = stream, digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return self._stream.write(data)
