"""hphost base grid|export and hphost backups list|create|restore|verify: a base after its first day."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from console.cli_admin import HostingOpt, JsonOpt, KeyOpt, WaitOpt, _grid_file, base_app
from console.cli_jobs import TimeoutOpt, finish_job_command, watch
from console.client import Client
from console.output import emit, refusals

backups_app = typer.Typer(no_args_is_help=True, help="Encrypted backups of a planning's base.")


@base_app.command("grid")
def base_grid(
    planning: str,
    grid: Annotated[Path, typer.Option(help="The new time grid as JSON (see docs/formats.md).")],
    accept_failures: Annotated[bool, typer.Option(
        "--accept-failures", help="Go ahead when courses no longer fit: they are put in failure.")] = False,
    hosting: HostingOpt = None, wait: WaitOpt = True, idempotency_key: KeyOpt = None, as_json: JsonOpt = False,
    timeout_s: TimeoutOpt = None,
) -> None:
    """Change the time grid of the base in service; courses left out refuse it (GRID_CHANGE_FAILS_COURSES)."""
    with refusals(as_json):
        client = Client(actor="operator")
        job = client.change_grid(planning, _grid_file(grid), accept_failures=accept_failures,
                                 idempotency_key=idempotency_key, hosting=hosting)
    finish_job_command(client, job, wait, as_json, timeout_s)


@base_app.command("export")
def base_export(
    planning: str, hhyp: Path,
    profils: Annotated[Path | None, typer.Option(help="Also write the users and authorisations here.")] = None,
    hosting: HostingOpt = None, as_json: JsonOpt = False, timeout_s: TimeoutOpt = None,
) -> None:
    """The base in service as a .HHYP bound to the hosting number (and its .profils)."""
    with refusals(as_json):
        client = Client(actor="operator")
        job = client.export_base(planning, hosting=hosting)
        if not as_json:
            typer.echo(f"job {job.id} {job.state} ({job.kind})", err=True)
        job = watch(client, job.id, timeout_s=timeout_s, live_view=not as_json)
    if job.state != "succeeded":
        finish_job_command(client, job, False, as_json)
    with refusals(as_json):
        files = client.download_export(job.id, hhyp, profils)
    emit({"ok": True, "job": job.as_dict(), "files": files}, as_json,
         lambda: typer.echo("\n".join(f"{path}  {entry['bytes']} bytes  sha256 {entry['sha256']}"
                                      for path, entry in files.items())))


@backups_app.command("list")
def backups_list(planning: str, hosting: HostingOpt = None, as_json: JsonOpt = False) -> None:
    """A planning's verified backups, newest first."""
    with refusals(as_json):
        rows = Client(actor="operator").backups(planning, hosting=hosting)
    emit({"ok": True, "backups": rows}, as_json, lambda: typer.echo("\n".join(
        f"{r['id'][:12]}  {r['created_at'][:19]}  {r['night'] or 'on demand':10}  key={r['key_id']}  "
        f"{r['bytes']} bytes" for r in rows) or "no backup"))


@backups_app.command("create")
def backups_create(planning: str, hosting: HostingOpt = None, wait: WaitOpt = True, idempotency_key: KeyOpt = None,
                   as_json: JsonOpt = False, timeout_s: TimeoutOpt = None) -> None:
    """Back up the base in service and its users now (encrypted, read back before it counts)."""
    with refusals(as_json):
        client = Client(actor="operator")
        job = client.backup(planning, idempotency_key=idempotency_key, hosting=hosting)
    finish_job_command(client, job, wait, as_json, timeout_s)


@backups_app.command("restore")
def backups_restore(planning: str, backup: str, hosting: HostingOpt = None, wait: WaitOpt = True,
                    idempotency_key: KeyOpt = None, as_json: JsonOpt = False, timeout_s: TimeoutOpt = None) -> None:
    """Put a backup into service, with its users; the base in service serves until the swap."""
    with refusals(as_json):
        client = Client(actor="operator")
        job = client.restore(planning, backup, idempotency_key=idempotency_key, hosting=hosting)
    finish_job_command(client, job, wait, as_json, timeout_s)


@backups_app.command("verify")
def backups_verify(backup: str, as_json: JsonOpt = False) -> None:
    """Read a backup back now: decrypt it, check its digests and every .HHYP rule."""
    with refusals(as_json):
        found = Client(actor="operator").verify_backup(backup)
    emit({"ok": True, "backup": found}, as_json,
         lambda: typer.echo(f"backup {found['id']} verified: {found['rows']}, {found['users']} users"))


@backups_app.command("tick")
def backups_tick(
    now: Annotated[str | None, typer.Option(help="Act as if it were this time (ISO 8601, UTC if no offset).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One beat of the nightly schedule, here: plan, settle, claim and enqueue due runs, apply retention."""
    import datetime as dt
    import os
    import socket

    from hosting.backups.schedule import tick
    from hosting.errors import InvalidInput

    with refusals(as_json):
        try:
            when = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC)
        except ValueError:
            raise InvalidInput(field="now", reason="not an ISO 8601 time", where={"field": "now"}) from None
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        client = Client(actor="operator")
        done = tick(client.rt, now=when, owner=f"cli:{socket.gethostname()}:{os.getpid()}", ring=client._ring)
    emit({"ok": True, **done}, as_json, lambda: typer.echo(
        f"night {done['night']}: {done['planned']} planned, {done['enqueued']} enqueued, "
        f"{len(done['deleted'])} deleted by retention"))


def beat_command() -> None:
    """Run Celery beat (in the foreground): it rings the nightly backup schedule every HPHOST_BACKUP_TICK_S.
    Any number may run: each night's run is a row claimed under a lease."""
    import os
    import sys

    from config.settings import get_settings

    folder = get_settings().home / "beat"
    folder.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "beat", "--loglevel", "INFO",
            "--schedule", str(folder / f"schedule-{os.getpid()}")]  # beat's own file: one per process
    os.execve(argv[0], argv, dict(os.environ))


def register(app: typer.Typer) -> None:
    app.add_typer(backups_app, name="backups")
    app.command("beat")(beat_command)
