"""The Espaces' routes under ``/espaces/{planning}/`` (a planning's user domain is rewritten to them, see host.py).

- ``/``: the Espaces of the planning; ``/{espace}/``: its login form, or the signed-in user's week;
- ``/{espace}/week.json``: the same week as JSON; ``/{espace}/login`` and ``/logout`` (POST);
- the calendar feeds: ``web/espaces/feeds.py``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from hosting.db.models import EspaceSettings
from hosting.espace_logins import ACCOUNT_ESPACES, STAFF_ESPACES, espace_login, refusal
from web.deps import RuntimeDep
from web.espaces import pages
from web.espaces.served import (
    GUEST,
    cookie_name,
    courses_of,
    current_week,
    principal,
    served,
    sessions,
    week_dates,
    week_rows,
)
from web.problems import Problem, status_of

router = APIRouter(prefix="/espaces/{planning}")
ESPACES = (*ACCOUNT_ESPACES, *STAFF_ESPACES, GUEST)
WeekQuery = Annotated[int | None, Query(ge=1, le=53)]


def espace_name(espace: str) -> str:
    """``espace`` if it names an Espace; else the refusal."""
    if espace not in ESPACES:
        raise Problem(404, "ESPACE_UNKNOWN", f"There is no Espace {espace!r}.", where={"espace": espace})
    return espace


@router.get("/", response_class=HTMLResponse)
def landing(planning: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
        settings = session.get(EspaceSettings, here.planning.id)
        shown = [e for e in ESPACES if e != GUEST or (settings is not None and settings.guest_rooms)]
        return pages.render("landing.html", request, here=here, espaces=shown)


@router.get("/{espace}/", response_class=HTMLResponse)
def espace_home(planning: str, espace: str, request: Request, rt: RuntimeDep, week: WeekQuery = None,
                teacher: str = "", group: str = "", room: str = "") -> HTMLResponse:
    data = _week(planning, espace_name(espace), request, rt, week, {"teacher": teacher, "group": group, "room": room})
    if data is None:
        with rt.db.transaction() as session:
            return pages.render("login.html", request, here=served(rt, session, planning), espace=espace)
    return pages.render("week.html", request, **data)


@router.get("/{espace}/week.json")
def week_json(planning: str, espace: str, request: Request, rt: RuntimeDep, week: WeekQuery = None,
              teacher: str = "", group: str = "", room: str = "") -> dict[str, Any]:
    data = _week(planning, espace_name(espace), request, rt, week, {"teacher": teacher, "group": group, "room": room})
    if data is None:
        raise Problem(401, "ESPACE_LOGIN_REQUIRED", "Log in to this Espace first.", where={"espace": espace})
    return {key: data[key] for key in ("planning", "base_id", "espace", "title", "week", "weeks", "monday",
                                       "sunday", "courses")}


def _week(planning: str, espace: str, request: Request, rt: RuntimeDep, week: int | None,
          filters: dict[str, str]) -> dict[str, Any] | None:
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
        who = principal(rt, session, here, espace, dict(request.cookies))
    if who is None:
        return None
    names = here.published.names
    week = min(week or current_week(names["grid"]), int(names["grid"]["weeks"]))
    title, courses = courses_of(here, who, filters if who.kind in ("staff", "guest") else {})
    monday, sunday = week_dates(names["grid"], week)
    return {"planning": here.planning.id, "base_id": here.base_id, "espace": espace, "title": title, "week": week,
            "weeks": int(names["grid"]["weeks"]), "monday": monday, "sunday": sunday,
            "courses": week_rows(courses, names, week), "here": here, "who": who, "filters": filters,
            "rooms": sorted(names["rooms"].items(), key=lambda r: (r[1] or "", r[0])) if who.kind == GUEST else []}


@router.post("/{espace}/login")
async def login(planning: str, espace: str, request: Request, rt: RuntimeDep) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
    login_name = form.get("login", "")
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
        outcome, who = espace_login(session, here.planning, espace_name(espace), login_name, form.get("password", ""))
    if who is None:
        error = refusal(outcome, here.planning.id, espace, login_name)
        with rt.db.transaction() as session:
            return pages.render("login.html", request, here=served(rt, session, planning), espace=espace,
                                error=error, status_code=status_of(error))
    answer = RedirectResponse(pages.url(request, here.planning.id, f"{espace}/"), status_code=303)
    answer.set_cookie(cookie_name(here.planning.id, espace), sessions(rt).issue(who), httponly=True,
                      samesite="lax", secure=request.url.scheme == "https", path="/")
    return answer


@router.post("/{espace}/logout")
def logout(planning: str, espace: str, request: Request, rt: RuntimeDep) -> Response:
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
    answer = RedirectResponse(pages.url(request, here.planning.id, f"{espace}/"), status_code=303)
    answer.delete_cookie(cookie_name(here.planning.id, espace_name(espace)), path="/")
    return answer
