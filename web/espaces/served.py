"""What one request of the Espaces works on: the planning, its served publication, the signed-in user.

The served publication is read once per request from the planning's base in service: its objects are
immutable, so a request sees the old base or the new one whole, never a mix.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting.db.models import BaseRecord, ControllerUser, EspaceAccount, EspaceSettings, Planning, Publication
from hosting.espace_logins import Principal, Sessions, staff_may_open
from hosting.espace_reader import Published, occurrences, week_monday
from hosting.jobs.states import BaseState
from hosting.runtime import Runtime
from hosting.sealing import secret_key
from web.problems import Problem

GUEST = "guest"
MAX_LISTED = 1_000  # courses a secretariat page lists at most (with a filter it is one owner's)


@dataclass
class Served:
    planning: Planning
    publication: Publication
    published: Published

    @property
    def base_id(self) -> str:
        return self.publication.base_id


def cookie_name(planning_id: str, espace: str) -> str:
    return f"hpe_{planning_id}_{espace}"


def sessions(rt: Runtime) -> Sessions:
    return Sessions(secret_key(rt.settings))


def served(rt: Runtime, session: Session, planning_ref: str) -> Served:
    """The planning (by id or user domain) and its publication in service; 404 when there is none."""
    planning = session.get(Planning, planning_ref) or session.scalar(
        select(Planning).where(Planning.domain == planning_ref.lower()))
    base = session.get(BaseRecord, planning.current_base_id) if planning and planning.current_base_id else None
    publication = session.get(Publication, base.id) if base is not None else None
    if (planning is None or not planning.associate_net or base is None or base.state != BaseState.IN_SERVICE
            or publication is None):
        raise Problem(404, "ESPACES_NOT_PUBLISHED", "No Espaces are published at this address.",
                      where={"planning": planning_ref})
    return Served(planning, publication, Published(rt.store, base.id))


def principal(rt: Runtime, session: Session, here: Served, espace: str, cookies: dict[str, str]) -> Principal | None:
    """The signed-in user of this planning's ``espace``, if the cookie holds a valid session.

    The guest Espace needs no login when the planning opens it; else it is refused (``ESPACE_CLOSED``).
    """
    if espace == GUEST:
        settings = session.get(EspaceSettings, here.planning.id)
        if settings is None or not settings.guest_rooms:
            raise Problem(404, "ESPACE_CLOSED", "This planning does not open its guest Espace.",
                          where={"espace": espace})
        return Principal(here.planning.id, here.planning.hosting_number, GUEST, "guest", "")
    token = cookies.get(cookie_name(here.planning.id, espace))
    who = sessions(rt).open(token, here.planning) if token else None
    if who is None or who.espace != espace:
        return None
    if who.account_id is not None:  # an account whose row left the base is gone, and so are its sessions
        account = session.get(EspaceAccount, who.account_id)
        if account is None or account.row_id != who.subject or account.planning_id != here.planning.id:
            return None
    elif not _staff_still_may(session, here, who):  # rights taken away end the staff sessions at once
        return None
    return who


def _staff_still_may(session: Session, here: Served, who: Principal) -> bool:
    user_id = session.scalar(select(ControllerUser.id).where(
        ControllerUser.hosting_number == here.planning.hosting_number, ControllerUser.login == who.subject))
    return user_id is not None and staff_may_open(session, here.planning.id, user_id, who.espace)


def current_week(grid: dict[str, Any], today: dt.date | None = None) -> int:
    """The grid's week holding ``today`` (clipped to the grid)."""
    first = dt.date.fromisoformat(grid["first_monday"])
    week = ((today or dt.date.today()) - first).days // 7 + 1
    return min(max(week, 1), int(grid["weeks"]))


def courses_of(here: Served, who: Principal, filters: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """The title and the courses this user may see (a secretariat user picks with ``filters``)."""
    published, names = here.published, here.published.names
    if who.kind == "teacher":
        return names["teachers"].get(who.subject, who.subject), published.courses("teachers", who.subject)
    if who.kind == "student":
        groups = ", ".join(names["groups"].get(g, {}).get("name") or g for g in published.members.get(who.subject, []))
        return groups, published.student_courses(who.subject)
    if who.kind == "guest":
        room = filters.get("room", "")
        return names["rooms"].get(room) or "Salles", published.courses("guest", room) if room else []
    if filters.get("teacher"):
        return names["teachers"].get(filters["teacher"], filters["teacher"]), published.courses("teachers",
                                                                                                filters["teacher"])
    if filters.get("group"):
        return names["groups"].get(filters["group"], {}).get("name") or filters["group"], published.group_courses(
            filters["group"])
    if filters.get("room"):
        return names["rooms"].get(filters["room"]) or filters["room"], published.courses("guest", filters["room"])
    return "Tous les cours", list(published.secretariat())


def week_rows(courses: list[dict[str, Any]], names: dict[str, Any], week: int) -> list[dict[str, Any]]:
    """The occurrences of ``week``, in time order, with names resolved (what the page and the JSON show)."""
    rows = []
    for course in courses:
        for _week, start, _end in occurrences(course, names["grid"], {week}):
            subject = names["subjects"].get(course.get("subject") or "", {})
            rows.append({"course": course["course"], "date": start.date().isoformat(), "day": course["day"],
                         "start": course["start"], "end": course["end"], "subject": subject.get("code"),
                         "subject_name": subject.get("name"),
                         "teachers": [names["teachers"].get(t) or t for t in course["teachers"]],
                         "rooms": [names["rooms"].get(r) or r for r in course["rooms"]],
                         "groups": [names["groups"].get(g, {}).get("name") or g for g in course["groups"]],
                         "_at": start})
            if len(rows) >= MAX_LISTED:
                break
    rows.sort(key=lambda r: (r["_at"], r["course"]))
    for row in rows:
        del row["_at"]
    return rows


def week_dates(grid: dict[str, Any], week: int) -> tuple[str, str]:
    monday = week_monday(grid, week)
    return monday.isoformat(), (monday + dt.timedelta(days=6)).isoformat()
