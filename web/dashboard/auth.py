"""The dashboard's sessions: one signed cookie (the operator's name and a CSRF token), roles, CSRF checks.

The cookie is signed with the installation's secret key (itsdangerous), HttpOnly, SameSite=Strict, Secure
when the request came over HTTPS (behind the TLS proxy, ``--proxy-headers``), and expires after 8 hours.
Every POST carries the session's CSRF token in a form field, compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from hosting.dashboard.operators import OperatorRoleRefused, Role, allows
from hosting.db.models import Operator
from hosting.sealing import secret_key
from web.deps import RuntimeDep
from web.problems import Problem

COOKIE = "hphost_dashboard"
MAX_AGE_S = 8 * 3600
PREFIX = "/dashboard"


@dataclass
class DashSession:
    operator: str | None
    csrf: str
    fresh: bool = False  # to be sent (new, or changed by a login or a logout)


@lru_cache(maxsize=4)
def _serializer(key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt="hphost.dashboard.session")


def read_session(request: Request, rt: RuntimeDep) -> DashSession:
    """The request's session (cached on it); a new anonymous one when the cookie is absent, forged or old."""
    cached = getattr(request.state, "dash_session", None)
    if isinstance(cached, DashSession):
        return cached
    session = DashSession(None, secrets.token_urlsafe(32), fresh=True)
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _serializer(secret_key(rt.settings)).loads(raw, max_age=MAX_AGE_S)
            session = DashSession(data.get("op"), str(data["csrf"]))
        except (BadSignature, KeyError, TypeError, AttributeError):
            pass
    request.state.dash_session = session
    return session


DashDep = Annotated[DashSession, Depends(read_session)]


def start(dash: DashSession, operator: str | None) -> None:
    """Log ``operator`` in (None: out) with a new CSRF token (no token survives a change of who)."""
    dash.operator, dash.csrf, dash.fresh = operator, secrets.token_urlsafe(32), True


def send(response: Response, request: Request, dash: DashSession, key: bytes) -> None:
    """Set the cookie when the session is new or changed."""
    if dash.fresh:
        value = _serializer(key).dumps({"op": dash.operator, "csrf": dash.csrf})
        response.set_cookie(COOKIE, value, max_age=MAX_AGE_S, path=PREFIX, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")


def current_operator(request: Request, rt: RuntimeDep, dash: DashDep) -> Operator:
    """The logged-in operator; a page asks to log in first (303), an action is refused (401).

    Read in a transaction of its own, closed before the route's (an action opens its own transactions).
    """
    if dash.operator:
        with rt.db.transaction() as session:
            operator = session.get(Operator, dash.operator)
            if operator is not None:
                session.expunge(operator)
                return operator
    if request.method in ("GET", "HEAD"):
        here = request.url.path + ("?" + request.url.query if request.url.query else "")
        target = f"{PREFIX}/login?next={quote(here)}"
        raise Problem(303, "LOGIN_REQUIRED", "Log in to the dashboard first.", headers={"Location": target})
    raise Problem(401, "LOGIN_REQUIRED", "Log in to the dashboard first.")


OperatorDep = Annotated[Operator, Depends(current_operator)]


def check_csrf(dash: DashDep, csrf: Annotated[str, Form()] = "") -> None:
    """Refuse a POST whose form does not carry this session's CSRF token."""
    if not csrf or not hmac.compare_digest(csrf.encode(), dash.csrf.encode()):
        raise Problem(403, "CSRF_REFUSED", "The form's CSRF token is missing or not this session's; reload the page.")


CsrfDep = Annotated[None, Depends(check_csrf)]


def require(operator: Operator, needed: Role = Role.OPERATOR) -> str:
    """Refuse unless ``operator`` holds ``needed`` or above; returns the actor of its audit rows."""
    if not allows(operator.role, needed):
        raise OperatorRoleRefused(name=operator.name, role=operator.role, needed=needed.value,
                                  where={"operator": operator.name, "role": operator.role})
    return f"operator:{operator.name}"
