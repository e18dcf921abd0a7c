"""Console login: credentials, the first login's invoice binding, and the lockout."""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import Hosting, LoginAttempt, utcnow
from hosting.errors import PermanentError
from hosting.passwords import dummy_hash, verify_password
from hosting.plannings import HOSTING_NUMBER, INVOICE_NUMBER

MAX_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
_LOGIN_LOCK_SPACE = 0x6C6F67  # the first key of the two-key advisory locks ("log"): one lock per hosting number


class BadCredentials(PermanentError):
    """Hosting number, password or invoice number is wrong."""

    code = "BAD_CREDENTIALS"


class LoginLocked(PermanentError):
    """Hosting {hosting_number} had too many failed logins in {window_minutes} minutes; try again later."""

    code = "LOGIN_LOCKED"


class LoginOutcome(enum.Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    LOCKED = "locked"


def console_login(session: Session, number: str, password: str, invoice: str | None, *, actor: str,
                  source: str | None = None, clock: Callable[[], datetime] = utcnow) -> LoginOutcome:
    """Check console credentials; the first login binds the paid invoice number.

    Refusals are audited too, so the caller commits whatever the outcome and raises
    ``BadCredentials`` or ``LoginLocked`` after the commit. An unknown number costs
    the same scrypt as a known one, and is locked out the same way.
    """
    now = clock()
    # Anything but 12 digits can never log in, fits no column, and may be a password typed in the wrong place.
    known_form = HOSTING_NUMBER.fullmatch(number) is not None
    recorded_number = number if known_form else None
    if known_form:
        _one_attempt_at_a_time(session, number)
    if known_form and _recent_failures(session, number, now) >= MAX_FAILURES:
        audit.record(session, "security.login_locked", actor=actor, hosting_number=number)
        return LoginOutcome.LOCKED
    hosting = session.get(Hosting, number) if known_form else None
    verified = verify_password(password, hosting.password_hash if hosting is not None else dummy_hash())
    ok = hosting is not None and verified and _invoice_matches(session, hosting, invoice, actor=actor, now=now)
    if known_form:
        session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - LOCKOUT_WINDOW))  # the audit keeps them
        session.add(LoginAttempt(hosting_number=number, at=now, ok=ok, source=source))
    audit.record(session, "security.login" if ok else "security.login_refused", actor=actor,
                 hosting_number=recorded_number)
    return LoginOutcome.ACCEPTED if ok else LoginOutcome.REFUSED


def _invoice_matches(session: Session, hosting: Hosting, invoice: str | None, *, actor: str,
                     now: datetime) -> bool:
    """Bound: a given invoice must be the bound one. Unbound: a well-formed invoice binds."""
    if hosting.invoice_number is not None:
        return invoice is None or hmac.compare_digest(invoice.encode(), hosting.invoice_number.encode())
    if invoice is None or INVOICE_NUMBER.fullmatch(invoice) is None:
        return False
    hosting.invoice_number, hosting.bound_at = invoice, now
    audit.record(session, "hosting.bound", actor=actor, hosting_number=hosting.number)
    return True


def _one_attempt_at_a_time(session: Session, number: str) -> None:
    """Parallel attempts on one number are counted one after the other, not all against the same count."""
    # SQLite's BEGIN IMMEDIATE already serializes writers; an unknown number has no row to lock FOR UPDATE.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                        {"space": _LOGIN_LOCK_SPACE, "key": int(number) % 2**31})


def _recent_failures(session: Session, number: str, now: datetime) -> int:
    """Failures within the window since the last success."""
    since = now - LOCKOUT_WINDOW
    last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.hosting_number == number, LoginAttempt.ok.is_(True), LoginAttempt.at > since))
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.hosting_number == number, LoginAttempt.ok.is_(False),
        LoginAttempt.at > (last_ok if last_ok is not None and last_ok > since else since))) or 0
