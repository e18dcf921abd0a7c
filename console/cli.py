"""The ``hphost`` command line."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="hphost: hosted HYPERPLANNING back end.")


def _register() -> None:
    from console import cli_formats

    cli_formats.register(app)


def main() -> None:
    _register()
    app()
