"""The ``hphost`` command line. Every option can also be set by its HPHOST_* variable."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="hphost: the back end of a hosted HYPERPLANNING provider.")


# File-format commands: running one of them needs none of the other modules, whose imports (database,
# broker and job clients) would double the memory of ``hphost hhyp check``. (``profils`` also holds
# ``assign``, a console action: only ``profils check`` is a format command.)
_FORMATS_ONLY = (("hhyp",), ("sample",), ("profils", "check"))


def _group() -> None:
    """hphost: the back end of a hosted HYPERPLANNING provider."""


def _register(args: list[str]) -> None:
    if args[:1] == ["serve"]:  # the server imports its own parts: the CLI's job clients would cost it ~10 MB
        from console import cli_serve

        app.callback()(_group)  # (a Typer app of one command would take "serve" for an extra argument)
        cli_serve.register(app)
        return
    from console import cli_formats

    cli_formats.register(app)
    if any(tuple(args[:len(command)]) == command for command in _FORMATS_ONLY):
        return
    from console import (
        cli_admin,
        cli_demo,
        cli_espaces,
        cli_jobs,
        cli_life,
        cli_operator,
        cli_run,
        cli_serve,
        cli_tokens,
    )

    cli_admin.register(app, cli_formats.profils_app)
    cli_life.register(app)
    cli_jobs.register(app)
    cli_run.register(app)
    cli_demo.register(app)
    cli_serve.register(app)
    cli_tokens.register(app)
    cli_operator.register(app)
    cli_espaces.register(app)


def main() -> None:
    from config.errors import SettingError
    from config.logging import configure_logging
    from config.settings import get_settings
    from console.output import refused_before_start
    from hosting.errors import InvalidSetting

    try:
        settings = get_settings()
    except SettingError as refused:
        refused_before_start(InvalidSetting.of(refused), as_json="--json" in sys.argv)
    configure_logging("WARNING" if settings.log_level.upper() == "INFO" else settings.log_level, settings.log_json)
    _register(sys.argv[1:])
    app()
