"""Tenants from the command line: planning names per hosting, and the console login's lockout."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from tests.acceptance.test_cli_jobs import GRID, hphost

pytestmark = pytest.mark.timeout(300)

FIRST, SECOND = "111111111111", "222222222222"


@pytest.fixture
def env(tmp_path):
    environ = {**os.environ, "HPHOST_HOME": str(tmp_path / "home")}
    environ.pop("HPHOST_HOSTING", None)
    return environ


def _refusal(done) -> dict:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stdout + done.stderr
    return json.loads(done.stdout)


def _create_planning(env, hosting: str, name: str, domain: str, *extra: str, check: bool = True):
    return hphost(env, "planning", "create", "--hosting", hosting, "--name", name, "--domain", domain,
                  "--controller-domain", f"ctl-{hosting}.example.edu", *extra, "--json", check=check)


def test_two_hostings_each_have_their_lycee_a(env, tmp_path):
    hphost(env, "hosting", "create", FIRST)
    hphost(env, "hosting", "create", SECOND)
    first = json.loads(_create_planning(env, FIRST, "Lycée A", "a1.example.edu").stdout)["planning"]
    second = json.loads(_create_planning(env, SECOND, "Lycée A", "a2.example.edu").stdout)["planning"]
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(GRID))

    as_first = {**env, "HPHOST_HOSTING": FIRST}  # the first hosting's operator, once for all commands
    job = json.loads(hphost(as_first, "base", "create", "Lycée A", "--grid", str(grid), "--no-wait",
                            "--json").stdout)["job"]
    assert job["planning_id"] == first["id"]
    hphost(env, "jobs", "cancel", job["id"])
    job = json.loads(hphost(env, "base", "create", "Lycée A", "--hosting", FIRST, "--grid", str(grid),
                            "--no-wait", "--json").stdout)["job"]
    assert job["planning_id"] == first["id"]
    ambiguous = _refusal(hphost(env, "base", "create", "Lycée A", "--grid", str(grid), "--no-wait", "--json",
                                check=False))
    assert ambiguous["code"] == "PLANNING_AMBIGUOUS" and ambiguous["where"]["hostings"] == [FIRST, SECOND]
    listed = json.loads(hphost(env, "jobs", "list", "--planning", "Lycée A", "--hosting", FIRST, "--json").stdout)
    assert [j["id"] for j in listed["jobs"]][0] == job["id"] and len(listed["jobs"]) == 2
    from_env = {**env, "HPHOST_HOSTING": SECOND}
    assert json.loads(hphost(from_env, "jobs", "list", "--planning", "Lycée A", "--json").stdout)["jobs"] == []
    shown = json.loads(hphost(from_env, "planning", "show", "Lycée A", "--json").stdout)["planning"]
    assert shown["id"] == second["id"]
    assert json.loads(hphost(env, "planning", "show", second["id"], "--json").stdout)["planning"]["name"] == "Lycée A"

    taken = _refusal(_create_planning(env, FIRST, "Lycée A", "a3.example.edu", check=False))
    assert (taken["code"], taken["where"]["field"]) == ("PLANNING_NAME_TAKEN", "name")
    _create_planning(env, FIRST, "Lycée B", "b1.example.edu")
    renamed = _refusal(hphost(env, "planning", "configure", "Lycée B", "--hosting", FIRST, "--name", "Lycée A",
                              "--json", check=False))
    assert renamed["code"] == "PLANNING_NAME_TAKEN"

    plannings = json.loads(hphost(env, "planning", "list", "--json").stdout)["plannings"]
    assert [(p["hosting_number"], p["name"]) for p in plannings] == [
        (FIRST, "Lycée A"), (FIRST, "Lycée B"), (SECOND, "Lycée A")]
    only = json.loads(hphost(env, "planning", "list", "--hosting", SECOND, "--json").stdout)["plannings"]
    assert [p["id"] for p in only] == [second["id"]]
    hostings = json.loads(hphost(env, "hosting", "list", "--json").stdout)["hostings"]
    assert [(h["number"], h["plannings"]) for h in hostings] == [(FIRST, 2), (SECOND, 1)]


@pytest.mark.parametrize(("flag", "field"), [("--domain", "domain"), ("--controller-domain", "controller_domain")])
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_an_ip_address_is_refused_as_a_domain(env, flag, field, address):
    hphost(env, "hosting", "create", FIRST)
    options = {"--domain": "p.example.edu", "--controller-domain": "ctl.example.edu", flag: address}
    created = hphost(env, "planning", "create", "--hosting", FIRST, "--name", "P",
                     *[x for pair in options.items() for x in pair], "--json", check=False)
    assert (_refusal(created)["code"], _refusal(created)["where"]) == ("INVALID_INPUT", {"field": field})
    _create_planning(env, FIRST, "P", "p.example.edu")
    configured = hphost(env, "planning", "configure", "P", flag, address, "--json", check=False)
    assert (_refusal(configured)["code"], _refusal(configured)["where"]) == ("INVALID_INPUT", {"field": field})


def test_the_sixth_login_is_locked_even_with_the_right_password(env, tmp_path):
    password = json.loads(hphost(env, "hosting", "create", FIRST, "--json").stdout)["console_password"]
    right = {**env, "HPHOST_CONSOLE_PASSWORD": password}
    hphost(right, "hosting", "login", FIRST, "--invoice", "5550001234")
    for _ in range(5):
        wrong = hphost({**env, "HPHOST_CONSOLE_PASSWORD": "not-it"}, "hosting", "login", FIRST, "--json",
                       check=False)
        assert _refusal(wrong)["code"] == "BAD_CREDENTIALS"
    locked = _refusal(hphost(right, "hosting", "login", FIRST, "--json", check=False))
    assert (locked["code"], locked["where"]) == ("LOGIN_LOCKED", {"hosting_number": FIRST})
    with sqlite3.connect(tmp_path / "home" / "control.db") as db:
        rows = db.execute("SELECT action, hosting_number, data FROM audit_events ORDER BY id").fetchall()
    assert rows[-1][:2] == ("security.login_locked", FIRST)
    assert not any(password in repr(row) or "5550001234" in repr(row) for row in rows)
