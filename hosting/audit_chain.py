"""Tamper-evident audit: one global hash chain over the audit rows, sealed as each transaction commits.

Each row stores its place in the chain (``chain_pos``: 1, 2, 3... with no gap), the hash of the row before
it (``prev_hash``) and the SHA-256 of its own content with that previous hash (``row_hash``). Editing a row
breaks its own hash; deleting one leaves a gap in the positions; inserting one by hand leaves it outside the
chain. ``verify`` walks the chain and names the first broken row.

One global chain rather than one per hosting: many rows belong to no hosting (operator logins, sweeps), and
one order proves every row's place against every other's. Rows are sealed in ``before_commit``, after all of
the transaction's row locks are held: the chain's lock (a PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE
already serializes writers) is always the last one taken, held only for the few statements of the seal, so it
can wait for no other lock and deadlock with nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from hosting.audit import _PENDING as PENDING_KEY
from hosting.db.models import AuditEvent

GENESIS = "0" * 64
_LOCK = 0x687068  # the chain's advisory lock key ("hph")
BATCH = 5000


def content_hash(row: AuditEvent, prev_hash: str) -> str:
    body = {"id": row.id, "pos": row.chain_pos, "at": row.at.astimezone(UTC).isoformat(), "actor": row.actor,
            "action": row.action, "job_id": row.job_id, "stage": row.stage, "planning_id": row.planning_id,
            "hosting_number": row.hosting_number, "data": row.data, "prev": prev_hash}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@event.listens_for(Session, "before_commit")
def _seal(session: Session) -> None:
    rows = [row for row in session.info.get(PENDING_KEY, []) if row.chain_pos is None]
    if not rows:
        return
    session.flush()  # ids and defaults (``at``) first
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    last = session.execute(select(AuditEvent.chain_pos, AuditEvent.row_hash)
                           .where(AuditEvent.chain_pos.is_not(None))
                           .order_by(AuditEvent.chain_pos.desc()).limit(1)).first()
    pos, prev = (last[0] or 0, last[1] or GENESIS) if last else (0, GENESIS)
    for row in sorted(rows, key=lambda r: r.id):
        pos += 1
        row.chain_pos, row.prev_hash = pos, prev
        row.row_hash = prev = content_hash(row, prev)


@dataclass
class ChainReport:
    ok: bool
    rows: int  # rows of the chain walked
    before_chain: int  # rows older than the chain (written before it existed)
    broken_id: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "before_chain": self.before_chain, "broken_id": self.broken_id,
                "reason": self.reason}


def _check(row: AuditEvent, pos: int, prev: str) -> str | None:
    if row.chain_pos != pos:
        return f"position {row.chain_pos} where {pos} was expected: a row before it was deleted"
    if row.prev_hash != prev:
        return "its previous hash is not the row before it's: a row before it was changed or replaced"
    if content_hash(row, prev) != row.row_hash:
        return "its content does not match its hash: the row was edited"
    return None


def verify(session: Session) -> ChainReport:
    """Walk the whole chain in order; the first broken row and why, or ok."""
    first_id = session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.chain_pos.is_not(None)))
    outside = select(AuditEvent.id).where(AuditEvent.chain_pos.is_(None))
    before = session.scalar(select(func.count()).select_from(outside.where(AuditEvent.id < (first_id or 0))
                                                             .subquery())) or 0
    stray = session.scalar(outside.where(AuditEvent.id > (first_id or 0)).order_by(AuditEvent.id).limit(1))
    pos, prev, walked = 1, GENESIS, 0
    while True:
        batch = list(session.scalars(select(AuditEvent).where(AuditEvent.chain_pos >= pos)
                                     .order_by(AuditEvent.chain_pos).limit(BATCH)))
        for row in batch:
            reason = _check(row, pos, prev)
            if reason is not None:
                return ChainReport(False, walked, before, row.id, reason)
            pos, prev, walked = pos + 1, row.row_hash or "", walked + 1
        if len(batch) < BATCH:
            break
    if stray is not None and first_id is not None:
        return ChainReport(False, walked, before, stray, "the row is outside the chain: it was inserted by hand")
    return ChainReport(True, walked, before if first_id is not None else 0)


def record_verification(session: Session, report: ChainReport, *, actor: str) -> None:
    """The verification's result, as an audit row (itself chained): the dashboard and /metrics read the last."""
    from hosting import audit

    audit.record(session, "audit.verified", actor=actor, **report.as_dict())


def last_verification(session: Session) -> AuditEvent | None:
    return session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.verified")
                           .order_by(AuditEvent.id.desc()).limit(1)).first()
