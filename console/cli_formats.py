"""hphost hhyp check, hphost profils check, hphost sample: the file formats from the command line.

With ``--json`` a check prints exactly one JSON object,
``{"ok", "code", "message", "where", "summary"}``; it exits 0 when the file is
valid and 2 when it is refused. A user's mistake (a missing file, a bad
option) is a refusal with a code, never a traceback. The checks apply the
limits the workers apply (``HPHOST_LIMITS__<NAME>``, see ``Settings.limits``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from config.settings import get_settings
from console.output import EXIT_REFUSED
from hosting.errors import InvalidInput

hhyp_app = typer.Typer(no_args_is_help=True, help="Check .HHYP files (a base bound to a hosting number).")
profils_app = typer.Typer(no_args_is_help=True, help="Check and assign .profils files (users and authorisations).")

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
HostingOpt = Annotated[str | None, typer.Option(
    "--hosting-number", envvar="HPHOST_HOSTING_NUMBER",
    help="Refuse the file unless it is bound to this 12-digit hosting number.")]


@hhyp_app.command("check")
def hhyp_check(file: Path, hosting_number: HostingOpt = None, as_json: JsonOpt = False) -> None:
    """Read a .HHYP through every rule of its format, keeping nothing."""
    from hosting.formats.dry_run import hhyp_summary

    def check() -> dict[str, Any]:  # this process runs nothing else: the reader may tune the interpreter
        return hhyp_summary(file, hosting_number=hosting_number, limits=get_settings().limits, tune_interpreter=True)

    _report(check, as_json, lambda s: f"valid: {s['entries']} entries, {s['bytes']:,} bytes, rows {s['rows']}")


@profils_app.command("check")
def profils_check(file: Path, as_json: JsonOpt = False) -> None:
    """Read a .profils through every rule of its format."""
    from hosting.formats.dry_run import profils_summary

    def check() -> dict[str, Any]:
        return profils_summary(file, limits=get_settings().limits)

    _report(check, as_json, lambda s: f"valid: {s['profiles']} profiles, {s['users']} users")


def sample_command(
    file: Path,
    hosting_number: Annotated[str, typer.Option(envvar="HPHOST_HOSTING_NUMBER",
                                                help="The 12-digit hosting number the base is bound to.")],
    preset: Annotated[str, typer.Option(envvar="HPHOST_SAMPLE_PRESET",
                                        help="small, school or university.")] = "small",
    students: Annotated[int | None, typer.Option(envvar="HPHOST_SAMPLE_STUDENTS",
                                                 help="Scale the preset to this many students.")] = None,
    seed: Annotated[int, typer.Option(envvar="HPHOST_SAMPLE_SEED", help="Same seed, same bytes.")] = 0,
    profils: Annotated[Path | None, typer.Option(envvar="HPHOST_SAMPLE_PROFILS",
                                                 help="Also write the matching .profils here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a deterministic sample .HHYP (and .profils) of a made-up institution."""
    from hphost_samples.generator import PRESETS, generate_sample

    def generate() -> dict[str, Any]:
        if not (len(hosting_number) == 12 and hosting_number.isdigit()):
            raise InvalidInput(field="--hosting-number", reason="12 digits expected",
                               where={"option": "hosting_number"})
        if preset not in PRESETS:
            raise InvalidInput(field="--preset", reason=f"one of {', '.join(PRESETS)}", where={"option": "preset"})
        if students is not None and students < 1:
            raise InvalidInput(field="--students", reason="at least 1", where={"option": "students"})
        _check_suffix(file, ".hhyp", "the sample")
        started = time.perf_counter()
        summary = generate_sample(file, hosting_number=hosting_number, preset=preset, students=students,
                                  seed=seed, profils_path=profils)
        return {**summary.to_dict(), "file": str(file), "seconds": round(time.perf_counter() - started, 3)}

    _report(generate, as_json, lambda s: f"wrote {s['file']}: {s['hhyp_bytes']:,} bytes, rows {s['rows']}")


def register(app: typer.Typer) -> None:
    """Add ``hhyp``, ``profils`` and ``sample`` to the hphost command line."""
    app.add_typer(hhyp_app, name="hhyp")
    app.add_typer(profils_app, name="profils")
    app.command("sample")(sample_command)


def _report(action: Callable[[], dict[str, Any]], as_json: bool, human: Callable[[dict[str, Any]], str]) -> None:
    from hosting.formats.dry_run import outcome

    answer, error = outcome(action)
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, default=str))
    elif error is not None:
        place = ", ".join(f"{key}={value}" for key, value in error.where.items())
        typer.echo(f"refused {error.code}: {error.message}" + (f" ({place})" if place else ""), err=True)
    else:
        typer.echo(human(answer["summary"]))
    if error is not None:
        raise typer.Exit(EXIT_REFUSED)


def _check_suffix(path: Path, suffix: str, what: str) -> None:
    if not path.name.lower().endswith(suffix):
        raise InvalidInput(field="file", reason=f"{what} must be named *{suffix.upper()}", where={"path": str(path)})
