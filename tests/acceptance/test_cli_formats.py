"""hphost hhyp check, hphost profils check, hphost sample: as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from console.cli_formats import register

SAMPLES = Path(__file__).parent.parent / "samples"
HPHOST = [sys.executable, "-m", "console"]
HOSTING = "123456789012"
RSS_LIMIT_KB = 150 * 1024


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    return app


def run(cli: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def run_json(cli: typer.Typer, *args: str) -> tuple[int, dict[str, Any]]:
    code, output = run(cli, *args, "--json")
    lines = output.strip().splitlines()
    assert len(lines) == 1, output  # exactly one JSON object
    return code, json.loads(lines[0])


def test_the_shared_samples_pass(cli: typer.Typer) -> None:
    code, out = run_json(cli, "hhyp", "check", str(SAMPLES / "small.HHYP"), "--hosting-number", HOSTING)
    assert (code, out["ok"], out["code"], out["where"]) == (0, True, None, None)
    assert out["summary"]["rows"]["students"] == 40
    code, out = run_json(cli, "profils", "check", str(SAMPLES / "small.profils"))
    assert (code, out["ok"], out["summary"]["users"]) == (0, True, 12)


def test_sample_then_check(cli: typer.Typer, tmp_path: Path) -> None:
    hhyp, profils = tmp_path / "base.HHYP", tmp_path / "users.profils"
    code, out = run_json(cli, "sample", str(hhyp), "--hosting-number", HOSTING, "--preset", "small",
                         "--seed", "4", "--profils", str(profils))
    assert code == 0 and out["ok"] and out["summary"]["rows"]["students"] == 48
    code, out = run_json(cli, "hhyp", "check", str(hhyp), "--hosting-number", HOSTING)
    assert code == 0 and out["summary"]["entries"] == 21
    code, output = run(cli, "hhyp", "check", str(hhyp))
    assert code == 0 and output.startswith("valid: 21 entries")
    code, out = run_json(cli, "profils", "check", str(profils))
    assert code == 0 and out["summary"]["profiles"] == 4


def test_students_scale_the_sample(cli: typer.Typer, tmp_path: Path) -> None:
    code, out = run_json(cli, "sample", str(tmp_path / "b.hhyp"), "--hosting-number", HOSTING, "--students", "96")
    assert code == 0 and out["summary"]["rows"]["students"] == 96 and out["summary"]["rows"]["courses"] == 120


def test_a_refused_base_says_why_and_where(cli: typer.Typer) -> None:
    code, out = run_json(cli, "hhyp", "check", str(SAMPLES / "small.HHYP"), "--hosting-number", "210987654321")
    assert code == 2
    assert out == {"ok": False, "code": "HHYP_WRONG_HOSTING_NUMBER", "message": out["message"],
                   "where": {"entry": "manifest.json", "field": "hosting_number"}, "summary": None}
    assert "210987654321" in out["message"]


def test_a_refusal_in_human_form(cli: typer.Typer, tmp_path: Path) -> None:
    broken = tmp_path / "broken.HHYP"
    broken.write_bytes((SAMPLES / "small.HHYP").read_bytes()[:2000])
    code, output = run(cli, "hhyp", "check", str(broken))
    assert code == 2
    assert output.startswith("refused HHYP_TRUNCATED:")


@pytest.mark.parametrize("command", [["hhyp", "check"], ["profils", "check"]])
def test_a_missing_file_is_a_clear_refusal(cli: typer.Typer, tmp_path: Path, command: list[str]) -> None:
    suffix = ".HHYP" if command[0] == "hhyp" else ".profils"
    code, out = run_json(cli, *command, str(tmp_path / f"absent{suffix}"))
    assert code == 2 and out["code"] == "NOT_FOUND" and out["where"] == {"path": str(tmp_path / f"absent{suffix}")}


def test_a_directory_is_a_clear_refusal(cli: typer.Typer, tmp_path: Path) -> None:
    folder = tmp_path / "folder.HHYP"
    folder.mkdir()
    code, out = run_json(cli, "hhyp", "check", str(folder))  # NOT_FOUND, as base load says it (issue 17, 19)
    assert code == 2 and out["code"] == "NOT_FOUND"
    assert out["message"] == f"{folder} is a directory, not a file."


def test_a_wrongly_named_file_is_refused(cli: typer.Typer) -> None:
    code, out = run_json(cli, "hhyp", "check", str(SAMPLES / "small.profils"))
    assert code == 2 and out["code"] == "HHYP_FILE_NAME"
    code, out = run_json(cli, "profils", "check", str(SAMPLES / "small.HHYP"))
    assert code == 2 and out["code"] == "PROFILS_FILE_NAME"


@pytest.mark.parametrize(("args", "option"), [
    (["--hosting-number", "12345"], "hosting_number"),
    (["--hosting-number", HOSTING, "--preset", "campus"], "preset"),
    (["--hosting-number", HOSTING, "--students", "0"], "students"),
])
def test_sample_refuses_bad_options(cli: typer.Typer, tmp_path: Path, args: list[str], option: str) -> None:
    code, out = run_json(cli, "sample", str(tmp_path / "s.HHYP"), *args)
    assert code == 2 and out["code"] == "INVALID_INPUT" and out["where"] == {"option": option}
    assert not (tmp_path / "s.HHYP").exists()


def test_the_hphost_command_runs_the_checks(tmp_path: Path) -> None:
    done = subprocess.run([*HPHOST, "hhyp", "check", str(SAMPLES / "small.HHYP"), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    bad = tmp_path / "bad.profils"
    bad.write_text('{"format": "HYPERPLANNING-PROFILS", "version": 1}')
    done = subprocess.run([*HPHOST, "profils", "check", str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("refused PROFILS_INVALID")


def test_the_checks_apply_the_limits_the_operator_set() -> None:
    # The same HPHOST_LIMITS__* the workers read: an operator's check gives the stage's verdict.
    for setting, command, code in (
            ("HPHOST_LIMITS__MAX_LINE_BYTES=100", ["hhyp", "check", str(SAMPLES / "small.HHYP")], "HHYP_LINE_TOO_LONG"),
            ("HPHOST_LIMITS__MAX_PROFILS_BYTES=1000", ["profils", "check", str(SAMPLES / "small.profils")],
             "PROFILS_TOO_LARGE")):
        name, value = setting.split("=")
        done = subprocess.run([*HPHOST, *command, "--json"], capture_output=True, text=True, timeout=120,
                              env={**os.environ, name: value})
        assert (done.returncode, json.loads(done.stdout)["code"]) == (2, code), done.stderr


@pytest.mark.parametrize(("name", "value", "setting"), [
    ("HPHOST_LIMITS__MAX_ENTRIES", "many", "HPHOST_LIMITS__MAX_ENTRIES"),
    ("HPHOST_LIMITS__MAX_RATIO", "0", "HPHOST_LIMITS"),
    ("HPHOST_S3_MAX_ATTEMPTS", "hunter2", "HPHOST_S3_MAX_ATTEMPTS"),
])
def test_a_bad_setting_is_a_clear_refusal(name: str, value: str, setting: str) -> None:
    done = subprocess.run([*HPHOST, "hhyp", "check", str(SAMPLES / "small.HHYP"), "--json"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, name: value})
    assert (done.returncode, "Traceback" in done.stderr) == (2, False), done.stderr
    out = json.loads(done.stdout)
    assert (out["code"], out["where"]) == ("INVALID_SETTING", {"setting": setting})
    assert value not in out["message"]  # (a setting may be a secret)


def test_json_nested_too_deep_is_a_clear_refusal(tmp_path: Path) -> None:
    # json.loads recursed until it crashed: a traceback, and nothing said which file was wrong
    deep = "[" * 5000 + "]" * 5000
    (tmp_path / "deep.profils").write_text(deep)
    (tmp_path / "grid.json").write_text(deep)
    env = {**os.environ, "HPHOST_HOME": str(tmp_path / "home")}
    for args, code in ((["profils", "check", str(tmp_path / "deep.profils")], "PROFILS_TOO_DEEP"),
                       (["base", "create", "EDT", "--grid", str(tmp_path / "grid.json")], "INVALID_INPUT")):
        done = subprocess.run([*HPHOST, *args, "--json"], capture_output=True, text=True, timeout=120, env=env)
        assert (done.returncode, "Traceback" in done.stderr) == (2, False), done.stderr
        assert json.loads(done.stdout)["code"] == code


_LOADED = """
import sys
from console.cli import main
sys.argv = ["hphost", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    print(exit.code, *sorted(name for name in ("jsonschema", "sqlalchemy", "celery") if name in sys.modules))
"""


@pytest.mark.parametrize("command", [["hhyp", "check", str(SAMPLES / "small.HHYP")],
                                     ["profils", "check", str(SAMPLES / "small.profils")]])
def test_a_valid_file_is_checked_without_the_heavy_modules(command: list[str]) -> None:
    # jsonschema only explains a refusal; the database and broker clients are for the console's actions.
    done = subprocess.run([sys.executable, "-c", _LOADED, *command, "--json"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0"


def test_a_refusal_loads_jsonschema_to_name_the_fault(tmp_path: Path) -> None:
    bad = tmp_path / "bad.profils"
    bad.write_text('{"format": "HYPERPLANNING-PROFILS", "version": 1}')
    done = subprocess.run([sys.executable, "-c", _LOADED, "profils", "check", str(bad)], capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "2 jsonschema", done.stderr


def peak_rss_kb(args: list[str]) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run ``args`` in a child of a fresh interpreter; return the child's peak RSS."""
    probe = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
             "sys.stderr.write(done.stderr); print(done.returncode); print(done.stdout.strip());"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=280)
    code, stdout, rss = done.stdout.strip().split("\n")
    return int(rss), subprocess.CompletedProcess(args, int(code), stdout, done.stderr)


