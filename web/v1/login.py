"""Console login: hosting number + password (+ the invoice number at the first login) → a session token.

``hosting/logins.py`` decides (first-login binding, 5 failures in 15 minutes lock the number, constant
time, an unknown number costs the same); every attempt is audited with the caller's address, and the
answer is the same whether the number exists or not.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field, SecretStr

from hosting import audit
from hosting.logins import LOCKOUT_WINDOW, BadCredentials, LoginLocked, LoginOutcome, console_login
from hosting.plannings import HOSTING_NUMBER
from hosting.tokens import Role, TokenKind, issue, revoke
from web.auth import CallerDep, source_of
from web.deps import RuntimeDep
from web.problems import Problem, problem_doc

router = APIRouter(tags=["login"])
_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: problem_doc("BAD_CREDENTIALS"), 429: problem_doc("LOGIN_LOCKED (Retry-After)")}


class LoginRequest(BaseModel):
    hosting_number: str = Field(max_length=64, examples=["123456789012"])
    password: SecretStr = Field(max_length=200)
    invoice_number: SecretStr | None = Field(None, max_length=64, description="At the first login only.")


class ConsoleSession(BaseModel):
    token: str = Field(description="Authorization: Bearer <token>; shown once.")
    token_type: Literal["Bearer"] = "Bearer"
    session_id: str
    hosting_number: str
    expires_at: datetime


@router.post("/login", response_model=ConsoleSession, responses=_REFUSALS)
def login(body: LoginRequest, request: Request, rt: RuntimeDep) -> ConsoleSession:
    """Log in as the hosting console; the token is scoped to that hosting and lives ``HPHOST_SESSION_TTL_S``."""
    number, source = body.hosting_number, source_of(request)
    invoice = body.invoice_number.get_secret_value() if body.invoice_number is not None else None
    ttl = timedelta(seconds=rt.settings.session_ttl_s)
    with rt.db.transaction() as session:  # committed whatever the outcome: refusals are audited
        outcome = console_login(session, number, body.password.get_secret_value(), invoice,
                                actor="console-login", source=source)
        if outcome is LoginOutcome.ACCEPTED:
            row, token = issue(session, rt.token_key, kind=TokenKind.CONSOLE, hosting_number=number,
                               role=Role.WRITER, ttl=ttl, actor="console-login")
            audit.record(session, "session.opened", actor=f"console:{row.id}", hosting_number=number)
            answer = ConsoleSession(token=token, session_id=row.id, hosting_number=number,
                                    expires_at=row.expires_at or datetime.max)
    where = {"hosting_number": number} if HOSTING_NUMBER.fullmatch(number) else None
    if outcome is LoginOutcome.LOCKED:
        minutes = int(LOCKOUT_WINDOW.total_seconds() // 60)
        raise Problem(429, LoginLocked.code, LoginLocked(hosting_number=number, window_minutes=minutes).message,
                      where=where, headers={"Retry-After": str(int(LOCKOUT_WINDOW.total_seconds()))})
    if outcome is LoginOutcome.REFUSED:
        raise Problem(401, BadCredentials.code, BadCredentials().message, where=where)
    return answer


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(caller: CallerDep, rt: RuntimeDep) -> None:
    """End the caller's console session (or revoke the service token it used)."""
    with rt.db.transaction() as session:
        revoke(session, caller.token_id, actor=caller.actor)


class Me(BaseModel):
    hosting_number: str | None = Field(description="None: the operator (every hosting).")
    role: Role
    actor: str


@router.get("/me", response_model=Me)
def me(caller: CallerDep) -> Me:
    """Who the token speaks for."""
    return Me(hosting_number=caller.hosting, role=caller.role, actor=caller.actor)
