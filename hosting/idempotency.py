"""``Idempotency-Key`` of the HTTP API, with the IETF draft's semantics (draft-ietf-httpapi-idempotency-key-header).

The same key with the same request gets the first answer again (replayed); with another request, ``422
IDEMPOTENCY_KEY_MISMATCH``; while the first request with that key is still being handled, ``409
IDEMPOTENCY_KEY_IN_FLIGHT``. A key is taken (committed, ``status`` None) before the work starts and holds the
answer once it is done; a refused request frees its key (nothing was created; the same key may try again).
Keys are kept ``HPHOST_IDEMPOTENCY_TTL_S`` (24 h at least), per hosting.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hosting.db.models import IdempotencyRecord, utcnow
from hosting.db.session import ControlDB
from hosting.errors import Conflict, PermanentError

# A key in flight for this long was left by a replica that died mid-request: the next request takes it over.
ABANDONED_AFTER = timedelta(minutes=5)


class IdempotencyKeyMismatch(PermanentError):
    """Idempotency key {key!r} was already used with a different request; use a new key for a new request."""

    code = "IDEMPOTENCY_KEY_MISMATCH"
    http_status = 422


class IdempotencyKeyInFlight(Conflict):
    """A request with idempotency key {key!r} is still being handled; ask again in a moment."""

    code = "IDEMPOTENCY_KEY_IN_FLIGHT"


@dataclass(frozen=True)
class Replay:
    """The answer first given to the key."""

    status: int
    body: dict[str, Any]


def fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    """What makes two requests the same: method, path and body (canonical JSON)."""
    canonical = json.dumps({"method": method, "path": path, "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def begin(db: ControlDB, scope: str, key: str, request: str, *, ttl: timedelta,
          now: datetime | None = None) -> Replay | None:
    """Take the key for this request (None: go ahead), or the answer to replay; refusals as above."""
    moment = now or utcnow()
    try:
        with db.transaction() as session:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= moment))
            session.add(IdempotencyRecord(scope=scope, key=key, fingerprint=request, created_at=moment,
                                          expires_at=moment + ttl))
        return None
    except IntegrityError:
        pass  # the key is known: the row decides
    with db.transaction() as session:
        row = session.scalars(select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key).with_for_update()).first()
        if row is None:  # expired and purged in between: take it
            session.add(IdempotencyRecord(scope=scope, key=key, fingerprint=request, created_at=moment,
                                          expires_at=moment + ttl))
            return None
        if row.fingerprint != request:
            raise IdempotencyKeyMismatch(key=key, where={"idempotency_key": key})
        if row.status is not None:
            return Replay(row.status, row.response or {})
        if row.created_at > moment - ABANDONED_AFTER:
            raise IdempotencyKeyInFlight(key=key, where={"idempotency_key": key})
        row.created_at, row.expires_at = moment, moment + ttl  # abandoned: this request takes it over
        return None


def finish(db: ControlDB, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
    """Keep the answer given, to replay."""
    with db.transaction() as session:
        row = session.scalars(select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)).first()
        if row is not None:
            row.status, row.response = status, body


def release(db: ControlDB, scope: str, key: str) -> None:
    """Free the key of a refused request (nothing was created)."""
    with db.transaction() as session:
        session.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key, IdempotencyRecord.status.is_(None)))
