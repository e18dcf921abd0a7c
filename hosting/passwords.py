"""Password hashes (scrypt) and generated passwords. Clear passwords are never stored."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import string

_N, _R, _P = 2**14, 8, 1
_ALPHABET = string.ascii_letters + string.digits


def generate_password(length: int = 14) -> str:
    """A random password of ``length`` letters and digits (the console sends 14 by SMS)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


# A generated password carries ~83 bits of entropy: key stretching adds nothing
# there, and a cheaper cost keeps a 25,000-user .profils fast to assign.
_N_GENERATED = 2**10


def hash_password(password: str, *, generated: bool = False) -> str:
    n = _N_GENERATED if generated else _N
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=_R, p=_P, dklen=32)
    return f"scrypt${n}${_R}${_P}${_b64(salt)}${_b64(digest)}"


@functools.cache
def dummy_hash() -> str:
    """A hash of the console passwords' cost that no password matches: unknown accounts cost as much.

    Random bytes in place of a digest: making it costs no scrypt, so a fresh process's first
    unknown account costs one scrypt, as a known one does.
    """
    return f"scrypt${_N}${_R}${_P}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
