"""Operator accounts of the dashboard: a role each, a password shown once, its scrypt hash stored."""

from __future__ import annotations

import re
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import Operator, utcnow
from hosting.errors import Conflict, InvalidInput, PermanentError
from hosting.passwords import dummy_hash, generate_password, hash_password, verify_password

_NAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")


class Role(StrEnum):
    VIEWER = "viewer"  # sees everything, changes nothing
    OPERATOR = "operator"  # cancels, retries, bulk actions (with a reason)
    ADMIN = "admin"  # all of the above (and what later needs more)


_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


def allows(role: str, needed: Role) -> bool:
    """Whether ``role`` may do what needs ``needed``."""
    try:
        return _RANK[Role(role)] >= _RANK[needed]
    except ValueError:
        return False


class OperatorExists(Conflict):
    """Operator {name} already exists."""

    code = "OPERATOR_EXISTS"


class OperatorRoleRefused(PermanentError):
    """Operator {name} is a {role}; this action needs {needed} or above."""

    code = "OPERATOR_ROLE"
    http_status = 403


def create_operator(session: Session, name: str, role: str, *, actor: str) -> str:
    """A new operator account; returns its generated password (shown once, only its hash is kept)."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(field="name", reason="2 to 64 of a-z 0-9 . _ -, starting with a letter",
                           where={"field": "name"})
    if role not in Role._value2member_map_:
        raise InvalidInput(field="role", reason="one of " + ", ".join(Role), where={"field": "role"})
    if session.get(Operator, name) is not None:
        raise OperatorExists(name=name, where={"operator": name})
    password = generate_password(20)
    session.add(Operator(name=name, role=role, password_hash=hash_password(password)))
    audit.record(session, "operator.created", actor=actor, operator=name, role=role)
    return password


def authenticate(session: Session, name: str, password: str) -> Operator | None:
    """The operator whose name and password match, else None (an unknown name costs one scrypt too)."""
    operator = session.get(Operator, name)
    matches = verify_password(password, operator.password_hash if operator else dummy_hash())
    if operator is None or not matches:
        audit.record(session, "security.operator_login_refused", actor=f"dashboard:{name[:64]}")
        return None
    operator.last_login_at = utcnow()
    audit.record(session, "security.operator_login", actor=f"operator:{name}")
    return operator


def list_operators(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.name)))
