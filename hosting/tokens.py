"""Bearer tokens of the HTTP API: service tokens (``hphost token``) and console sessions (``POST /v1/login``).

A token reads ``hph_<id>.<secret>``: the id finds its row, the secret (256 random bits) is checked in
constant time against an HMAC-SHA256 keyed with the installation's secret key. Only that hash is stored,
so the control database alone never yields a usable token.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import ApiToken, Hosting, utcnow
from hosting.errors import InvalidInput, NotFound, PermanentError

PREFIX = "hph_"
_SHAPE = re.compile(r"hph_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})")
_DURATION = re.compile(r"([1-9][0-9]{0,5})([mhd])")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


class Role(enum.StrEnum):
    READER = "reader"  # reads its hosting's plannings, jobs and audit
    WRITER = "writer"  # and acts: configure, enqueue, cancel, retry, reveal credentials
    OPERATOR = "operator"  # every hosting (the dashboard's)


class TokenKind(enum.StrEnum):
    SERVICE = "service"
    CONSOLE = "console"


class Unauthenticated(PermanentError):
    """A valid bearer token is required (Authorization: Bearer <token>); this one is missing, unknown, expired or revoked."""  # noqa: E501

    code = "UNAUTHENTICATED"
    http_status = 401


@dataclass(frozen=True)
class Bearer:
    """Who a valid token speaks for."""

    token_id: str
    kind: TokenKind
    hosting_number: str | None
    role: Role

    @property
    def actor(self) -> str:
        return f"{'console' if self.kind is TokenKind.CONSOLE else 'token'}:{self.token_id}"


def parse_duration(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``30m``; ``never`` is None."""
    if text.strip().lower() == "never":
        return None
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise InvalidInput(field="expires", reason="a duration such as 90d, 12h or 30m, or never",
                           where={"field": "expires"})
    return timedelta(seconds=int(found[1]) * _UNIT_S[found[2]])


def issue(session: Session, key: bytes, *, kind: TokenKind, hosting_number: str | None, role: Role,
          ttl: timedelta | None, actor: str, label: str = "") -> tuple[ApiToken, str]:
    """A new token row and the token itself (shown once; only its hash is kept)."""
    if (role is Role.OPERATOR) != (hosting_number is None):
        raise InvalidInput(field="role", reason="the operator role and no hosting go together", where={"field": "role"})
    if hosting_number is not None and session.get(Hosting, hosting_number) is None:
        raise NotFound(kind="Hosting", ident=hosting_number, where={"hosting_number": hosting_number})
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = ApiToken(id=token_id, kind=kind, hosting_number=hosting_number, role=role, label=label,
                   secret_hash=_digest(key, token_id, secret), created_by=actor,
                   expires_at=utcnow() + ttl if ttl is not None else None)
    session.add(row)
    if kind is TokenKind.SERVICE:  # a console session is audited by its login
        audit.record(session, "token.created", actor=actor, hosting_number=hosting_number, token_id=token_id,
                     role=str(role))
    return row, f"{PREFIX}{token_id}.{secret}"


def authenticate(session: Session, key: bytes, token: str, *, now: datetime | None = None) -> Bearer:
    """Who ``token`` speaks for; ``UNAUTHENTICATED`` for a malformed, unknown, expired or revoked one."""
    found = _SHAPE.fullmatch(token)
    row = session.get(ApiToken, found[1]) if found else None
    expected = row.secret_hash if row is not None else "0" * 64
    matches = hmac.compare_digest(_digest(key, found[1] if found else "", found[2] if found else ""), expected)
    moment = now or utcnow()
    if row is None or not matches or row.revoked_at is not None or (
            row.expires_at is not None and row.expires_at <= moment):
        raise Unauthenticated()
    return Bearer(row.id, TokenKind(row.kind), row.hosting_number, Role(row.role))


def revoke(session: Session, token_id: str, *, actor: str, hosting_number: str | None = None) -> ApiToken:
    """Revoke a token (or end a console session); ``hosting_number`` limits it to that hosting's tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or (hosting_number is not None and row.hosting_number != hosting_number):
        raise NotFound(kind="Token", ident=token_id, where={"token_id": token_id})
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, "token.revoked", actor=actor, hosting_number=row.hosting_number, token_id=token_id)
    return row


def listed(session: Session, *, hosting_number: str | None = None, with_sessions: bool = False) -> list[ApiToken]:
    """Tokens by creation; console sessions only when asked."""
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if hosting_number is not None:
        query = query.where(ApiToken.hosting_number == hosting_number)
    if not with_sessions:
        query = query.where(ApiToken.kind == TokenKind.SERVICE.value)
    return list(session.scalars(query))


def hmac_key(secret_key: bytes) -> bytes:
    """The key of token hashes, derived from the installation's secret key (never the sealing key itself)."""
    return hmac.new(secret_key, b"hphost api tokens", hashlib.sha256).digest()


def _digest(key: bytes, token_id: str, secret: str) -> str:
    return hmac.new(key, f"{token_id}.{secret}".encode(), hashlib.sha256).hexdigest()