def test_checking_a_university_stays_under_150_mb(tmp_path: Path) -> None:
    from hphost_samples.generator import generate_sample

    path = tmp_path / "university.HHYP"
    generate_sample(path, hosting_number=HOSTING, preset="university")
    rss_kb, done = peak_rss_kb([*HPHOST, "hhyp", "check", str(path), "--hosting-number", HOSTING, "--json"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["rows"]["courses"] == 100_000
    assert rss_kb < RSS_LIMIT_KB


def test_a_manifest_of_millions_of_tiny_values_is_refused_in_little_memory(tmp_path: Path) -> None:
    # 60 MiB of "[1]," (under the 64 MiB limit, and random digits keep it under the 200:1 ratio) made
    # 15 million objects: 1.7 GB.
    import random
    import zipfile

    head = (b'{"format":"HHYP","version":1,"hosting_number":"123456789012","base_name":"B",'
            b'"generated_at":"2026-09-01T08:00:00+02:00","generator":"g","time_grid":{},"entries":[],"tables":{},'
            b'"x":[')
    items = bytearray(b"[1],") * (15 << 20)
    items[1::4] = random.Random(4).randbytes(15 << 20).translate(bytes(b"0123456789"[byte % 10] for byte in range(256)))
    path = tmp_path / "bomb.HHYP"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", head + items + b"[1]]}")
    rss_kb, done = peak_rss_kb([*HPHOST, "hhyp", "check", str(path), "--json"])
    assert (done.returncode, json.loads(done.stdout)["code"]) == (2, "HHYP_MANIFEST_TOO_COMPLEX"), done.stderr
    assert rss_kb < 400 * 1024


