"""The layers of docs/ARCHITECTURE.md hold (lint-imports, the contract in pyproject.toml), and the contract
can fail: in a copy of the sources where a hosting module imports tasks, lint-imports refuses it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = ("console", "web", "tasks", "workers", "hosting", "config")


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
    assert "2 kept, 0 broken" in done.stdout


def test_a_hosting_module_that_imports_tasks_breaks_the_contract(tmp_path: Path) -> None:
    project = _copy_of_the_sources(tmp_path)
    assert _lint_imports(project).returncode == 0
    (project / "hosting" / "upward.py").write_text("from tasks.dispatch import dispatch  # noqa: F401\n")
    done = _lint_imports(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout and "hosting.upward -> tasks.dispatch" in done.stdout


def test_config_imports_nothing_of_ours(tmp_path: Path) -> None:
    project = _copy_of_the_sources(tmp_path)
    (project / "config" / "upward.py").write_text("from hosting.errors import InvalidSetting  # noqa: F401\n")
    done = _lint_imports(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "config.upward -> hosting.errors" in done.stdout


def test_a_stage_that_imports_the_orchestration_breaks_the_contract(tmp_path: Path) -> None:
    project = _copy_of_the_sources(tmp_path)
    (project / "hosting" / "pipeline" / "upward.py").write_text("from hosting.jobs import delivery  # noqa: F401\n")
    done = _lint_imports(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "hosting.pipeline.upward -> hosting.jobs.delivery" in done.stdout
