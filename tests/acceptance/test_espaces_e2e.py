"""The Espaces end to end: the school sample loaded by real workers, served by a real ``hphost serve``.

Expected courses come from the sample's own rows (the generator), never from the read models.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path

import httpx2
import icalendar
import pytest

from hosting.timegrid import TimeGrid
from hphost_samples.generator import SAMPLE_GRID, generate_sample, preset_shape
from hphost_samples.institution import Institution
from tests.support.hphost_stack import HOSTING, embedded_stack, server_stack
from tests.support.poll import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]
HPHOST = [sys.executable, "-m", "console"]
WEEK = 8  # 2026-10-19: the week before the change to winter time (2026-10-25)


def _institution(seed: int) -> Institution:
    return Institution(preset_shape("school"), TimeGrid.from_dict(SAMPLE_GRID), seed)


def _expected(institution: Institution, owners: set[str], column: str, week: int | None = None) -> dict[str, dict]:
    """Placements of the courses of ``owners`` (in ``column``) by course id (only those of ``week`` when given)."""
    found = {}
    for course in institution.courses():
        placement = course.get("placement")
        if placement and owners & set(course[column]) and (week is None or week in placement["weeks"]):
            found[course["id"]] = placement
    return found


def _lineage(institution: Institution, groups: list[str]) -> set[str]:
    """The groups and their ancestors."""
    parents = {g["id"]: g.get("parent") for g in institution.groups()}
    found: set[str] = set()
    for group in groups:
        node: str | None = group
        while node is not None:
            found.add(node)
            node = parents[node]
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", params=["embedded", "redis"])
def site(request, tmp_path_factory):
    """Workers and a server on the embedded default, and on PostgreSQL and S3 (moto) with Redis."""
    home = tmp_path_factory.mktemp(f"espaces-{request.param}")
    if request.param == "embedded":
        stack = embedded_stack(home)
    else:
        stack = server_stack("redis", home, broker_url=request.getfixturevalue("redis_server").url,
                             postgres_url=request.getfixturevalue("postgres_server").url,
                             s3_endpoint=request.getfixturevalue("moto_server").url)
    stack.create_hosting(HOSTING)
    stack.start_workers(1, concurrency=2)
    port = _free_port()
    with (home / "serve.log").open("wb") as log:
        server = subprocess.Popen([*HPHOST, "serve", "--port", str(port)], env={**os.environ, **stack.env},
                                  stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx2.get(f"{base_url}/v1/health", timeout=2).status_code == 200
        except httpx2.HTTPError:
            return False

    assert wait_until(healthy, timeout_s=60), (home / "serve.log").read_text()
    yield stack, base_url, home
    server.terminate()
    server.wait(timeout=20)
    stack.close()
    shutil.copyfile(home / "serve.log", Path(tempfile.gettempdir()) / f"espaces-serve-{request.param}.log")  # kept
    shutil.rmtree(home, ignore_errors=True)


def _load(stack, planning: str, home: Path, seed: int) -> str:
    hhyp, profils = home / f"school-{seed}.HHYP", home / f"school-{seed}.profils"
    generate_sample(hhyp, hosting_number=HOSTING, preset="school", seed=seed, profils_path=profils)
    job = stack.client.wait(stack.client.enqueue("load_base", planning, hhyp=hhyp, profils=profils).id,
                            timeout_s=300)
    assert job.state == "succeeded", job.error
    return str(job.id)


def _credentials(stack, planning: str) -> dict[str, tuple[str, str]]:
    done = subprocess.run([*HPHOST, "espaces", "credentials", planning, "--json"], env={**os.environ, **stack.env},
                          capture_output=True, text=True, timeout=120, check=True)
    rows = csv.DictReader(io.StringIO(json.loads(done.stdout)["csv"]))
    return {r["row_id"]: (r["login"], r["password"]) for r in rows}


def _session(clients: ExitStack, base_url: str, planning: str, espace: str, login: str,
             password: str) -> httpx2.Client:
    client = clients.enter_context(httpx2.Client(base_url=f"{base_url}/espaces/{planning}/", timeout=30))
    answer = client.post(f"{espace}/login", data={"login": login, "password": password})
    assert answer.status_code == 303, answer.text
    return client


def _week_ids(client: httpx2.Client, espace: str, week: int) -> set[str]:
    answer = client.get(f"{espace}/week.json", params={"week": week})
    assert answer.status_code == 200, answer.text
    return {c["course"] for c in answer.json()["courses"]}


def test_logins_weeks_feeds_and_a_reload(site):
    with ExitStack() as clients:
        _logins_weeks_feeds_and_a_reload(site, clients)


def _logins_weeks_feeds_and_a_reload(site, clients: ExitStack) -> None:
    stack, base_url, home = site
    planning = stack.new_planning()
    first_job = _load(stack, planning, home, seed=0)
    creds = _credentials(stack, planning)
    shape = preset_shape("school")
    assert len(creds) == shape.teachers + shape.students
    staff_password = stack.client.credentials(first_job)["staff0003"]  # "Secrétariat pédagogique"
    school = _institution(0)
    student = next(iter(school.students()))
    own = _lineage(school, student["groups"])

    teacher = _session(clients, base_url, planning, "teachers", *creds["T00000"])
    assert _week_ids(teacher, "teachers", WEEK) == set(_expected(school, {"T00000"}, "teachers", WEEK))
    pupil = _session(clients, base_url, planning, "students", *creds[student["id"]])
    assert _week_ids(pupil, "students", WEEK) == set(_expected(school, own, "groups", WEEK))
    assert pupil.get("secretariat/week.json").status_code == 401
    assert pupil.post("secretariat/login", data=dict(zip(("login", "password"), creds[student["id"]],
                                                         strict=True))).status_code == 401
    office = _session(clients, base_url, planning, "secretariat", "staff0003", staff_password)
    assert _week_ids(office, "secretariat", WEEK) >= _week_ids(teacher, "teachers", WEEK)

    found = re.search(r'<code id="feed">([^<]+)</code>', teacher.get("teachers/feed").text)
    assert found is not None
    feed_url = found.group(1)
    _check_feed(httpx2.get(feed_url, timeout=30).content, _expected(school, {"T00000"}, "teachers"))

    old_body = httpx2.get(feed_url, timeout=30).content
    answers, stop = _poll(feed_url)
    _load(stack, planning, home, seed=1)  # next month's base: other courses, the same rows
    new_body = httpx2.get(feed_url, timeout=30).content
    assert wait_until(lambda: any(body == new_body for _, body in answers), timeout_s=30)
    stop.set()
    assert new_body != old_body and answers[0][1] == old_body
    assert {status for status, _ in answers} == {200}
    assert {body for _, body in answers} <= {old_body, new_body}  # wholly old or wholly new, never a mix
    _check_feed(new_body, _expected(_institution(1), {"T00000"}, "teachers"))
    assert _credentials(stack, planning) == {}  # no new account: every row kept its own
    shown = json.loads(subprocess.run([*HPHOST, "espaces", "show", planning, "--json"], env={**os.environ, **stack.env},
                                      capture_output=True, text=True, timeout=120, check=True).stdout)
    assert shown["accounts"] == len(creds) and shown["espaces"]["secretariat"]["records"] == shape.courses
    assert shown["base_id"] is not None and shown["base_id"] != first_job
    again = _session(clients, base_url, planning, "teachers", *creds["T00000"])  # the same password after the reload
    assert _week_ids(again, "teachers", WEEK) == set(_expected(_institution(1), {"T00000"}, "teachers", WEEK))

    guest = clients.enter_context(httpx2.Client(base_url=f"{base_url}/espaces/{planning}/", timeout=30))
    assert guest.get("guest/week.json", params={"room": "R0001"}).status_code == 404  # closed by default
    subprocess.run([*HPHOST, "espaces", "guest", planning, "--open"], env={**os.environ, **stack.env},
                   capture_output=True, timeout=120, check=True)
    rooms = guest.get("guest/week.json", params={"room": "R0001", "week": WEEK}).json()["courses"]
    assert {c["course"] for c in rooms} == set(_expected(_institution(1), {"R0001"}, "rooms", WEEK))


def _poll(url: str) -> tuple[list[tuple[int, bytes]], threading.Event]:
    """A reader asking for ``url`` every 100 ms until told to stop: its answers."""
    answers: list[tuple[int, bytes]] = []
    stop = threading.Event()

    def run() -> None:
        with httpx2.Client(timeout=30) as client:
            while not stop.wait(0.1):
                answer = client.get(url)
                answers.append((answer.status_code, answer.content))

    threading.Thread(target=run, daemon=True).start()
    return answers, stop


def _check_feed(body: bytes, expected: dict[str, dict]) -> None:
    """One event per course and week of the grid, at the sample's wall-clock time, in Europe/Paris."""
    calendar = icalendar.Calendar.from_ical(body)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == sum(len(p["weeks"]) for p in expected.values())
    assert {str(e["uid"]).split("-w")[0] for e in events} == set(expected)
    step = int(str(SAMPLE_GRID["sequence_minutes"])) // int(str(SAMPLE_GRID["steps_per_sequence"]))
    for event in events:
        start = event.decoded("dtstart")
        clock = dt.datetime(2000, 1, 1, 8) + dt.timedelta(minutes=expected[str(event["uid"]).split("-w")[0]][
            "start_step"] * step)
        assert (start.hour, start.minute) == (clock.hour, clock.minute)
    winter = (dt.date(2026, 10, 25), dt.date(2027, 3, 28))  # Europe/Paris: CET (+1) between these, CEST (+2) outside
    sides = {(winter[0] <= e.decoded("dtstart").date() < winter[1], e.decoded("dtstart").utcoffset()) for e in events}
    assert sides == {(False, dt.timedelta(hours=2)), (True, dt.timedelta(hours=1))}


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = Path(__file__).parents[2] / "docs" / "espaces-week.png"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed")
def test_a_browser_opens_a_timetable_page(site, tmp_path):
    """Headless Chromium logs in through the form and renders a teacher's week (the screenshot of docs/espaces.md)."""
    stack, base_url, home = site
    if stack.name != "embedded":
        pytest.skip("one browser run is enough: the page does not depend on the stack")
    planning = stack.new_planning()
    _load(stack, planning, home, seed=0)
    login, password = _credentials(stack, planning)["T00001"]
    form = tmp_path / "login.html"  # the login form, submitted as a person would, then the redirect to the week
    form.write_text(f"""<!doctype html><body onload="document.forms[0].submit()">
<form method="post" action="{base_url}/espaces/{planning}/teachers/login">
<input name="login" value="{login}"><input name="password" value="{password}"></form></body>""")
    shot = tmp_path / "week.png"
    # On a loaded machine headless Chromium may end its virtual time before the redirect is drawn and print
    # nothing: a few attempts, each with a fresh profile, the DOM checked before the screenshot is kept.
    for attempt in range(3):
        browse = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  f"--user-data-dir={tmp_path / f'profile{attempt}'}", "--virtual-time-budget=10000",
                  "--window-size=1100,900"]
        dom = subprocess.run([*browse, "--dump-dom", form.as_uri()], capture_output=True, text=True, timeout=120)
        if dom.stdout:
            break
    assert "<caption>Cours de la semaine" in dom.stdout and "Se déconnecter" in dom.stdout, dom.returncode
    subprocess.run([*browse, f"--screenshot={shot}", form.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    if os.environ.get("HPHOST_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT)