_PROFILS_HEAD = b'{"format":"HYPERPLANNING-PROFILS","version":1,"exported_at":"2026-09-01T08:00:00+02:00",'


@pytest.mark.parametrize(("name", "body", "code", "field"), [
    # 57 MB of 19 million empty arrays for users: 1.59 GB and 18 s before the refusal
    ("arrays", lambda: b'"profiles":[],"users":[[]' + b",[]" * 18_999_999 + b"]}", "PROFILS_INVALID", "users[0]"),
    # 800,000 copies of one unknown right: 36 to 70 s
    ("rights", lambda: b'"profiles":[{"name":"P","rights":["courses.read"'
     + b',"courses.fly_to_the_moon_and_back"' * 800_000 + b']}],"users":[]}',
     "PROFILS_UNKNOWN_RIGHT", "profiles[0].rights[1]"),
])
def test_a_hostile_profils_is_refused_in_little_memory(tmp_path: Path, name: str, body: Callable[[], bytes],
                                                       code: str, field: str) -> None:
    path = tmp_path / f"{name}.profils"
    path.write_bytes(_PROFILS_HEAD + body())
    rss_kb, done = peak_rss_kb([*HPHOST, "profils", "check", str(path), "--json"])
    out = json.loads(done.stdout)
    assert (done.returncode, out["code"], out["where"]) == (2, code, {"field": field}), done.stderr
    assert rss_kb < RSS_LIMIT_KB


def test_peak_rss_does_not_follow_the_archive_size(tmp_path: Path) -> None:
    from hphost_samples.generator import generate_sample

    peaks = []
    for students in (25_000, 100_000):
        path = tmp_path / f"u{students}.HHYP"
        generate_sample(path, hosting_number=HOSTING, preset="university", students=students)
        rss_kb, done = peak_rss_kb([*HPHOST, "hhyp", "check", str(path), "--json"])
        assert done.returncode == 0, done.stderr
        peaks.append(rss_kb)
    assert peaks[1] < RSS_LIMIT_KB
    assert peaks[1] - peaks[0] < 32 * 1024  # 4x the rows and entries: well under 4x the memory


def test_entries_cost_little_memory_each(tmp_path: Path) -> None:
    # 100,000 tiny entries: what is kept of each (its place in the archive, its size and SHA-256 in the
    # manifest) is packed, about 0.55 KB an entry at the peak, against 0.95 KB as objects.
    from hosting.formats.hhyp.writer import HhypWriter
    from hphost_samples.generator import SAMPLE_GRID

    path = tmp_path / "entries.HHYP"
    with HhypWriter(path, hosting_number=HOSTING, base_name="entries", time_grid=SAMPLE_GRID) as writer:
        for index in range(100_000):
            writer.add_file(f"annexes/documents/{index:07d}-a-document-name-of-typical-length.pdf", b"%PDF-1.4\n",
                            compress=False)
    few_kb, done = peak_rss_kb([*HPHOST, "hhyp", "check", str(SAMPLES / "small.HHYP"), "--json"])
    assert done.returncode == 0, done.stderr
    many_kb, done = peak_rss_kb([*HPHOST, "hhyp", "check", str(path), "--json"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["annexes"] == 100_000
    assert many_kb - few_kb < 75 * 1024, (few_kb, many_kb)
