"""The CLI as an operator runs it: real `hphost` processes and real `hphost worker` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

SAMPLES = Path(__file__).parent.parent / "samples"
HPHOST = [sys.executable, "-m", "console"]
GRID = {"first_monday": "2026-08-31", "weeks": 30, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 8, "sequence_minutes": 60, "steps_per_sequence": 1}


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "HPHOST_HOME": str(tmp_path / "home"), "HPHOST_SWEEP_INTERVAL_S": "1",
            "HPHOST_LEASE_S": "6", "HPHOST_HEARTBEAT_S": "1.5"}


def hphost(env, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*HPHOST, *args], env=env, capture_output=True, text=True, timeout=240)
    if check and done.returncode != 0:
        raise AssertionError(f"hphost {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture
def worker(env, tmp_path):
    with (tmp_path / "worker.log").open("wb") as log:
        proc = subprocess.Popen([*HPHOST, "worker", "--concurrency", "2"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while b" ready." not in (tmp_path / "worker.log").read_bytes():
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
        time.sleep(0.2)
    yield proc
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_three_console_actions_from_the_command_line(env, worker, tmp_path):
    created = json.loads(hphost(env, "hosting", "create", "123456789012", "--json").stdout)
    assert len(created["console_password"]) == 14
    planning = json.loads(hphost(env, "planning", "create", "--hosting", "123456789012", "--name", "EDT",
                                 "--domain", "edt.example.edu", "--controller-domain", "ctl.example.edu",
                                 "--json").stdout)["planning"]
    assert (planning["associate_net"], planning["time_zone"], planning["publication_name"]) == (
        True, "Europe/Paris", "EDT")
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(GRID))
    job = json.loads(hphost(env, "base", "create", "EDT", "--grid", str(grid), "--json").stdout)["job"]
    assert job["state"] == "succeeded"
    loaded = json.loads(hphost(env, "base", "load", "EDT", str(SAMPLES / "small.HHYP"), "--profils",
                               str(SAMPLES / "small.profils"), "--json").stdout)["job"]
    assert loaded["state"] == "succeeded"
    shown = json.loads(hphost(env, "planning", "show", "EDT", "--json").stdout)["planning"]
    assert shown["current_base_id"] == loaded["id"]
    trail = json.loads(hphost(env, "audit", loaded["id"], "--json").stdout)["audit"]
    assert trail[-1]["action"] == "job.succeeded"
    credentials = json.loads(hphost(env, "jobs", "credentials", loaded["id"], "--json").stdout)["credentials"]
    assert len(credentials) == 12  # the sample's users have no password hash
    assert json.loads(hphost(env, "jobs", "credentials", loaded["id"], "--json").stdout)["credentials"] == {}
    again = json.loads(hphost(env, "profils", "assign", "EDT", str(SAMPLES / "small.profils"), "--json").stdout)
    assert again["job"]["stages"][0]["result"]["users_created"] == 0
    listed = json.loads(hphost(env, "jobs", "list", "--json").stdout)["jobs"]
    assert [j["kind"] for j in listed] == ["assign_profils", "load_base", "create_base"]
    assert json.loads(hphost(env, "fsck", "--json").stdout)["clean"] is True


def test_refusals_are_codes_not_tracebacks(env, worker, tmp_path):
    hphost(env, "hosting", "create", "123456789012")
    bad_domain = hphost(env, "planning", "create", "--hosting", "123456789012", "--name", "X",
                        "--domain", "not a domain", "--controller-domain", "ctl.example.edu", check=False)
    assert bad_domain.returncode == 2
    assert "INVALID_INPUT" in bad_domain.stderr and "Traceback" not in bad_domain.stderr
    hphost(env, "planning", "create", "--hosting", "123456789012", "--name", "EDT",
           "--domain", "edt.example.edu", "--controller-domain", "ctl.example.edu")
    taken = hphost(env, "planning", "create", "--hosting", "123456789012", "--name", "EDT2",
                   "--domain", "edt.example.edu", "--controller-domain", "ctl.example.edu", "--json", check=False)
    assert taken.returncode == 2 and json.loads(taken.stdout)["code"] == "DOMAIN_TAKEN"
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({**GRID, "weeks": 0}))
    bad_grid = hphost(env, "base", "create", "EDT", "--grid", str(grid), "--json", check=False)
    assert bad_grid.returncode == 2  # refused before any job exists, not a job that fails later
    assert (json.loads(bad_grid.stdout)["code"], json.loads(bad_grid.stdout)["where"]) == ("GRID_WEEKS",
                                                                                         {"field": "weeks"})
    assert json.loads(hphost(env, "jobs", "list", "--json").stdout)["jobs"] == []
    missing = hphost(env, "base", "load", "EDT", str(tmp_path / "nope.HHYP"), "--json", check=False)
    assert missing.returncode == 2 and json.loads(missing.stdout)["code"] == "NOT_FOUND"
    assert json.loads(missing.stdout)["where"]["path"].endswith("nope.HHYP")
    broken = tmp_path / "broken.HHYP"
    broken.write_bytes((SAMPLES / "small.HHYP").read_bytes()[:-200])
    failed = hphost(env, "base", "load", "EDT", str(broken), "--json", check=False)
    assert failed.returncode == 2  # refused at the door, as `hhyp check` refuses it: no job
    assert json.loads(failed.stdout)["code"].startswith("HHYP_")
    assert "Traceback" not in failed.stderr
    assert json.loads(hphost(env, "jobs", "list", "--json").stdout)["jobs"] == []
    assert json.loads(hphost(env, "fsck", "--json").stdout)["clean"] is True


def test_demo_ends_with_both_bases_in_service(tmp_path):
    env = {**os.environ}
    env.pop("HPHOST_HOME", None)
    done = subprocess.run([*HPHOST, "demo", "--home", str(tmp_path / "demo"), "--workers", "1"], env=env,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Summary" in done.stdout
    assert done.stdout.count("(in_service)") == 2
    assert "2 of 2 bases in service." in done.stdout


def test_console_login_binds_the_invoice_at_first_login_and_audits_refusals(env):
    password = json.loads(hphost(env, "hosting", "create", "123456789012", "--json").stdout)["console_password"]
    login_env = {**env, "HPHOST_CONSOLE_PASSWORD": password}
    first = hphost(login_env, "hosting", "login", "123456789012", "--json", check=False)
    assert first.returncode == 2 and json.loads(first.stdout)["code"] == "BAD_CREDENTIALS"  # no invoice yet
    hphost(login_env, "hosting", "login", "123456789012", "--invoice", "1234567890")
    hphost(login_env, "hosting", "login", "123456789012")  # bound: the invoice is not asked again
    wrong = hphost({**env, "HPHOST_CONSOLE_PASSWORD": "not-it"}, "hosting", "login", "123456789012", check=False)
    assert wrong.returncode == 2 and password not in wrong.stdout + wrong.stderr
