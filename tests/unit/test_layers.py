"""The layers of docs/ARCHITECTURE.md hold (lint-imports, the contract in pyproject.toml), and the contract
can fail: in a copy of the sources where a hosting module imports tasks, lint-imports refuses it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = ("console", "web", "tasks", "workers", "hosting", "config", "hphost_client")


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=project, capture_output=True, text=True,
                          timeout=120, check=False)


def _copy_of_the_sources(into: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, into / package, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    return into


def test_the_sources_keep_their_layers() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("hosting/upward.py", "from tasks.dispatch import dispatch", "hosting.upward -> tasks.dispatch"),
    ("config/upward.py", "from hosting.errors import InvalidSetting", "config.upward -> hosting.errors"),
    ("hosting/pipeline/upward.py", "from hosting.jobs import delivery",
     "hosting.pipeline.upward -> hosting.jobs.delivery"),
    ("hphost_client/inward.py", "from config.settings import Settings", "hphost_client.inward -> config.settings"),
], ids=["hosting-imports-tasks", "config-imports-hosting", "stage-imports-orchestration", "client-imports-server"])
def test_an_import_against_a_contract_breaks_it(tmp_path: Path, module: str, line: str, broken: str) -> None:
    project = _copy_of_the_sources(tmp_path)
    assert _lint_imports(project).returncode == 0
    (project / module).write_text(line + "  # noqa: F401\n")
    done = _lint_imports(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout and broken in done.stdout
