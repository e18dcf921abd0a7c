"""Checks at the door: `base load`, `base create` and `profils assign` refuse a bad input as
`hhyp check` / `profils check` would, before anything is uploaded or enqueued (no worker runs here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hphost_samples.generator import generate_sample

pytestmark = pytest.mark.timeout(300)

SAMPLES = Path(__file__).parent.parent / "samples"
HPHOST = [sys.executable, "-m", "console"]
HOSTING, OTHER = "123456789012", "210987654321"


def hphost(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HPHOST, *args], env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("door")
    env = {**os.environ, "HPHOST_HOME": str(home / "home")}
    for number, name in ((HOSTING, "EDT"), (OTHER, "Autre")):
        assert hphost(env, "hosting", "create", number).returncode == 0
        done = hphost(env, "planning", "create", "--hosting", number, "--name", name, "--domain",
                      f"{name.lower()}.example.edu", "--controller-domain", f"ctl.{name.lower()}.example.edu")
        assert done.returncode == 0, done.stderr
    return env


def refusal(done: subprocess.CompletedProcess[str]) -> dict:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    out = json.loads(done.stdout)
    return {"code": out["code"], "message": out["message"], "where": out["where"]}


def check_refusal(env: dict[str, str], command: str, path: Path, *options: str) -> dict:
    return refusal(hphost(env, command, "check", str(path), *options, "--json"))


def nothing_stored_or_queued(env: dict[str, str]) -> None:
    incoming = Path(env["HPHOST_HOME"]) / "objects" / "incoming"
    stored = [path for path in incoming.rglob("*") if path.is_file()] if incoming.exists() else []
    assert stored == []
    assert json.loads(hphost(env, "jobs", "list", "--json").stdout)["jobs"] == []


def bad_hhyp_files(tmp_path: Path) -> dict[str, Path]:
    sample = (SAMPLES / "small.HHYP").read_bytes()
    files = {"truncated": sample[: len(sample) // 2], "not_zip": b"PK? not an archive\n" * 100,
             "end_only": sample[-22:]}
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.HHYP"
        paths[name].write_bytes(data)
    paths["zip_name"] = tmp_path / "base.zip"
    shutil.copy(SAMPLES / "small.HHYP", paths["zip_name"])
    paths["directory"] = tmp_path / "folder.HHYP"
    paths["directory"].mkdir()
    paths["plain_directory"] = tmp_path / "somedir"
    paths["plain_directory"].mkdir()
    paths["missing"] = tmp_path / "missing.HHYP"
    return paths


def test_a_bad_hhyp_is_refused_at_the_door_as_hhyp_check_refuses_it(env, tmp_path):
    codes = {}
    for name, path in bad_hhyp_files(tmp_path).items():
        expected = check_refusal(env, "hhyp", path, "--hosting-number", HOSTING)
        got = refusal(hphost(env, "base", "load", "EDT", f"{path}/" if "dir" in name else str(path),
                             "--no-wait", "--json"))
        assert got == expected, name
        codes[name] = got["code"]
        nothing_stored_or_queued(env)
    assert codes["zip_name"] == "HHYP_FILE_NAME" and codes["not_zip"] == "HHYP_NOT_ZIP"
    assert codes["directory"] == codes["plain_directory"] == codes["missing"] == "NOT_FOUND"


def test_a_folder_given_as_a_file_is_a_plain_not_found(env, tmp_path):
    for args in (["base", "load", "EDT", str(tmp_path) + "/"], ["profils", "assign", "EDT", str(tmp_path)],
                 ["base", "load", "EDT", str(SAMPLES / "small.HHYP"), "--profils", str(tmp_path)]):
        done = hphost(env, *args, "--no-wait")
        assert done.returncode == 2 and "Traceback" not in done.stderr, args
        assert done.stderr == f"error NOT_FOUND: {tmp_path} is a directory, not a file. (path={tmp_path})\n"
    nothing_stored_or_queued(env)


def test_another_hostings_hhyp_is_refused_at_the_door(env):
    expected = check_refusal(env, "hhyp", SAMPLES / "small.HHYP", "--hosting-number", OTHER)
    got = refusal(hphost(env, "base", "load", "Autre", str(SAMPLES / "small.HHYP"), "--no-wait", "--json"))
    assert got == expected and got["code"] == "HHYP_WRONG_HOSTING_NUMBER"
    nothing_stored_or_queued(env)


def test_a_profils_with_a_clear_password_is_never_stored(env, tmp_path):
    document = json.loads((SAMPLES / "small.profils").read_text(encoding="utf-8"))
    document["users"][3]["password"] = "Secret-42"
    bad = tmp_path / "users.profils"
    bad.write_text(json.dumps(document), encoding="utf-8")
    expected = check_refusal(env, "profils", bad)
    assert (expected["code"], expected["where"]) == ("PROFILS_CLEAR_PASSWORD", {"field": "users[3].password"})
    for args in (["profils", "assign", "EDT", str(bad)],
                 ["base", "load", "EDT", str(SAMPLES / "small.HHYP"), "--profils", str(bad)]):
        done = hphost(env, *args, "--no-wait", "--json")
        assert refusal(done) == expected, args
        assert "Secret-42" not in done.stdout + done.stderr
        nothing_stored_or_queued(env)


def test_the_planning_is_looked_up_before_any_file_is_read(env, tmp_path):
    for args in (["base", "load", "Nowhere", str(tmp_path / "missing.HHYP")],
                 ["profils", "assign", "Nowhere", str(tmp_path / "missing.profils")]):
        got = refusal(hphost(env, *args, "--no-wait", "--json"))
        assert (got["code"], got["where"]) == ("NOT_FOUND", {"planning": "Nowhere"}), args
    nothing_stored_or_queued(env)


def test_a_missing_or_folder_grid_is_a_plain_not_found(env, tmp_path):
    folder = tmp_path / "grids"
    folder.mkdir()
    for grid in (tmp_path / "missing.json", folder):
        done = hphost(env, "base", "create", "EDT", "--grid", str(grid), "--no-wait")
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.startswith("error NOT_FOUND: "), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    nothing_stored_or_queued(env)


def test_a_reused_key_is_the_same_job_or_a_refusal(tmp_path):
    env = {**os.environ, "HPHOST_HOME": str(tmp_path / "home")}
    assert hphost(env, "hosting", "create", HOSTING).returncode == 0
    assert hphost(env, "planning", "create", "--hosting", HOSTING, "--name", "EDT", "--domain", "edt.example.edu",
                  "--controller-domain", "ctl.example.edu").returncode == 0
    copy = tmp_path / "copy.HHYP"
    shutil.copy(SAMPLES / "small.HHYP", copy)
    load = ["base", "load", "EDT", "--idempotency-key", "click-1", "--no-wait", "--json"]
    first = json.loads(hphost(env, *load[:3], str(SAMPLES / "small.HHYP"), *load[3:]).stdout)["job"]
    again = json.loads(hphost(env, *load[:3], str(copy), *load[3:]).stdout)["job"]  # same bytes, same request
    assert again["id"] == first["id"]
    incoming = Path(env["HPHOST_HOME"]) / "objects" / "incoming"
    assert len([path for path in incoming.rglob("*") if path.is_file()]) == 1  # the second upload was deleted
    other = tmp_path / "other.HHYP"
    generate_sample(other, hosting_number=HOSTING, preset="small", seed=9)
    refused = refusal(hphost(env, *load[:3], str(other), *load[3:]))
    assert (refused["code"], refused["where"]) == ("IDEMPOTENCY_KEY_REUSED", {"idempotency_key": "click-1"})
    assert len([path for path in incoming.rglob("*") if path.is_file()]) == 1
