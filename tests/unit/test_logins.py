"""Console login on a real SQLite control DB: lockout, its window, and unknown numbers' cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hosting import logins, passwords
from hosting.db.models import AuditEvent, LoginAttempt, utcnow
from hosting.logins import LOCKOUT_WINDOW, LoginOutcome, console_login
from hosting.plannings import create_hosting

NUMBER, INVOICE = "123456789012", "5550001234"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def password(db) -> str:
    with db.transaction() as session:
        return create_hosting(session, NUMBER, actor="test")


def _login(db, password, *, number=NUMBER, invoice=INVOICE, clock=utcnow) -> LoginOutcome:
    with db.transaction() as session:
        return console_login(session, number, password, invoice, actor="test", source="test", clock=clock)


def _audit(db) -> list[AuditEvent]:
    with db.transaction() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_the_sixth_attempt_is_locked_even_with_the_right_password_and_audited(db, password):
    for _ in range(5):
        assert _login(db, "wrong") is LoginOutcome.REFUSED
    assert _login(db, password) is LoginOutcome.LOCKED
    assert [e.action for e in _audit(db)][-2:] == ["security.login_refused", "security.login_locked"]


def test_the_lock_lifts_when_the_window_passes(db, password):
    clock = Clock()
    for _ in range(5):
        assert _login(db, "wrong", clock=clock) is LoginOutcome.REFUSED
    clock.now += LOCKOUT_WINDOW - timedelta(seconds=1)
    assert _login(db, password, clock=clock) is LoginOutcome.LOCKED
    clock.now += timedelta(seconds=2)
    assert _login(db, password, clock=clock) is LoginOutcome.ACCEPTED
    with db.transaction() as session:  # attempts are kept for the window only (the audit keeps them all)
        assert [a.ok for a in session.scalars(select(LoginAttempt))] == [True]


def test_a_success_starts_the_count_again(db, password):
    for _ in range(4):
        _login(db, "wrong")
    assert _login(db, password) is LoginOutcome.ACCEPTED
    for _ in range(4):
        assert _login(db, "wrong") is LoginOutcome.REFUSED
    assert _login(db, password) is LoginOutcome.ACCEPTED


def test_an_unknown_number_spends_a_verify_of_the_same_cost_and_locks_the_same(db, password, monkeypatch):
    verified: list[str] = []

    def spy(given: str, encoded: str) -> bool:
        verified.append(encoded)
        return passwords.verify_password(given, encoded)

    monkeypatch.setattr(logins, "verify_password", spy)
    assert _login(db, password, number="999999999999") is LoginOutcome.REFUSED
    assert verified == [passwords.dummy_hash()]
    with db.transaction() as session:
        known_hash = session.scalar(select(logins.Hosting.password_hash))
    assert verified[0].split("$")[:4] == known_hash.split("$")[:4]  # scrypt, same n, r, p
    assert _login(db, "typed-in-the-wrong-box", number="not a number") is LoginOutcome.REFUSED
    assert len(verified) == 2
    for _ in range(4):
        _login(db, "wrong", number="999999999999")
    assert _login(db, "wrong", number="999999999999") is LoginOutcome.LOCKED


def test_a_given_invoice_must_be_the_bound_one(db, password):
    assert _login(db, password, invoice=None) is LoginOutcome.REFUSED  # first login: the invoice binds
    assert _login(db, password) is LoginOutcome.ACCEPTED
    assert _login(db, password, invoice=None) is LoginOutcome.ACCEPTED
    assert _login(db, password, invoice="0987654321") is LoginOutcome.REFUSED


def test_no_password_or_invoice_in_audit_rows_or_attempts(db, password):
    _login(db, password)
    _login(db, "wrong-secret")
    _login(db, password, number=password)  # the password typed in the number's place
    with db.transaction() as session:
        attempts = [(a.hosting_number, a.source) for a in session.scalars(select(LoginAttempt))]
    rows = [(e.action, e.hosting_number, e.data, e.actor) for e in _audit(db)]
    assert password not in repr(rows) + repr(attempts)
    assert INVOICE not in repr(rows) + repr(attempts) and "wrong-secret" not in repr(rows)
