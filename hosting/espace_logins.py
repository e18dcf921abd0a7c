"""Who may open a planning's Espaces: account and staff logins, the lockout, sessions and feed tokens.

- ``teachers`` / ``students``: an Espace account of the planning (``hosting.espace_accounts``);
- ``secretariat``: a Contrôleur user of the planning's hosting assigned, in this planning, to a profile
  whose rights open it (``STAFF_ESPACES``; the mapping is documented in docs/espaces.md).
Lockout as the console's: 5 failures in 15 minutes since the last success, per planning, Espace and login.
Sessions are signed (itsdangerous, a key derived from the installation's secret key) and name their
planning and hosting: a session of planning A is refused on planning B.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import Assignment, ControllerUser, EspaceAccount, EspaceLoginAttempt, Planning, Profile, utcnow
from hosting.errors import PermanentError
from hosting.logins import LOCKOUT_WINDOW, MAX_FAILURES, LoginOutcome
from hosting.passwords import dummy_hash, verify_password

ACCOUNT_ESPACES = {"teachers": "teacher", "students": "student"}  # Espace -> account kind
# Rights of a profile that open a staff Espace: any one of them is enough (docs/espaces.md). Reading rights
# alone do not: the sample's "Enseignant" profile reads students, and a teacher is not the secretariat.
STAFF_ESPACES = {"secretariat": frozenset({"courses.edit", "students.edit", "teachers.edit", "espaces.publish",
                                           "users.manage"})}
SESSION_MAX_AGE_S = 8 * 3600


class EspaceBadCredentials(PermanentError):
    """Login or password is wrong for this Espace."""

    code = "ESPACE_BAD_CREDENTIALS"
    http_status = 401


class EspaceLoginLocked(PermanentError):
    """Too many failed logins for {login} in {window_minutes} minutes; try again later."""

    code = "ESPACE_LOGIN_LOCKED"
    http_status = 429


@dataclass(frozen=True)
class Principal:
    """Who a session is: an account (``teacher``/``student`` and its row id) or a staff user (``staff``)."""

    planning_id: str
    hosting_number: str
    espace: str
    kind: str
    subject: str  # the row id of an account, the Contrôleur login of a staff user
    account_id: int | None = None


def espace_login(session: Session, planning: Planning, espace: str, login: str, password: str, *,
                 clock: Callable[[], datetime] = utcnow) -> tuple[LoginOutcome, Principal | None]:
    """Check a login to one Espace: the outcome, and who logged in when accepted.

    The caller commits whatever the outcome (the attempt and its audit row), then refuses with
    ``EspaceBadCredentials`` or ``EspaceLoginLocked``. The password is never recorded.
    """
    now, who = clock(), f"{espace}:{login.casefold()}"[:80]
    if _recent_failures(session, planning.id, who, now) >= MAX_FAILURES:
        audit.record(session, "security.espace_login_locked", actor="espaces", planning_id=planning.id,
                     hosting_number=planning.hosting_number, espace=espace)
        return LoginOutcome.LOCKED, None
    if espace in ACCOUNT_ESPACES:
        principal = _account_login(session, planning, espace, login, password)
    else:
        principal = _staff_login(session, planning, espace, login, password)
    session.execute(delete(EspaceLoginAttempt).where(EspaceLoginAttempt.at <= now - LOCKOUT_WINDOW))
    session.add(EspaceLoginAttempt(planning_id=planning.id, login=who, at=now, ok=principal is not None))
    audit.record(session, "security.espace_login" if principal else "security.espace_login_refused",
                 actor="espaces", planning_id=planning.id, hosting_number=planning.hosting_number, espace=espace)
    return (LoginOutcome.ACCEPTED if principal else LoginOutcome.REFUSED), principal


def refusal(outcome: LoginOutcome, planning_id: str, espace: str, login: str) -> PermanentError:
    """The error of a refused login, raised by the caller once the attempt is committed."""
    where = {"planning_id": planning_id, "espace": espace}
    if outcome is LoginOutcome.LOCKED:
        return EspaceLoginLocked(login=login[:80], window_minutes=int(LOCKOUT_WINDOW.total_seconds() // 60),
                                 where=where)
    return EspaceBadCredentials(where=where)


def _account_login(session: Session, planning: Planning, espace: str, login: str, password: str) -> Principal | None:
    account = session.scalar(select(EspaceAccount).where(
        EspaceAccount.planning_id == planning.id, EspaceAccount.login == login.casefold(),
        EspaceAccount.kind == ACCOUNT_ESPACES[espace]))
    if account is None or not verify_password(password, account.password_hash):
        return None
    return Principal(planning.id, planning.hosting_number, espace, account.kind, account.row_id, account.id)


def _staff_login(session: Session, planning: Planning, espace: str, login: str, password: str) -> Principal | None:
    user = session.scalar(select(ControllerUser).where(
        ControllerUser.hosting_number == planning.hosting_number, func.lower(ControllerUser.login) == login.casefold()))
    verified = verify_password(password, user.password_hash if user is not None else dummy_hash())
    if user is None or not verified or not staff_may_open(session, planning.id, user.id, espace):
        return None
    return Principal(planning.id, planning.hosting_number, espace, "staff", user.login)


def staff_may_open(session: Session, planning_id: str, user_id: int, espace: str) -> bool:
    """Whether one of the user's profiles in this planning has a right that opens ``espace``."""
    opening = STAFF_ESPACES.get(espace)
    if not opening:
        return False
    rights = session.scalars(select(Profile.rights).join(Assignment, Assignment.profile_id == Profile.id)
                             .where(Assignment.user_id == user_id, Profile.planning_id == planning_id))
    return any(opening.intersection(r or ()) for r in rights)


