"""`hphost worker` refuses settings that share the control DB and broker but keep outputs on this disk."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from config.settings import Settings
from hosting.runtime import machine_local_parts

SHARED = {"database_url": "postgresql://hp@127.0.0.1:1/hp", "broker_url": "redis://127.0.0.1:1/0",
          "secret_key": Fernet.generate_key().decode(),
          "backup_keys": "k1=" + base64.b64encode(os.urandom(32)).decode()}
ON_SERVERS = {"store_url": "s3://bucket", "basedb_url": "postgresql://hp@127.0.0.1:1/hp"}


@pytest.mark.parametrize(("values", "parts"), [
    ({**SHARED, **ON_SERVERS}, []),
    ({**SHARED, "basedb_url": ON_SERVERS["basedb_url"]}, ["HPHOST_STORE_URL"]),
    ({**SHARED, "store_url": "s3://bucket"}, ["HPHOST_BASEDB_URL"]),
    ({**SHARED}, ["HPHOST_STORE_URL", "HPHOST_BASEDB_URL"]),
    ({**SHARED, "single_machine": True}, []),
    ({**SHARED, "broker_url": ""}, []),  # the filesystem broker: one machine
    ({"broker_url": "redis://127.0.0.1:1/0"}, []),  # SQLite control DB: one machine
])
def test_only_a_shared_control_db_and_broker_with_local_outputs_is_unsafe(tmp_path, values, parts):
    assert machine_local_parts(Settings(home=tmp_path, **values)) == parts


def test_hphost_worker_refuses_it_with_its_code_and_the_settings_at_fault(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPHOST_") or k.startswith("HPHOST_TEST_")}
    env.update({"HPHOST_HOME": str(tmp_path), "HPHOST_DATABASE_URL": SHARED["database_url"],
                "HPHOST_BROKER_URL": SHARED["broker_url"], "HPHOST_SECRET_KEY": SHARED["secret_key"],
                "HPHOST_BACKUP_KEYS": SHARED["backup_keys"], "HPHOST_STORE_URL": "s3://bucket"})
    done = subprocess.run([sys.executable, "-m", "console", "worker"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error MULTI_MACHINE_UNSAFE" in done.stderr and "HPHOST_BASEDB_URL" in done.stderr
    assert "Traceback" not in done.stderr and SHARED["secret_key"] not in done.stderr
    assert SHARED["backup_keys"].split("=", 1)[1] not in done.stderr
