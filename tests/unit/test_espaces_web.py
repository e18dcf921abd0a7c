"""The served Espaces on SQLite (no server): logins, lockout, isolation, weeks, feeds, user domains."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC

import icalendar
import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from hosting.basedb.base import stored
from hosting.db.models import Assignment, BaseRecord, ControllerUser, EspaceAccount, Profile, Publication
from hosting.espace_accounts import Person, reveal_credentials, sync_accounts
from hosting.espaces import build_read_models
from hosting.passwords import hash_password
from hosting.plannings import PlanningSettings, create_hosting, create_planning
from hosting.runtime import Runtime
from hosting.sealing import Sealer, secret_key
from tests.unit.pipeline.test_espaces_builder import COURSES, GRID, GROUPS
from web.app import create_app

NUMBER, OTHER = "123456789012", "210987654321"
TEACHERS = [{"id": "T1", "first_name": "Ada", "last_name": "Lovelace"},
            {"id": "T2", "first_name": "Alan", "last_name": "Turing"}]
STUDENTS = [{"id": "E1", "first_name": "Émile", "last_name": "Zola", "groups": ["TD1", "TP1"]},
            {"id": "E2", "first_name": "Emile", "last_name": "Zola", "groups": ["TD2"]}]


def _persons(teachers=TEACHERS, students=STUDENTS) -> list[Person]:
    return ([Person("teacher", t["id"], t["first_name"], t["last_name"]) for t in teachers]
            + [Person("student", s["id"], s["first_name"], s["last_name"]) for s in students])


@pytest.fixture
def world(tmp_path, db):
    rt = Runtime(Settings(home=tmp_path, database_url=str(db.engine.url)))
    tables: list[tuple[str, list[dict]]] = [
        ("subjects", [{"id": "S1", "code": "MATH", "name": "Maths"}]), ("teachers", TEACHERS),
        ("rooms", [{"id": "R0", "name": "Salle A"}, {"id": "R1", "name": "Amphi"}]), ("groups", GROUPS),
        ("students", STUDENTS), ("courses", COURSES)]
    for base_id in ("b1", "b2", "b3"):
        rt.basedbs.build(base_id, {"time_grid": GRID, "base_name": "t"}, stored(tables))
        build_read_models(rt.basedbs, base_id, rt.store)
    sealer = Sealer(secret_key(rt.settings))
    with rt.db.transaction() as session:
        create_hosting(session, NUMBER, actor="test")
        a = create_planning(session, NUMBER, PlanningSettings(name="A", controller_domain="ctl.example.fr",
                                                              domain="edt-a.example.fr"), actor="test")
        b = create_planning(session, NUMBER, PlanningSettings(name="B", controller_domain="ctl.example.fr",
                                                              domain="edt-b.example.fr"), actor="test")
        c = create_planning(session, NUMBER, PlanningSettings(name="C", controller_domain="ctl.example.fr",
                                                              domain="edt-c.example.fr"), actor="test")
        create_hosting(session, OTHER, actor="test")
        d = create_planning(session, OTHER, PlanningSettings(name="D", controller_domain="ctl.other.fr",
                                                             domain="edt-d.other.fr"), actor="test")
        session.flush()
        for base_id, planning in (("b1", a), ("b2", b), ("b3", d)):
            session.add(BaseRecord(id=base_id, planning_id=planning.id, job_id="j1", state="in_service",
                                   source="hhyp"))
            session.add(Publication(base_id=base_id, planning_id=planning.id, domain=planning.domain,
                                    publication_name=f"Lycée {planning.name}", espaces=["teachers"]))
            planning.current_base_id = base_id
            sync_accounts(session, planning_id=planning.id, hosting_number=planning.hosting_number,
                          persons=_persons(), sealer=sealer)
        _staff(session, a.id, "sec", ["courses.read", "courses.edit"])
        _staff(session, a.id, "viewer", ["courses.read", "students.read", "rooms.read"])
        ids = (a.id, b.id, c.id, d.id)
    with rt.db.transaction() as session:
        rows = list(csv.DictReader(io.StringIO(reveal_credentials(session, ids[0], sealer))))
    client = TestClient(create_app(rt), raise_server_exceptions=False, follow_redirects=False)
    return {"rt": rt, "client": client, "a": ids[0], "b": ids[1], "c": ids[2], "d": ids[3], "sealer": sealer,
            "creds": {r["row_id"]: (r["login"], r["password"]) for r in rows}}


def _staff(session, planning_id, login, rights):
    user = ControllerUser(hosting_number=NUMBER, login=login, password_hash=hash_password("staff-pass-1"))
    profile = Profile(planning_id=planning_id, name=login, name_key=login, rights=rights)
    session.add_all([user, profile])
    session.flush()
    session.add(Assignment(user_id=user.id, profile_id=profile.id))


def _login(world, espace, login, password, planning=None):
    answer = world["client"].post(f"/espaces/{planning or world['a']}/{espace}/login",
                                  data={"login": login, "password": password})
    return answer


def test_logins_are_derived_unique_and_the_csv_is_shown_once(world):
    from hosting.controller import reveal_credentials as reveal_job_credentials

    assert world["creds"]["E1"][0] == "emile.zola" and world["creds"]["E2"][0] == "emile.zola2"
    assert world["creds"]["T1"][0] == "ada.lovelace"
    with world["rt"].db.transaction() as session:
        assert reveal_credentials(session, world["a"], world["sealer"]) == "kind,row_id,login,password\n"
        assert reveal_job_credentials(session, "j1", world["sealer"]) == {}  # the job's are the Contrôleur's only
        assert reveal_credentials(session, world["b"], world["sealer"]).count("\n") == 5  # B's still there


def test_a_teacher_sees_their_week_as_html_and_json(world):
    assert _login(world, "teachers", *world["creds"]["T1"]).status_code == 303
    page = world["client"].get(f"/espaces/{world['a']}/teachers/?week=1")
    assert page.status_code == 200 and "<th scope=\"col\">Début</th>" in page.text and "Ada Lovelace" in page.text
    week = world["client"].get(f"/espaces/{world['a']}/teachers/week.json?week=1").json()
    assert [c["course"] for c in week["courses"]] == ["C004", "C001", "C002"]  # in time order
    assert week["courses"][0]["date"] == "2026-09-01" and week["courses"][0]["start"] == "08:00"
    assert week["base_id"] == "b1"
    assert world["client"].get(f"/espaces/{world['a']}/teachers/week.json?week=3").json()["courses"] == []


def test_a_student_sees_their_groups_and_their_ancestors(world):
    _login(world, "students", *world["creds"]["E1"])
    week = world["client"].get(f"/espaces/{world['a']}/students/week.json?week=2").json()
    assert [c["course"] for c in week["courses"]] == ["C001", "C002", "C003"]


def test_isolation_between_plannings_and_espaces(world):
    client = world["client"]
    _login(world, "students", *world["creds"]["E1"])
    assert client.get(f"/espaces/{world['a']}/secretariat/week.json").status_code == 401
    assert _login(world, "secretariat", *world["creds"]["E1"]).status_code == 401  # not a staff login
    assert _login(world, "secretariat", "viewer", "staff-pass-1").status_code == 401  # rights do not open it
    assert _login(world, "secretariat", "sec", "staff-pass-1").status_code == 303
    listed = client.get(f"/espaces/{world['a']}/secretariat/week.json?week=1&teacher=T2").json()
    assert [c["course"] for c in listed["courses"]] == ["C002", "C003"]
    with world["rt"].db.transaction() as session:  # the profile loses its right: the session ends with it
        profile = session.query(Profile).filter_by(planning_id=world["a"], name="sec").one()
        profile.rights = ["courses.read"]
    assert client.get(f"/espaces/{world['a']}/secretariat/week.json?week=1").status_code == 401
    cookie = next(c for c in client.cookies.jar if c.name.endswith("_students"))
    client.cookies.clear()
    for planning in (world["b"], world["d"]):  # A's session presented to B (same hosting) and D (another)
        client.cookies.set(f"hpe_{planning}_students", cookie.value)
        other = client.get(f"/espaces/{planning}/students/week.json")
        assert other.status_code == 401 and other.json()["code"] == "ESPACE_LOGIN_REQUIRED"
    assert _login(world, "secretariat", "sec", "staff-pass-1", planning=world["d"]).status_code == 401
    login, password = world["creds"]["E1"]
    assert _login(world, "students", login, password, planning=world["b"]).status_code == 401  # A's password
    missing = client.get(f"/espaces/{world['c']}/")
    assert missing.status_code == 404 and missing.json()["code"] == "ESPACES_NOT_PUBLISHED"  # C publishes nothing


def test_lockout_after_five_failures(world):
    login, password = world["creds"]["T2"]
    for _ in range(5):
        assert _login(world, "teachers", login, "wrong").status_code == 401
    locked = _login(world, "teachers", login, password)
    assert locked.status_code == 429 and "ESPACE_LOGIN_LOCKED" in locked.text and password not in locked.text


def test_a_removed_row_loses_its_account_and_its_session(world):
    _login(world, "students", *world["creds"]["E2"])
    with world["rt"].db.transaction() as session:
        report = sync_accounts(session, planning_id=world["a"], hosting_number=NUMBER,
                               persons=_persons(students=STUDENTS[:1]), sealer=world["sealer"])
    assert (report.created, report.kept, report.removed) == (0, 3, 1)
    assert world["client"].get(f"/espaces/{world['a']}/students/week.json").status_code == 401
    assert _login(world, "students", *world["creds"]["E1"]).status_code == 303  # the kept one keeps its password


def test_ical_feed_has_the_paris_time_on_both_sides_of_dst_and_is_revocable(world):
    client = world["client"]
    _login(world, "teachers", *world["creds"]["T2"])
    page = client.get(f"/espaces/{world['a']}/teachers/feed").text
    found = re.search(r"<code id=\"feed\">([^<]+)</code>", page)
    assert found is not None
    url = found.group(1)
    answer = client.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(answer.content)
    events = [e for e in calendar.walk("VEVENT")]
    assert len(events) == 6  # C002 and C003, weeks 1, 2 and 9
    starts = sorted(e.decoded("dtstart").astimezone(UTC).isoformat() for e in events if "C002" in str(e["uid"]))
    assert starts == ["2026-09-01T07:00:00+00:00", "2026-09-08T07:00:00+00:00", "2026-10-27T08:00:00+00:00"]
    assert calendar.walk("VTIMEZONE")[0]["tzid"] == "Europe/Paris"
    assert client.get(url, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304
    client.post(f"/espaces/{world['a']}/teachers/feed/revoke")
    assert client.get(url).status_code == 404


def test_the_user_domain_serves_the_planning_at_its_root(world):
    client = world["client"]
    landing = client.get("/", headers={"Host": "edt-a.example.fr"})
    assert landing.status_code == 200 and "Lycée A" in landing.text and 'href="/teachers/"' in landing.text
    assert client.get("/", headers={"Host": "edt-c.example.fr"}).status_code == 404


def test_accounts_are_keyed_by_row(world):
    with world["rt"].db.transaction() as session:
        before = {a.row_id: a.password_hash for a in session.query(EspaceAccount)}
        sync_accounts(session, planning_id=world["a"], hosting_number=NUMBER, persons=_persons(),
                      sealer=world["sealer"])
        after = {a.row_id: a.password_hash for a in session.query(EspaceAccount)}
    assert before == after


def test_a_planning_not_associated_with_hyperplanning_net_serves_nothing(world):
    from hosting.db.models import Planning

    assert world["client"].get(f"/espaces/{world['a']}/").status_code == 200
    with world["rt"].db.transaction() as session:
        session.get(Planning, world["a"]).associate_net = False
    answer = world["client"].get(f"/espaces/{world['a']}/")
    assert answer.status_code == 404 and answer.json()["code"] == "ESPACES_NOT_PUBLISHED"


def test_a_secretariat_user_subscribes_to_a_room_and_revokes_it(world):
    client = world["client"]
    assert _login(world, "secretariat", "sec", "staff-pass-1").status_code == 303
    assert client.get(f"/espaces/{world['a']}/secretariat/feed").json()["code"] == "FEED_OWNER_MISSING"
    page = client.get(f"/espaces/{world['a']}/secretariat/feed?room=R1").text
    found = re.search(r"<code id=\"feed\">([^<]+)</code>", page)
    assert found is not None and "/ical/staff/" in found.group(1)
    events = icalendar.Calendar.from_ical(client.get(found.group(1)).content).walk("VEVENT")
    assert sorted({str(e["uid"]).split("-w")[0] for e in events}) == ["C001", "C003"] and len(events) == 6
    assert {str(e["location"]) for e in events} == {"Amphi"}
    client.post(f"/espaces/{world['a']}/secretariat/feed/revoke")
    assert client.get(found.group(1)).status_code == 404


def test_the_guest_espace_shows_rooms_only_when_the_planning_opens_it(world):
    from hosting.db.models import EspaceSettings

    client = world["client"]
    closed = client.get(f"/espaces/{world['a']}/guest/week.json?week=1&room=R1")
    assert closed.status_code == 404 and closed.json()["code"] == "ESPACE_CLOSED"
    assert "guest/" not in client.get(f"/espaces/{world['a']}/").text
    with world["rt"].db.transaction() as session:
        session.add(EspaceSettings(planning_id=world["a"], guest_rooms=True))
    listed = client.get(f"/espaces/{world['a']}/guest/week.json?week=1&room=R1&teacher=T1").json()
    assert [c["course"] for c in listed["courses"]] == ["C001", "C003"] and listed["title"] == "Amphi"
    page = client.get(f"/espaces/{world['a']}/guest/?week=1")
    assert page.status_code == 200 and '<option value="R1">Amphi</option>' in page.text
    assert "guest/" in client.get(f"/espaces/{world['a']}/").text
    assert client.get(f"/espaces/{world['a']}/guest/feed?room=R1").status_code == 401
