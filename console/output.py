"""How the CLI speaks: one JSON object with --json, readable lines otherwise; errors never as tracebacks."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

from hosting.errors import HphostError

EXIT_REFUSED = 2
EXIT_TRANSIENT = 3


def emit(payload: dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, default=str, ensure_ascii=False))
    else:
        human()


@contextmanager
def refusals(as_json: bool = False) -> Iterator[None]:
    """Turn an hphost error into its code, message and place, and a non-zero exit."""
    try:
        yield
    except HphostError as exc:
        _tell(exc, as_json)
        raise typer.Exit(EXIT_TRANSIENT if exc.transient else EXIT_REFUSED) from None


def refused_before_start(exc: HphostError, as_json: bool) -> NoReturn:
    """The same, before any command runs (a bad setting): exit at once."""
    _tell(exc, as_json)
    sys.exit(EXIT_TRANSIENT if exc.transient else EXIT_REFUSED)


def _tell(exc: HphostError, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"ok": False, **exc.to_dict()}, default=str, ensure_ascii=False))
    else:
        place = ", ".join(f"{k}={v}" for k, v in exc.where.items())
        typer.echo(f"error {exc.code}: {exc.message}" + (f" ({place})" if place else ""), err=True)