def _recent_failures(session: Session, planning_id: str, who: str, now: datetime) -> int:
    since = now - LOCKOUT_WINDOW
    mine = (EspaceLoginAttempt.planning_id == planning_id, EspaceLoginAttempt.login == who)
    last_ok = session.scalar(select(func.max(EspaceLoginAttempt.at)).where(
        *mine, EspaceLoginAttempt.ok.is_(True), EspaceLoginAttempt.at > since))
    return session.scalar(select(func.count()).select_from(EspaceLoginAttempt).where(
        *mine, EspaceLoginAttempt.ok.is_(False),
        EspaceLoginAttempt.at > (last_ok if last_ok is not None and last_ok > since else since))) or 0


class Sessions:
    """Signed session tokens and calendar-feed tokens, from the installation's secret key."""

    def __init__(self, secret: bytes):
        self._serializer = URLSafeTimedSerializer(hashlib.sha256(b"hphost-espaces-session|" + secret).hexdigest(),
                                                  salt="espaces")
        self._feed_key = hashlib.sha256(b"hphost-espaces-feed|" + secret).digest()

    def issue(self, principal: Principal) -> str:
        return self._serializer.dumps(principal.__dict__)

    def open(self, token: str, planning: Planning) -> Principal | None:
        """The token's principal when it is valid for this planning and hosting; None otherwise."""
        try:
            data = self._serializer.loads(token, max_age=SESSION_MAX_AGE_S)
            principal = Principal(**data)
        except (BadSignature, TypeError):
            return None
        if (principal.planning_id, principal.hosting_number) != (planning.id, planning.hosting_number):
            return None
        return principal

    def feed_token(self, *parts: object) -> str:
        """The secret of a feed URL: a MAC of what the feed is (its planning, subscriber, owner and version)."""
        message = "|".join(str(part) for part in parts)
        return hmac.new(self._feed_key, message.encode(), hashlib.sha256).hexdigest()[:40]

    def feed_ok(self, token: str, *parts: object) -> bool:
        return hmac.compare_digest(self.feed_token(*parts), token)


def account_feed(account: EspaceAccount) -> tuple[object, ...]:
    """What an account's feed secret covers; bumping ``feed_version`` revokes it."""
    return ("account", account.planning_id, account.id, account.kind, account.row_id, account.feed_version)
