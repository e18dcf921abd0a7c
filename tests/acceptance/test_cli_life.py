"""hphost base export|grid and hphost backups … as an operator runs them: real processes, a real worker;
keys rotated (old backups still verify and restore) and a wrong key refused with its code."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hphost_samples.generator import generate_sample

pytestmark = pytest.mark.timeout(400)

HOSTING = "123456789012"
HPHOST = [sys.executable, "-m", "console"]
OLD, NEW, OTHER = (base64.b64encode(os.urandom(32)).decode() for _ in range(3))


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "HPHOST_HOME": str(tmp_path / "home"), "HPHOST_SWEEP_INTERVAL_S": "1",
            "HPHOST_LEASE_S": "6", "HPHOST_HEARTBEAT_S": "1.5", "HPHOST_BACKUP_KEYS": f"k1={OLD}"}


def hphost(env, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*HPHOST, *args], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == code, f"hphost {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done


class Worker:
    def __init__(self, env, log: Path):
        with log.open("ab") as out:
            self.proc = subprocess.Popen([*HPHOST, "worker", "--concurrency", "2"], env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            assert self.proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def test_export_backup_rotate_restore_and_grid_from_the_command_line(env, tmp_path):
    sample = tmp_path / "a.HHYP"
    generate_sample(sample, hosting_number=HOSTING, preset="small", seed=3, profils_path=tmp_path / "a.profils")
    hphost(env, "hosting", "create", HOSTING)
    hphost(env, "planning", "create", "--hosting", HOSTING, "--name", "EDT", "--domain", "edt.example.edu",
           "--controller-domain", "ctl.example.edu")
    worker = Worker(env, tmp_path / "worker1.log")
    try:
        hphost(env, "base", "load", "EDT", str(sample), "--profils", str(tmp_path / "a.profils"))
        hphost(env, "base", "export", "EDT", str(tmp_path / "out.HHYP"), "--profils", str(tmp_path / "out.profils"))
        assert (tmp_path / "out.HHYP").read_bytes() == sample.read_bytes()
        backup = json.loads(hphost(env, "backups", "create", "EDT", "--json").stdout)["job"]["id"]
        listed = json.loads(hphost(env, "backups", "list", "EDT", "--json").stdout)["backups"]
        assert [(b["id"], b["key_id"], b["state"]) for b in listed] == [(backup, "k1", "verified")]
        grid = _grid(sample)
        grid["sequences_per_day"] = 2
        (tmp_path / "grid.json").write_text(json.dumps(grid))
        refused = json.loads(hphost(env, "base", "grid", "EDT", "--grid", str(tmp_path / "grid.json"), "--json",
                                    code=2).stdout)
        assert refused["code"] == "GRID_CHANGE_FAILS_COURSES" and refused["where"]["count"] > 0
    finally:
        worker.stop()
    wrong = {**env, "HPHOST_BACKUP_KEYS": f"k1={OTHER}"}
    refused = json.loads(hphost(wrong, "backups", "verify", backup[:12], "--json", code=2).stdout)
    assert refused["code"] == "BACKUP_KEY_WRONG" and OTHER not in json.dumps(refused)
    served = json.loads(hphost(env, "planning", "show", "EDT", "--json").stdout)["planning"]["current_base_id"]
    worker = Worker(wrong, tmp_path / "worker-wrong.log")
    try:  # a restore whose worker holds the wrong key fails with the code; the base in service stays
        failed = json.loads(hphost(wrong, "backups", "restore", "EDT", backup[:12], "--json", code=2).stdout)["job"]
        assert failed["error"]["code"] == "BACKUP_KEY_WRONG"
    finally:
        worker.stop()
    assert json.loads(hphost(env, "planning", "show", "EDT", "--json").stdout)["planning"]["current_base_id"] == served
    rotated = {**env, "HPHOST_BACKUP_KEYS": f"k2={NEW},k1={OLD}"}  # the new key first: new backups use it
    hphost(rotated, "backups", "verify", backup[:12])
    worker = Worker(rotated, tmp_path / "worker2.log")
    try:
        hphost(rotated, "base", "grid", "EDT", "--grid", str(tmp_path / "grid.json"), "--accept-failures")
        done = json.loads(hphost(rotated, "backups", "restore", "EDT", backup[:12], "--json").stdout)["job"]
        assert done["state"] == "succeeded" and done["kind"] == "restore_base"
        second = json.loads(hphost(rotated, "backups", "create", "EDT", "--json").stdout)["job"]["id"]
        hphost(rotated, "base", "export", "EDT", str(tmp_path / "restored.HHYP"))
        assert (tmp_path / "restored.HHYP").read_bytes() == sample.read_bytes()  # the restored base is the file
    finally:
        worker.stop()
    keys = {b["id"]: b["key_id"] for b in json.loads(hphost(rotated, "backups", "list", "EDT", "--json").stdout)
            ["backups"]}
    assert keys == {backup: "k1", second: "k2"}


def _grid(sample: Path) -> dict:
    import zipfile

    with zipfile.ZipFile(sample) as archive:
        return json.loads(archive.read("manifest.json"))["time_grid"]
