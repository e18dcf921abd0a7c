"""Calendar feeds (RFC 5545) of published courses, with the planning's time zone (icalendar's VTIMEZONE).

Each occurrence of a course is one VEVENT whose ``UID`` is the course id and week within the planning,
so a calendar app updates an occurrence across reloads of the base instead of duplicating it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from hosting.espace_reader import occurrences


def feed(courses: Iterable[dict[str, Any]], names: dict[str, Any], *, planning_id: str, time_zone: str,
         title: str, stamp: dt.datetime) -> bytes:
    """The iCalendar bytes of every occurrence of ``courses`` in the grid's weeks."""
    zone = ZoneInfo(time_zone)
    calendar = Calendar()
    calendar.add("prodid", "-//hphost//HYPERPLANNING.net Espaces//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", time_zone)
    for course in courses:
        for week, start, end in occurrences(course, names["grid"]):
            calendar.add_component(_event(course, names, week, start.replace(tzinfo=zone),
                                          end.replace(tzinfo=zone), planning_id, stamp))
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data


def _event(course: dict[str, Any], names: dict[str, Any], week: int, start: dt.datetime, end: dt.datetime,
           planning_id: str, stamp: dt.datetime) -> Event:
    subject = names["subjects"].get(course.get("subject") or "", {})
    event = Event()
    event.add("uid", f"{course['course']}-w{week:02d}@{planning_id}.espaces.hphost")
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", subject.get("name") or subject.get("code") or course.get("subject") or "")
    rooms = [names["rooms"].get(r) or r for r in course.get("rooms", [])]
    if rooms:
        event.add("location", ", ".join(rooms))
    people = [names["teachers"].get(t) or t for t in course.get("teachers", [])]
    groups = [names["groups"].get(g, {}).get("name") or g for g in course.get("groups", [])]
    event.add("description", "\n".join(filter(None, (", ".join(people), ", ".join(groups)))))
    return event
