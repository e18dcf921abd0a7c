"""The README's commands run as printed: one command a line, each one hphost parses; its grid.json is accepted."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

README = Path(__file__).parents[2] / "README.md"
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", "<", "[", "]"}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def shell_lines() -> list[str]:
    return [line for block in blocks("bash") for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def hphost_command() -> Any:
    from console.cli import _register, app

    _register([])  # every command, as `hphost` without arguments registers them
    return typer.main.get_command(app)  # (a group of typer's own copy of click)


def parse(group: Any, args: list[str]) -> Any:
    """The command ``args`` names, its options and arguments parsed as `hphost` would (no callback runs)."""
    ctx = group.make_context("hphost", list(args))
    command = group
    while hasattr(command, "resolve_command"):  # a group: on to its subcommand
        name, sub, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert sub is not None and name is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return command


@pytest.mark.parametrize("line", shell_lines())
def test_each_readme_line_is_one_command(line: str) -> None:
    assert not line.rstrip().endswith("\\"), "a command continued on the next line"
    words = shlex.split(line, comments=True)
    assert not SHELL_OPERATORS & set(words) and not any("|" in word for word in words), words


@pytest.mark.parametrize("line", [line for line in shell_lines() if "bin/hphost " in line])
def test_each_readme_hphost_line_parses(line: str) -> None:
    parse(hphost_command(), shlex.split(line, comments=True)[1:])


def test_the_readme_shows_setup() -> None:
    assert any(shlex.split(line)[1:] == ["setup"] for line in shell_lines() if "bin/hphost" in line)


def test_the_readme_grid_json_is_accepted_by_base_create(tmp_path: Path) -> None:
    from console.cli_admin import _grid_file
    from hosting.timegrid import TimeGrid

    (grid,) = blocks("json")
    path = tmp_path / "grid.json"
    path.write_text(grid, encoding="utf-8")
    assert TimeGrid.from_dict(_grid_file(path)).to_dict() == TimeGrid.from_dict(json.loads(grid)).to_dict()
