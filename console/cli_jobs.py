"""hphost jobs list|show|watch|cancel|retry|credentials, and hphost audit JOB."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from console.client import Client
from console.output import EXIT_REFUSED, emit, refusals
from console.views import JobView

jobs_app = typer.Typer(no_args_is_help=True, help="Watch and steer jobs.")
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


def job_table(view: JobView) -> Table:
    title = f"job {view.id[:12]}  {view.kind}  [{view.state}]"
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("stage", "state", "progress", "attempts", "deliveries", "note"):
        table.add_column(column)
    for stage in view.stages:
        progress = f"{stage.progress_done}/{stage.progress_total}" if stage.progress_total else ""
        note = stage.error_code or (stage.result or {}).get("skip_reason") or ""
        table.add_row(stage.name, stage.state, progress, str(stage.attempts), str(stage.deliveries), note)
    if view.error:
        table.caption = f"{view.error['code']}: {view.error['message']}  {view.error.get('where') or ''}"
    return table


def watch(client: Client, job_id: str, *, timeout_s: float = 3600.0) -> JobView:
    """A live view of the job's stages until it ends (plain lines when not on a terminal)."""
    console = Console(stderr=not sys.stdout.isatty())
    deadline = time.monotonic() + timeout_s
    view = client.get(job_id)
    with Live(job_table(view), console=console, refresh_per_second=4, transient=False) as live:
        while not view.final and time.monotonic() < deadline:
            time.sleep(0.5)
            view = client.get(job_id)
            live.update(job_table(view))
    console.line()
    return view


def finish_job_command(client: Client, view: JobView, wait: bool, as_json: bool) -> None:
    if wait and not view.final:
        view = client.wait(view.id) if as_json else watch(client, view.id)
    emit({"ok": view.state != "failed", "job": view.as_dict()}, as_json,
         lambda: typer.echo(f"job {view.id} {view.state}"
                            + (f": {view.error['code']} {view.error['message']}" if view.error else "")))
    if view.state in ("failed", "cancelled"):
        raise typer.Exit(EXIT_REFUSED)


@jobs_app.command("list")
def jobs_list(planning: Annotated[str | None, typer.Option(help="A planning id or name.")] = None,
              state: str | None = None, limit: int = 50,
              hosting: Annotated[str | None, typer.Option(envvar="HPHOST_HOSTING",
                                                          help="Hosting number (or HPHOST_HOSTING).")] = None,
              as_json: JsonOpt = False) -> None:
    """Recent jobs, newest first."""
    with refusals(as_json):
        views = Client(actor="operator").list(planning=planning, state=state, limit=limit, hosting=hosting)

    def human() -> None:
        for v in views:
            stage = next((s.name for s in v.stages if s.state not in ("succeeded", "skipped")), "-")
            typer.echo(f"{v.id}  {v.kind:15} {v.state:10} stage={stage:12} {v.created_at}")

    emit({"ok": True, "jobs": [v.as_dict() for v in views]}, as_json, human)


@jobs_app.command("show")
def jobs_show(job_id: str, as_json: JsonOpt = False) -> None:
    """A job with its stages."""
    with refusals(as_json):
        view = Client(actor="operator").get(job_id)
    emit({"ok": True, "job": view.as_dict()}, as_json, lambda: Console().print(job_table(view)))


@jobs_app.command("watch")
def jobs_watch(job_id: str, timeout_s: float = 3600.0) -> None:
    """Follow a job live until it ends."""
    with refusals():
        view = watch(Client(actor="operator"), job_id, timeout_s=timeout_s)
    typer.echo(f"job {view.id} {view.state}")


@jobs_app.command("cancel")
def jobs_cancel(job_id: str, as_json: JsonOpt = False) -> None:
    """Stop a queued or running job and remove what it made; a failed job is discarded."""
    with refusals(as_json):
        view = Client(actor="operator").cancel(job_id)
    emit({"ok": True, "job": view.as_dict()}, as_json, lambda: typer.echo(f"job {job_id} {view.state}"))


@jobs_app.command("retry")
def jobs_retry(job_id: str, wait: bool = typer.Option(False, "--wait/--no-wait"), as_json: JsonOpt = False) -> None:
    """Re-run a failed job from its failed stage (earlier stages' outputs are reused)."""
    with refusals(as_json):
        client = Client(actor="operator")
        view = client.retry(job_id)
    finish_job_command(client, view, wait, as_json)


@jobs_app.command("credentials")
def jobs_credentials(job_id: str, as_json: JsonOpt = False) -> None:
    """Generated passwords of the job's new users — shown once, then gone."""
    with refusals(as_json):
        revealed = Client(actor="operator").credentials(job_id)
    emit({"ok": True, "credentials": revealed}, as_json,
         lambda: typer.echo("\n".join(f"{login}\t{pw}" for login, pw in sorted(revealed.items()))
                            or "no credentials to reveal (already shown, or none generated)"))


def audit_command(job_id: str, as_json: JsonOpt = False) -> None:
    """The audit trail of a job: every transition, retry, skip and decision."""
    with refusals(as_json):
        rows = Client(actor="operator").audit(job_id)
    payload = [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "stage": r.stage,
                "data": r.data} for r in rows]

    def human() -> None:
        for r in payload:
            data = json.dumps(r["data"], ensure_ascii=False) if r["data"] else ""
            typer.echo(f"{r['at']}  {r['action']:22} {r['stage'] or '':12} {r['actor']}  {data}")

    emit({"ok": True, "audit": payload}, as_json, human)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
    app.command("audit")(audit_command)
