"""Sealing one-time credentials (generated passwords) until the operator reads them once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from hosting.errors import PermanentError

if TYPE_CHECKING:
    from config.settings import Settings


class SealBroken(PermanentError):
    """A sealed credential cannot be opened with this installation's secret key."""

    code = "SEAL_BROKEN"


def secret_key(settings: Settings) -> bytes:
    """The Fernet key: ``HPHOST_SECRET_KEY``, or one generated once into the home directory."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = Path(settings.home) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
    return path.read_bytes().strip()


class Sealer:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    def seal(self, clear: str) -> str:
        return self._fernet.encrypt(clear.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealBroken() from None
