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
    done = hphost({**env, "HPHOST_DATABASE_URL": url, "HPHOST_SECRET_KEY": Fernet.generate_key().decode()},
                  "jobs", "list", "--json")
    assert done.returncode == 3, done.stdout + done.stderr
    refusal = json.loads(done.stdout)
    assert refusal["code"] == "DATABASE_UNAVAILABLE" and f"127.0.0.1:{port}" in refusal["message"]
    assert "Traceback" not in done.stderr and "pw-secret" not in done.stdout + done.stderr


def test_a_command_refuses_an_unmigrated_database_and_leaves_it_empty(env, empty_database):
    server = {**env, "HPHOST_DATABASE_URL": empty_database, "HPHOST_SECRET_KEY": Fernet.generate_key().decode()}
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
    server = {**env, "HPHOST_DATABASE_URL": empty_database, "HPHOST_SECRET_KEY": Fernet.generate_key().decode()}
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
