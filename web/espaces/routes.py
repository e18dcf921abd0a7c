"""The Espaces' routes under ``/espaces/{planning}/`` (a planning's user domain is rewritten to them, see host.py).

- ``/``: the Espaces of the planning; ``/{espace}/``: its login form, or the signed-in user's week;
- ``/{espace}/week.json``: the same week as JSON; ``/{espace}/login`` and ``/logout`` (POST);
- ``/{espace}/feed``: the user's secret calendar-feed URL (POST ``/feed/revoke`` makes a new one);
- ``/ical/{account}/{token}.ics``: the feed itself, with ETag and Last-Modified.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import UTC
from email.utils import format_datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from hosting.db.models import EspaceAccount
from hosting.espace_ical import feed
from hosting.espace_logins import ACCOUNT_ESPACES, STAFF_ESPACES, espace_login, refusal
from web.deps import RuntimeDep
from web.espaces import pages
from web.espaces.served import (
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
ESPACES = tuple(ACCOUNT_ESPACES) + tuple(STAFF_ESPACES)
WeekQuery = Annotated[int | None, Query(ge=1, le=53)]


def _espace(espace: str) -> str:
    if espace not in ESPACES:
        raise Problem(404, "ESPACE_UNKNOWN", f"There is no Espace {espace!r}.", where={"espace": espace})
    return espace


@router.get("/", response_class=HTMLResponse)
def landing(planning: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
        return pages.render("landing.html", request, here=here, espaces=ESPACES)


@router.get("/{espace}/", response_class=HTMLResponse)
def espace_home(planning: str, espace: str, request: Request, rt: RuntimeDep, week: WeekQuery = None,
                teacher: str = "", group: str = "", room: str = "") -> HTMLResponse:
    data = _week(planning, _espace(espace), request, rt, week, {"teacher": teacher, "group": group, "room": room})
    if data is None:
        with rt.db.transaction() as session:
            return pages.render("login.html", request, here=served(rt, session, planning), espace=espace)
    return pages.render("week.html", request, **data)


@router.get("/{espace}/week.json")
def week_json(planning: str, espace: str, request: Request, rt: RuntimeDep, week: WeekQuery = None,
              teacher: str = "", group: str = "", room: str = "") -> dict[str, Any]:
    data = _week(planning, _espace(espace), request, rt, week, {"teacher": teacher, "group": group, "room": room})
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
    title, courses = courses_of(here, who, filters if who.kind == "staff" else {})
    monday, sunday = week_dates(names["grid"], week)
    return {"planning": here.planning.id, "base_id": here.base_id, "espace": espace, "title": title, "week": week,
            "weeks": int(names["grid"]["weeks"]), "monday": monday, "sunday": sunday,
            "courses": week_rows(courses, names, week), "here": here, "who": who, "filters": filters}


@router.post("/{espace}/login")
async def login(planning: str, espace: str, request: Request, rt: RuntimeDep) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
    login_name = form.get("login", "")
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
        outcome, who = espace_login(session, here.planning, _espace(espace), login_name, form.get("password", ""))
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
    answer.delete_cookie(cookie_name(here.planning.id, _espace(espace)), path="/")
    return answer


@router.get("/{espace}/feed", response_class=HTMLResponse)
def feed_page(planning: str, espace: str, request: Request, rt: RuntimeDep) -> HTMLResponse:
    with rt.db.transaction() as session:
        here, account = _account_of(rt, session, planning, espace, request)
        token = sessions(rt).feed_token(account)
    feed_url = pages.url(request, here.planning.id, f"ical/{account.id}/{token}.ics", absolute=True)
    return pages.render("feed.html", request, here=here, espace=espace, feed_url=feed_url)


@router.post("/{espace}/feed/revoke")
def feed_revoke(planning: str, espace: str, request: Request, rt: RuntimeDep) -> Response:
    with rt.db.transaction() as session:
        here, account = _account_of(rt, session, planning, espace, request)
        account.feed_version += 1
    return RedirectResponse(pages.url(request, here.planning.id, f"{espace}/feed"), status_code=303)


def _account_of(rt: RuntimeDep, session: Any, planning: str, espace: str, request: Request) -> Any:
    here = served(rt, session, planning)
    who = principal(rt, session, here, _espace(espace), dict(request.cookies))
    if who is None or who.account_id is None:
        raise Problem(401, "ESPACE_LOGIN_REQUIRED", "Log in to this Espace first.", where={"espace": espace})
    account = session.get(EspaceAccount, who.account_id)
    return here, account


@router.get("/ical/{account_id}/{token}.ics")
def ical(planning: str, account_id: int, token: str, request: Request, rt: RuntimeDep) -> Response:
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
        account = session.get(EspaceAccount, account_id)
        if account is None or account.planning_id != here.planning.id or not sessions(rt).feed_ok(account, token):
            raise Problem(404, "FEED_NOT_FOUND", "No calendar feed at this address (revoked, or never given).",
                          where={"planning": planning})
        kind, row_id, zone = account.kind, account.row_id, here.planning.time_zone
        title = here.publication.publication_name
        stamp = here.publication.created_at.astimezone(UTC)  # PostgreSQL's offset is the session's time zone
    tag = '"' + hashlib.sha256(f"{here.base_id}|{kind}|{row_id}|{zone}|{title}".encode()).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Last-Modified": format_datetime(stamp, usegmt=True),
               "Cache-Control": "private, max-age=60"}
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = _feeds.get(tag)
    if body is None:  # a feed is the same bytes for as long as its base serves: polling clients cost one build
        published = here.published
        courses = published.courses("teachers", row_id) if kind == "teacher" else published.student_courses(row_id)
        body = feed(courses, published.names, planning_id=here.planning.id, time_zone=zone,
                    title=title, stamp=stamp)
        _feeds.put(tag, body)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


class _Feeds:
    """The last feeds built, by ETag (base, owner, time zone, title), within a byte budget."""

    def __init__(self, budget: int):
        self.budget, self.used, self.bodies = budget, 0, OrderedDict[str, bytes]()
        self.lock = threading.Lock()

    def get(self, tag: str) -> bytes | None:
        with self.lock:
            body = self.bodies.get(tag)
            if body is not None:
                self.bodies.move_to_end(tag)
            return body

    def put(self, tag: str, body: bytes) -> None:
        with self.lock:
            if tag not in self.bodies:
                self.bodies[tag], self.used = body, self.used + len(body)
            while self.used > self.budget and len(self.bodies) > 1:
                self.used -= len(self.bodies.popitem(last=False)[1])


_feeds = _Feeds(64 << 20)
