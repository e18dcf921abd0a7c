"""`pip install .` where no C compiler is (CC=false, no gcc or cc on PATH) succeeds; hphost then runs on the
Python paths, says so in `hphost info`, and checks the university sample."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).parents[2]
HOSTING = "123456789012"
# What a checkout holds beside the sources: never copied (a built scanner in particular).
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "*.so", ".mypy_cache",
                                  ".ruff_cache", ".pytest_cache", "var")


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=480)
    assert done.returncode == 0, f"{' '.join(args)} -> {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_pip_install_without_a_compiler_then_hhyp_check_the_university_sample(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    assert not any((bin_dir / tool).exists() for tool in ("gcc", "cc"))
    env = {"HOME": str(tmp_path), "PATH": str(bin_dir), "CC": "false", "HPHOST_HOME": str(tmp_path / "home"),
           **{key: value for key, value in os.environ.items() if key.startswith("PIP_")}}
    assert shutil.which("gcc", path=env["PATH"]) is None and shutil.which("cc", path=env["PATH"]) is None
    run([str(bin_dir / "python"), "-m", "pip", "install", "--no-cache-dir", "."], env, source)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    assert list((site / "hosting" / "formats").glob("_rowscan*.so")) == []

    info = run([str(bin_dir / "hphost"), "info"], env, tmp_path).stdout
    assert '"native_scanner": "no: not built: hphost was installed where no C compiler was"' in info
    run([str(bin_dir / "hphost"), "sample", "u.HHYP", "--hosting-number", HOSTING, "--preset", "university"],
        env, tmp_path)
    checked = run([str(bin_dir / "hphost"), "hhyp", "check", "u.HHYP", "--hosting-number", HOSTING], env, tmp_path)
    assert checked.stdout.startswith("valid: 3206 entries"), checked.stdout
