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
    """Create or migrate the control database, the home directory and the S3 bucket; safe to run again."""
    from hosting.runtime import Runtime, set_up

    with refusals(as_json):
        set_up(Runtime(get_settings()))
    described = get_settings().describe()
    emit({"ok": True, "parts": described}, as_json, lambda: typer.echo(json.dumps(described, indent=2)))


def info_command() -> None:
    """Where each part lives (no secrets), and whether the native row scanner is used (and if not, why)."""
    from hosting.formats.rows import native

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
    if concurrency < 1:
        typer.echo("error USAGE: --concurrency must be at least 1 (prefork children)", err=True)
        raise typer.Exit(2)
    from hosting.runtime import refuse_multi_machine_unsafe

    with refusals():
        refuse_multi_machine_unsafe(get_settings())
    wait_for_schema_of("worker")
    from console.worker_pool import worker_argv, worker_env

    # A new interpreter (same pid, for supervisors): billiard reads the signal settings when imported.
    argv = worker_argv(queues.split(","), concurrency, name)
    os.execve(argv[0], argv, worker_env(dict(os.environ), sweeper=sweeper))


def sweeper_command(
    interval_s: Annotated[float | None, typer.Option(help="Seconds between sweeps.")] = None,
) -> None:
    """Run the sweeper on its own (it also runs inside every worker unless --no-sweeper)."""
    from workers.sweeper import run_sweeper

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    wait_for_schema_of("sweeper")
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
    from console.client import Client
    from hosting.fsck import fsck

    with refusals(as_json):
        report = fsck(Client(actor="fsck").rt, repair=repair)
    emit({"ok": report.clean, **report.as_dict()}, as_json,
         lambda: typer.echo(json.dumps(report.as_dict(), indent=2)))
    if not report.clean and not repair:
        raise typer.Exit(1)


def wait_for_schema_of(part: str) -> None:
    """A worker or sweeper starts on a current schema: it migrates SQLite, and waits for `hphost setup`."""
    from hosting.db.migrate import wait_for_schema
    from hosting.db.session import ControlDB

    settings = get_settings()
    log = get_logger(f"hphost.{part}")
    db = ControlDB(settings.database_url)  # its own, closed before Celery forks its pool
    try:
        wait_for_schema(db, threading.Event(), poll_s=settings.sweep_interval_s,
                        on_wait=lambda why: log.warning("waiting_for_schema", code=why.code, detail=why.message))
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    app.command("setup")(setup_command)
    app.command("info")(info_command)
    app.command("worker")(worker_command)
    app.command("sweeper")(sweeper_command)
    app.command("fsck")(fsck_command)
