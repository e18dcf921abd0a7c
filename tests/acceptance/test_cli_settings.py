"""Settings, set-up and unreachable parts, as an operator meets them: real `hphost` processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet

pytestmark = pytest.mark.timeout(300)

HPHOST = [sys.executable, "-m", "console"]
BACKUP_KEYS = "k1=" + "A" * 43 + "="  # 32 zero bytes: a key of the right size for settings checks


def hphost(env: dict[str, str], *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HPHOST, *args], env=env, capture_output=True, text=True, timeout=timeout_s)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HPHOST_") or k.startswith("HPHOST_TEST_")}
    return {**base, "HPHOST_HOME": str(tmp_path / "home"), "HPHOST_SWEEP_INTERVAL_S": "0.5"}


@pytest.fixture
def empty_database(postgres_server) -> str:
    """A new, empty PostgreSQL database (no schema)."""
    name = f"hphost_{uuid.uuid4().hex[:10]}"
    admin = postgres_server.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + f"/{name}"


def tables_of(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]


@pytest.mark.parametrize(("variable", "value"), [
    ("HPHOST_LOG_LEVEL", "LOUD"), ("HPHOST_DATABASE_URL", "notaurl"),
    ("HPHOST_DATABASE_URL", "mysql://hp:pw-secret@db.example/hp"), ("HPHOST_LEASE_S", "0"),
    ("HPHOST_LEASE_S", "-5"), ("HPHOST_HEARTBEAT_S", "15"), ("HPHOST_BROKER_URL", "bogus://x"),
])
def test_a_bad_setting_is_refused_at_start_by_its_name(env, variable, value):
    done = hphost({**env, variable: value}, "jobs", "list", "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    refusal = json.loads(done.stdout)
    assert (refusal["code"], refusal["where"]) == ("INVALID_SETTING", {"setting": variable})
    assert "Traceback" not in done.stderr and "pw-secret" not in done.stdout + done.stderr


def test_worker_concurrency_zero_is_refused(env):
    done = hphost(env, "worker", "--concurrency", "0")
    assert done.returncode == 2 and "--concurrency" in done.stderr and "Traceback" not in done.stderr


def test_a_server_control_database_without_secret_key_is_refused(env):
    done = hphost({**env, "HPHOST_DATABASE_URL": "postgresql://hp:pw-secret@127.0.0.1:5432/hp"}, "jobs", "list")
    assert done.returncode == 2
    assert "INVALID_SETTING" in done.stderr and "HPHOST_SECRET_KEY" in done.stderr
    assert "Fernet.generate_key()" in done.stderr and "pw-secret" not in done.stderr


def test_an_unreachable_postgresql_is_unavailable_naming_host_and_port(env):
    port = free_port()  # nothing listens there
    url = f"postgresql://hp:pw-secret@127.0.0.1:{port}/hp"
    done = hphost({**env, "HPHOST_DATABASE_URL": url, "HPHOST_SECRET_KEY": Fernet.generate_key().decode(),
              "HPHOST_BACKUP_KEYS": BACKUP_KEYS},
                  "jobs", "list", "--json")
    assert done.returncode == 3, done.stdout + done.stderr
    refusal = json.loads(done.stdout)
    assert refusal["code"] == "DATABASE_UNAVAILABLE" and f"127.0.0.1:{port}" in refusal["message"]
    assert "Traceback" not in done.stderr and "pw-secret" not in done.stdout + done.stderr


def test_a_command_refuses_an_unmigrated_database_and_leaves_it_empty(env, empty_database):
    server = {**env, "HPHOST_DATABASE_URL": empty_database, "HPHOST_SECRET_KEY": Fernet.generate_key().decode(),
              "HPHOST_BACKUP_KEYS": BACKUP_KEYS}
    for command in (["jobs", "list", "--json"], ["hosting", "create", "123456789012", "--json"]):
        done = hphost(server, *command)
        assert done.returncode == 2, done.stdout + done.stderr
        refusal = json.loads(done.stdout)
        assert refusal["code"] == "SCHEMA_OUTDATED" and "hphost setup" in refusal["message"]
        assert tables_of(empty_database) == []  # not even alembic_version
    for _ in range(2):  # idempotent
        setup = hphost(server, "setup", "--json")
        assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "alembic_version" in tables_of(empty_database)
    assert json.loads(hphost(server, "jobs", "list", "--json").stdout) == {"ok": True, "jobs": []}


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([*HPHOST, "worker", "--concurrency", "1"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(log: Path, text: bytes, proc: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_bytes():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_fresh_embedded_worker_migrates_and_sweeps_without_failing(env, tmp_path):
    log = tmp_path / "worker.log"
    proc = _start_worker(env, log)
    try:
        _wait_for(log, b" ready.", proc)
        _wait_for(log, b"sweeper_started", proc)
        time.sleep(3)  # six sweeps at 0.5 s
    finally:
        _stop(proc)
    assert b"sweep_failed" not in log.read_bytes(), log.read_text()


def test_a_worker_waits_for_setup_with_one_line(env, empty_database, tmp_path):
    server = {**env, "HPHOST_DATABASE_URL": empty_database, "HPHOST_SECRET_KEY": Fernet.generate_key().decode(),
              "HPHOST_BACKUP_KEYS": BACKUP_KEYS}
    log = tmp_path / "worker.log"
    proc = _start_worker(server, log)
    try:
        _wait_for(log, b"waiting_for_schema", proc)
        time.sleep(3)  # six polls at 0.5 s
        assert tables_of(empty_database) == []
        assert hphost(server, "setup").returncode == 0
        _wait_for(log, b" ready.", proc)
        _wait_for(log, b"sweeper_started", proc)
        time.sleep(2)
    finally:
        _stop(proc)
    text = log.read_text()
    assert text.count("waiting_for_schema") == 1 and "SCHEMA_OUTDATED" in text
    assert "sweep_failed" not in text, text


GRID = {"first_monday": "2026-08-31", "weeks": 30, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 8, "sequence_minutes": 60, "steps_per_sequence": 1}


@pytest.fixture
def planning(env, tmp_path) -> Path:
    """A hosting and its planning "EDT"; the grid file to create its base with."""
    for command in (["hosting", "create", "123456789012"],
                    ["planning", "create", "--hosting", "123456789012", "--name", "EDT", "--domain",
                     "edt.example.edu", "--controller-domain", "ctl.example.edu"]):
        assert hphost(env, *command).returncode == 0
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(GRID))
    return grid


def test_waiting_with_no_worker_says_so_and_gives_up_at_the_timeout(env, planning):
    done = hphost(env, "base", "create", "EDT", "--grid", str(planning), "--timeout", "12")
    assert done.returncode == 3, done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("job ") and "queued" in first  # the id at once, before any wait
    job_id = first.split()[1]
    assert f"job {job_id}: waiting for a worker on queue instantiate" in done.stderr
    assert f"WAIT_TIMEOUT: Job {job_id} is still queued" in done.stderr and "Traceback" not in done.stderr
    assert "No hostname was supplied" not in done.stderr  # kombu, on the embedded broker's URL
    shown = json.loads(hphost(env, "jobs", "show", job_id[:12], "--json").stdout)["job"]  # the id the table prints
    assert (shown["id"], shown["state"]) == (job_id, "queued")  # left to run
    assert hphost(env, "jobs", "cancel", job_id[:8]).returncode == 0
    timed_out = hphost(env, "base", "create", "EDT", "--grid", str(planning), "--timeout", "1", "--json")
    assert timed_out.returncode == 3
    refusal = json.loads(timed_out.stdout)
    assert refusal["code"] == "WAIT_TIMEOUT" and len(refusal["where"]["job_id"]) == 32


def test_an_unreachable_broker_is_unavailable_at_enqueue_naming_host_and_port(env, planning):
    port = free_port()
    done = hphost({**env, "HPHOST_BROKER_URL": f"redis://:pw-secret@127.0.0.1:{port}/0"}, "base", "create", "EDT",
                  "--grid", str(planning), "--json", timeout_s=60)
    assert done.returncode == 3, done.stdout + done.stderr
    refusal = json.loads(done.stdout)
    assert refusal["code"] == "BROKER_UNAVAILABLE"
    assert refusal["where"]["broker"] == f"127.0.0.1:{port}"
    assert "pw-secret" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    listed = json.loads(hphost(env, "jobs", "list", "--json").stdout)["jobs"]
    assert [(j["id"], j["state"]) for j in listed] == [(refusal["where"]["job_id"], "queued")]  # for a sweeper


def test_jobs_list_refuses_an_unknown_state(env):
    done = hphost(env, "jobs", "list", "--state", "bogus", "--json")
    assert done.returncode == 2
    assert (json.loads(done.stdout)["code"], json.loads(done.stdout)["where"]) == ("INVALID_INPUT",
                                                                                   {"field": "state"})


def test_control_database_and_base_files_are_private(env, planning, tmp_path):
    home = tmp_path / "home"
    assert (home / "control.db").stat().st_mode & 0o777 == 0o600
    from hosting.basedb.sqlite import SqliteBases

    bases = SqliteBases(tmp_path / "bases")
    bases.build("b1", {"k": 1}, [])
    assert (tmp_path / "bases" / "b1.sqlite").stat().st_mode & 0o777 == 0o600
