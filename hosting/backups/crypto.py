"""Backups encrypted at rest: AES-256-GCM in 1 MiB chunks (the ``cryptography`` package's AESGCM).

An object is ``HPBK1`` | key-id length (1 byte) | key id | 7-byte nonce prefix, then chunks of
``u32 length | ciphertext+tag``. Chunk *i*'s nonce is the prefix, *i* (4 bytes) and a last-chunk flag,
and its associated data the header: a chunk moved, dropped, or a file cut at a chunk boundary fails
its tag. Keys rotate: each object names its key id, and every key of ``HPHOST_BACKUP_KEYS`` still opens.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hosting.errors import PermanentError

if TYPE_CHECKING:
    from config.settings import Settings

MAGIC = b"HPBK1"
CHUNK_BYTES = 1 << 20
_LENGTH = struct.Struct(">I")
KEYS_FILE = "backup.keys"


class Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Writer(Protocol):
    def write(self, data: bytes, /) -> int: ...


class BackupKeyUnknown(PermanentError):
    """Backup {key} was encrypted with key {key_id}, which HPHOST_BACKUP_KEYS does not hold."""

    code = "BACKUP_KEY_UNKNOWN"


class BackupKeyWrong(PermanentError):
    """Backup {key} does not open with key {key_id}: the key is not the one it was made with, or the object
    was altered."""

    code = "BACKUP_KEY_WRONG"


class BackupCorrupt(PermanentError):
    """Backup {key} is not an encrypted hphost backup ({reason})."""

    code = "BACKUP_CORRUPT"


@dataclass(frozen=True)
class BackupKeys:
    """Every key that opens backups, by id; ``current`` encrypts new ones."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, text: str, current: str | None = None) -> BackupKeys:
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key_id, _, encoded = item.partition("=")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if not key_id or len(key_id) > 64 or len(raw) != 32:
                raise BackupKeyInvalid(where={"setting": "HPHOST_BACKUP_KEYS"})
            keys[key_id] = raw
        if not keys or (current is not None and current not in keys):
            raise BackupKeyInvalid(where={"setting": "HPHOST_BACKUP_KEY_ID"})
        return cls(keys, current or next(iter(keys)))

    def key(self, key_id: str, object_key: str) -> bytes:
        if key_id not in self.keys:
            raise BackupKeyUnknown(key=object_key, key_id=key_id, where={"key": object_key, "key_id": key_id})
        return self.keys[key_id]


class BackupKeyInvalid(PermanentError):
    """HPHOST_BACKUP_KEYS must list 'id=base64' keys of 32 bytes, and HPHOST_BACKUP_KEY_ID one of their ids."""

    code = "BACKUP_KEY_INVALID"


def backup_keys(settings: Settings) -> BackupKeys:
    """``HPHOST_BACKUP_KEYS``, or (SQLite installations only: settings refuse a server one) a key generated
    once into the home directory."""
    if settings.backup_keys is not None:
        return BackupKeys.parse(settings.backup_keys.get_secret_value(), settings.backup_key_id)
    path = Path(settings.home) / KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("local1=" + base64.b64encode(os.urandom(32)).decode())
    return BackupKeys.parse(path.read_text(), settings.backup_key_id)


def encrypt(source: Reader, target: Writer, key_id: str, key: bytes) -> None:
    """Encrypt ``source`` to ``target`` (both streams), chunk by chunk."""
    header = MAGIC + bytes([len(key_id.encode())]) + key_id.encode() + os.urandom(7)
    aead, prefix = AESGCM(key), header[-7:]
    target.write(header)
    index, chunk = 0, source.read(CHUNK_BYTES)
    while True:
        following = source.read(CHUNK_BYTES)
        sealed = aead.encrypt(_nonce(prefix, index, last=not following), chunk, header)
        target.write(_LENGTH.pack(len(sealed)) + sealed)
        if not following:
            return
        index, chunk = index + 1, following


def key_id_of(source: Reader, object_key: str) -> tuple[str, bytes]:
    """The key id an encrypted object names, and its header (read from ``source``)."""
    head = source.read(len(MAGIC) + 1)
    if len(head) != len(MAGIC) + 1 or not head.startswith(MAGIC):
        raise BackupCorrupt(key=object_key, reason="no backup header", where={"key": object_key})
    key_id = source.read(head[-1])
    prefix = source.read(7)
    if len(prefix) != 7:
        raise BackupCorrupt(key=object_key, reason="truncated header", where={"key": object_key})
    return key_id.decode("utf-8", "replace"), head + key_id + prefix


def decrypt(source: Reader, target: Writer, keys: BackupKeys, object_key: str) -> str:
    """Decrypt ``source`` into ``target``; the key id used. A wrong key or altered object is refused."""
    key_id, header = key_id_of(source, object_key)
    aead, prefix, index = AESGCM(keys.key(key_id, object_key)), header[-7:], 0
    sealed = _next_chunk(source, object_key)
    while sealed is not None:
        following = _next_chunk(source, object_key)
        try:
            target.write(aead.decrypt(_nonce(prefix, index, last=following is None), sealed, header))
        except InvalidTag:
            raise BackupKeyWrong(key=object_key, key_id=key_id, where={"key": object_key, "key_id": key_id,
                                                                        "chunk": index}) from None
        index, sealed = index + 1, following
    if index == 0:
        raise BackupCorrupt(key=object_key, reason="no data", where={"key": object_key})
    return key_id


def _next_chunk(source: Reader, object_key: str) -> bytes | None:
    length = source.read(_LENGTH.size)
    if not length:
        return None
    size = _LENGTH.unpack(length)[0] if len(length) == _LENGTH.size else -1
    data = source.read(size) if 16 <= size <= CHUNK_BYTES + 16 else b""
    if len(data) != size:
        raise BackupCorrupt(key=object_key, reason="truncated chunk", where={"key": object_key})
    return data


def _nonce(prefix: bytes, index: int, *, last: bool) -> bytes:
    return prefix + struct.pack(">I?", index, last)
