"""hphost setup|info|worker|sweeper: running the parts."""

from __future__ import annotations

import json
import os
import threading
from typing import Annotated

import typer

from config.celery import STAGE_QUEUES
from config.logging import configure_logging, get_logger
from config.settings import get_settings
from console.output import emit, refusals


def setup_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Create or migrate the control database, and the S3 bucket if the store is S3."""
    from console.client import Client

    with refusals(as_json):
        client = Client(actor="setup")
        ensure = getattr(client.rt.store, "ensure_bucket", None)
        if ensure is not None:
            ensure()
    described = get_settings().describe()
    emit({"ok": True, "parts": described}, as_json, lambda: typer.echo(json.dumps(described, indent=2)))


def info_command() -> None:
    """Where each part lives (no secrets), and whether the native row scanner is used (and if not, why)."""
    from hosting.formats import native

    typer.echo(json.dumps({**get_settings().describe(), "native_scanner": native.describe()}, indent=2))


def worker_command(
    queues: Annotated[str, typer.Option(help="Comma-separated stage queues.")] = ",".join(STAGE_QUEUES),
    concurrency: Annotated[int, typer.Option(help="Prefork children.")] = 2,
    name: Annotated[str, typer.Option(help="Worker name (before @host).")] = "hphost",
    sweeper: Annotated[bool, typer.Option("--sweeper/--no-sweeper", help="Run the sweeper thread.")] = True,
) -> None:
    """Run a Celery worker on the stage queues (in the foreground)."""
    unknown = set(queues.split(",")) - set(STAGE_QUEUES)
    if unknown:
        typer.echo(f"error USAGE: unknown queues {sorted(unknown)}; known: {', '.join(STAGE_QUEUES)}", err=True)
        raise typer.Exit(2)
    from console.worker_pool import worker_argv, worker_env

    # A new interpreter (same pid, for supervisors): billiard reads the signal settings when imported.
    argv = worker_argv(queues.split(","), concurrency, name)
    os.execve(argv[0], argv, worker_env(dict(os.environ), sweeper=sweeper))


def sweeper_command(
    interval_s: Annotated[float | None, typer.Option(help="Seconds between sweeps.")] = None,
) -> None:
    """Run the sweeper on its own (it also runs inside every worker unless --no-sweeper)."""
    from hosting.db.migrate import upgrade
    from hosting.runtime import get_runtime
    from workers.sweeper import run_sweeper

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    upgrade(get_runtime().db.engine)
    get_logger("hphost.sweeper").info("sweeper_started", standalone=True)
    try:
        run_sweeper(threading.Event(), interval_s or settings.sweep_interval_s)
    except KeyboardInterrupt:
        pass


def fsck_command(
    repair: Annotated[bool, typer.Option(help="Remove the orphans found.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Cross-check control DB, object storage and base databases; exit 1 when not clean."""
    from hosting.db.migrate import upgrade
    from hosting.fsck import fsck
    from hosting.runtime import Runtime

    with refusals(as_json):
        rt = Runtime(get_settings())
        upgrade(rt.db.engine)
        report = fsck(rt, repair=repair)
    emit({"ok": report.clean, **report.as_dict()}, as_json,
         lambda: typer.echo(json.dumps(report.as_dict(), indent=2)))
    if not report.clean and not repair:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("setup")(setup_command)
    app.command("info")(info_command)
    app.command("worker")(worker_command)
    app.command("sweeper")(sweeper_command)
    app.command("fsck")(fsck_command)
