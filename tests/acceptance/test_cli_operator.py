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
