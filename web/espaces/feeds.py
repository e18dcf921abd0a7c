"""Calendar feeds at secret per-user URLs, under ``/espaces/{planning}/``.

- a teacher's or student's own: ``/{espace}/feed`` shows ``/ical/{account}/{secret}.ics``;
- a secretariat user's, of any teacher, group or room: ``/secretariat/feed?teacher=…`` (``group=``,
  ``room=``) shows ``/ical/staff/{user}/{kind}/{owner}/{secret}.ics``.
POST ``/{espace}/feed/revoke`` makes new secrets (every feed URL of that user answers 404 from then on).
Feeds carry ETag and Last-Modified; their bytes are kept by ETag, so polling costs one build per base.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import UTC
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting.db.models import ControllerUser, EspaceAccount, EspaceStaffFeeds
from hosting.espace_ical import feed
from hosting.espace_logins import Principal, account_feed, staff_may_open
from web.deps import RuntimeDep
from web.espaces import pages
from web.espaces.routes import espace_name
from web.espaces.served import Served, principal, served, sessions
from web.problems import Problem

router = APIRouter(prefix="/espaces/{planning}")
OWNER_KINDS = ("teacher", "group", "room")


def _signed_in(rt: RuntimeDep, session: Session, planning: str, espace: str,
               request: Request) -> tuple[Served, Principal]:
    here = served(rt, session, planning)
    who = principal(rt, session, here, espace_name(espace), dict(request.cookies))
    if who is None or who.kind == "guest":  # a feed belongs to someone who logged in
        raise Problem(401, "ESPACE_LOGIN_REQUIRED", "Log in to this Espace first.", where={"espace": espace})
    return here, who


def _staff_feeds(session: Session, here: Served, who: Principal) -> EspaceStaffFeeds:
    user_id = session.scalar(select(ControllerUser.id).where(
        ControllerUser.hosting_number == here.planning.hosting_number, ControllerUser.login == who.subject))
    row = session.get(EspaceStaffFeeds, (here.planning.id, user_id))
    if row is None:
        row = EspaceStaffFeeds(planning_id=here.planning.id, user_id=user_id, version=0)
        session.add(row)
        session.flush()
    return row


@router.get("/{espace}/feed", response_class=HTMLResponse)
def feed_page(planning: str, espace: str, request: Request, rt: RuntimeDep, teacher: str = "", group: str = "",
              room: str = "") -> HTMLResponse:
    with rt.db.transaction() as session:
        here, who = _signed_in(rt, session, planning, espace, request)
        if who.account_id is not None:
            account = session.get_one(EspaceAccount, who.account_id)  # checked by principal()
            path = f"ical/{account.id}/{sessions(rt).feed_token(*account_feed(account))}.ics"
        else:
            kind, owner = next(((k, v) for k, v in zip(OWNER_KINDS, (teacher, group, room), strict=True) if v),
                               ("", ""))
            if not kind:
                raise Problem(422, "FEED_OWNER_MISSING", "Name the teacher, group or room of the feed.",
                              where={"field": "teacher|group|room"})
            feeds = _staff_feeds(session, here, who)
            token = sessions(rt).feed_token("staff", here.planning.id, feeds.user_id, kind, owner, feeds.version)
            path = f"ical/staff/{feeds.user_id}/{kind}/{owner}/{token}.ics"
    feed_url = pages.url(request, here.planning.id, path, absolute=True)
    return pages.render("feed.html", request, here=here, espace=espace, feed_url=feed_url)


@router.post("/{espace}/feed/revoke")
def feed_revoke(planning: str, espace: str, request: Request, rt: RuntimeDep) -> Response:
    with rt.db.transaction() as session:
        here, who = _signed_in(rt, session, planning, espace, request)
        if who.account_id is not None:
            session.get_one(EspaceAccount, who.account_id).feed_version += 1
        else:
            _staff_feeds(session, here, who).version += 1
    target = f"{espace}/feed" if who.account_id is not None else f"{espace}/"
    return RedirectResponse(pages.url(request, here.planning.id, target), status_code=303)


def _no_feed(planning: str) -> Problem:
    return Problem(404, "FEED_NOT_FOUND", "No calendar feed at this address (revoked, or never given).",
                   where={"planning": planning})


@router.get("/ical/{account_id}/{token}.ics")
def account_ical(planning: str, account_id: int, token: str, request: Request, rt: RuntimeDep) -> Response:
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
        account = session.get(EspaceAccount, account_id)
        if account is None or account.planning_id != here.planning.id or not sessions(rt).feed_ok(
                token, *account_feed(account)):
            raise _no_feed(planning)
        kind, owner = ("teacher" if account.kind == "teacher" else "student"), account.row_id
    return _answer(here, kind, owner, request)


@router.get("/ical/staff/{user_id}/{kind}/{owner}/{token}.ics")
def staff_ical(planning: str, user_id: int, kind: str, owner: str, token: str, request: Request,
               rt: RuntimeDep) -> Response:
    with rt.db.transaction() as session:
        here = served(rt, session, planning)
        feeds = session.get(EspaceStaffFeeds, (here.planning.id, user_id))
        valid = (kind in OWNER_KINDS and feeds is not None and sessions(rt).feed_ok(
            token, "staff", here.planning.id, user_id, kind, owner, feeds.version)
            and staff_may_open(session, here.planning.id, user_id, "secretariat"))
        if not valid:
            raise _no_feed(planning)
    return _answer(here, kind, owner, request)


def _answer(here: Served, kind: str, owner: str, request: Request) -> Response:
    zone, title = here.planning.time_zone, here.publication.publication_name
    stamp = here.publication.created_at.astimezone(UTC)  # PostgreSQL's offset is the session's time zone
    tag = '"' + hashlib.sha256(f"{here.base_id}|{kind}|{owner}|{zone}|{title}".encode()).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Last-Modified": format_datetime(stamp, usegmt=True),
               "Cache-Control": "private, max-age=60"}
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = _feeds.get(tag)
    if body is None:  # a feed is the same bytes for as long as its base serves: polling clients cost one build
        body = feed(_courses(here, kind, owner), here.published.names, planning_id=here.planning.id,
                    time_zone=zone, title=title, stamp=stamp)
        _feeds.put(tag, body)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


def _courses(here: Served, kind: str, owner: str) -> list[dict[str, Any]]:
    published = here.published
    if kind == "teacher":
        return published.courses("teachers", owner)
    if kind == "student":
        return published.student_courses(owner)
    if kind == "group":
        return published.group_courses(owner)
    return published.courses("guest", owner)


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
