"""Log in and out of the dashboard (the login form carries a CSRF token of the anonymous session too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hosting.dashboard.operators import authenticate
from web.dashboard.auth import PREFIX, CsrfDep, DashDep, start
from web.dashboard.render import page, redirect
from web.deps import SessionDep

router = APIRouter(prefix=PREFIX)


def _safe_next(target: str | None) -> str:
    """Only a path of the dashboard (no open redirect)."""
    return target if target and target.startswith(PREFIX + "/") and not target.startswith("//") else PREFIX + "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, dash: DashDep, next: str | None = None) -> HTMLResponse:
    return page(request, dash, "login.html", next=_safe_next(next), error=None)


@router.post("/login", response_model=None)
def login(request: Request, dash: DashDep, session: SessionDep, _csrf: CsrfDep,
          name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "") -> HTMLResponse | RedirectResponse:
    operator = authenticate(session, name.strip(), password)
    if operator is None:
        return page(request, dash, "login.html", status=401, next=_safe_next(next),
                    error="LOGIN_REFUSED: unknown operator or wrong password.")
    start(dash, operator.name)
    return redirect(request, dash, _safe_next(next))


@router.post("/logout")
def logout(request: Request, dash: DashDep, _csrf: CsrfDep) -> RedirectResponse:
    start(dash, None)
    return redirect(request, dash, PREFIX + "/login")
