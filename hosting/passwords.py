"""Password hashes and generated passwords. Clear passwords are never stored.

Passwords people choose are stretched with scrypt. A generated password carries ~83 bits of
entropy, which no guessing gets through: it is stored as PBKDF2-HMAC-SHA256 with one iteration (a
salted SHA-256 in a scheme the .profils format knows, so backups and exports carry it), and assigning a
25,000-user .profils costs no key stretching. Both schemes of the format verify, whoever wrote them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import string

_N, _R, _P = 2**14, 8, 1
_ALPHABET = string.ascii_letters + string.digits
PBKDF2 = "pbkdf2_sha256"
GENERATED_ITERATIONS = 1
MAX_PBKDF2_ITERATIONS = 10_000_000  # a hash from an imported file costs one login at most this


def generate_password(length: int = 14) -> str:
    """A random password of ``length`` letters and digits (the console sends 14 by SMS)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def hash_password(password: str) -> str:
    """scrypt, for a password a person chose (or may choose later, as the console's)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def hash_generated(secret: str) -> str:
    """``pbkdf2_sha256$1$salt$digest`` for a high-entropy secret made by us (a generated password)."""
    salt = secrets.token_urlsafe(16)
    return f"{PBKDF2}${GENERATED_ITERATIONS}${salt}${_b64(_pbkdf2(secret, salt, GENERATED_ITERATIONS))}"


@functools.cache
def dummy_hash() -> str:
    """A hash of the console passwords' cost that no password matches: unknown accounts cost as much.

    Random bytes in place of a digest: making it costs no scrypt, so a fresh process's first
    unknown account costs one scrypt, as a known one does.
    """
    return f"scrypt${_N}${_R}${_P}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``: scrypt or pbkdf2_sha256 (Django's layout), of any cost."""
    try:
        scheme, *fields = encoded.split("$")
        if scheme == "scrypt":
            n, r, p, salt, digest = fields
            expected = base64.b64decode(digest, validate=True)
            actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt, validate=True),
                                    n=int(n), r=int(r), p=int(p), dklen=len(expected))
        elif scheme == PBKDF2:
            iterations, salt, digest = fields
            if not 0 < int(iterations) <= MAX_PBKDF2_ITERATIONS or not salt:
                return False
            expected = base64.b64decode(digest, validate=True)
            actual = _pbkdf2(password, salt, int(iterations), len(expected))
        else:
            return False
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        return False
    return hmac.compare_digest(actual, expected)


def _pbkdf2(secret: str, salt: str, iterations: int, length: int = 32) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), iterations, length or None)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
