"""hphost operator create|list: the password shown once, only its hash kept, a taken name refused."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(120)
HPHOST = [sys.executable, "-m", "console"]


def test_an_operator_is_created_once_with_its_password_shown_once(tmp_path):
    env = {**os.environ, "HPHOST_HOME": str(tmp_path / "home")}
    made = subprocess.run([*HPHOST, "operator", "create", "alice", "--role", "viewer", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    answer = json.loads(made.stdout)
    assert answer["role"] == "viewer" and len(answer["password"]) == 20
    with sqlite3.connect(tmp_path / "home" / "control.db") as conn:
        (stored,) = conn.execute("SELECT password_hash FROM operators WHERE name = 'alice'").fetchone()
    assert stored.startswith("scrypt$") and answer["password"] not in stored
    again = subprocess.run([*HPHOST, "operator", "create", "alice", "--role", "admin", "--json"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and json.loads(again.stdout)["code"] == "OPERATOR_EXISTS"
    bad_role = subprocess.run([*HPHOST, "operator", "create", "bob", "--role", "root"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert bad_role.returncode == 2 and "Traceback" not in bad_role.stderr
    listed = subprocess.run([*HPHOST, "operator", "list", "--json"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert [o["operator"] for o in json.loads(listed.stdout)["operators"]] == ["alice"]


def test_audit_verify_names_the_edited_row_and_exits_1(tmp_path):
    env = {**os.environ, "HPHOST_HOME": str(tmp_path / "home")}
    for number in ("123456789012", "210987654321"):
        subprocess.run([*HPHOST, "hosting", "create", number], env=env, check=True, capture_output=True, timeout=60)
    intact = subprocess.run([*HPHOST, "audit", "verify", "--json"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert intact.returncode == 0 and json.loads(intact.stdout)["chain"]["ok"] is True
    with sqlite3.connect(tmp_path / "home" / "control.db") as conn:
        (target,) = conn.execute("SELECT id FROM audit_events WHERE hosting_number = '123456789012'").fetchone()
        conn.execute("UPDATE audit_events SET hosting_number = '999999999999' WHERE id = ?", (target,))
    broken = subprocess.run([*HPHOST, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1, broken.stderr
    assert f"BROKEN at row {target}" in broken.stderr and "edited" in broken.stderr
