"""The audit's hash chain on SQLite: sealed at commit, and an edit, a deletion or a row inserted by hand named."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hosting import audit
from hosting.audit_chain import GENESIS, verify


@pytest.fixture
def chained(db):
    for n in range(5):
        with db.transaction() as session:
            audit.record(session, "test.event", actor="test", n=n)
            audit.record(session, "test.other", actor="test", n=n, note="é")
    return db


def rows(db):
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT id, chain_pos, prev_hash, row_hash FROM audit_events ORDER BY id")).all()


def test_rows_are_chained_in_commit_order_and_verify(chained):
    found = rows(chained)
    assert [r.chain_pos for r in found] == list(range(1, 11))
    assert found[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.row_hash for earlier, later in zip(found, found[1:], strict=False))
    with chained.transaction() as session:
        report = verify(session)
    assert report.ok and report.rows == 10 and report.broken_id is None


def test_a_rolled_back_transaction_leaves_no_gap(chained):
    with pytest.raises(RuntimeError), chained.transaction() as session:
        audit.record(session, "test.lost", actor="test")
        session.flush()
        raise RuntimeError("rolled back")
    with chained.transaction() as session:
        audit.record(session, "test.after", actor="test")
    with chained.transaction() as session:
        assert verify(session).ok


@pytest.mark.parametrize("tamper, reason", [
    ("UPDATE audit_events SET data = '{\"n\": 99}' WHERE chain_pos = 4", "edited"),
    ("UPDATE audit_events SET actor = 'someone else' WHERE chain_pos = 4", "edited"),
    ("DELETE FROM audit_events WHERE chain_pos = 4", "deleted"),
])
def test_the_first_broken_row_is_named(chained, tamper, reason):
    target = rows(chained)[3]
    with chained.engine.begin() as conn:
        conn.execute(text(tamper))
    with chained.transaction() as session:
        report = verify(session)
    assert not report.ok and reason in (report.reason or "")
    assert report.broken_id == (target.id if reason == "edited" else rows(chained)[3].id)


def test_a_row_inserted_by_hand_is_outside_the_chain(chained):
    with chained.engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_events (at, actor, action, data) VALUES "
                          "('2026-01-01 00:00:00', 'forger', 'job.succeeded', '{}')"))
    with chained.transaction() as session:
        report = verify(session)
    assert not report.ok and "inserted by hand" in (report.reason or "")
