"""hphost jobs list|show|watch|cancel|retry|credentials, and hphost audit JOB|verify."""

from __future__ import annotations

import json
import sys
import time
from contextlib import nullcontext
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from config.celery import STAGE_QUEUE
from console.client import Client, WaitTimeout
from console.output import EXIT_REFUSED, emit, refusals
from console.remote import RemoteJobs, job_client
from console.views import JobView
from hosting.db.models import Job
from hosting.errors import InvalidInput
from hosting.jobs.states import DONE_STAGE_STATES, JobState, StageState

jobs_app = typer.Typer(no_args_is_help=True, help="Watch and steer jobs.")
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
TimeoutOpt = Annotated[float | None, typer.Option(
    "--timeout", min=0, help="With --wait: give up after SECONDS (WAIT_TIMEOUT, exit 3); the job goes on.")]
JOB_STATES = tuple(JobState)
NO_WORKER_AFTER_S = 10.0


def job_table(view: JobView) -> Table:
    title = escape(f"job {view.id[:12]}  {view.kind}  [{view.state}]")  # (rich reads [queued] as a style)
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


class QueueWatch:
    """Says, once per stage, that a queued stage has not been taken: no worker serves its queue."""

    def __init__(self, after_s: float = NO_WORKER_AFTER_S):
        self.after_s = after_s
        self._queued_since: dict[str, float] = {}
        self._told: set[str] = set()

    def note(self, view: JobView) -> str | None:
        stage = next((s for s in view.stages if s.state == StageState.QUEUED), None)
        if stage is None or stage.name in self._told:
            return None
        waited_s = time.monotonic() - self._queued_since.setdefault(stage.name, time.monotonic())
        if waited_s < self.after_s:
            return None
        self._told.add(stage.name)
        return (f"job {view.id}: waiting for a worker on queue {STAGE_QUEUE[stage.name]} (stage {stage.name} "
                f"queued, not taken for {waited_s:.0f} s); start one with: hphost worker")


def watch(client: Client | RemoteJobs, job_id: str, *, timeout_s: float | None = None,
          live_view: bool = True) -> JobView:
    """Follow the job until it ends: a live table (``live_view``), a line when no worker takes a stage.

    Past ``timeout_s``: ``WAIT_TIMEOUT`` (exit 3), naming the job, which goes on.
    """
    console = Console(stderr=not live_view or not sys.stdout.isatty())
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    queue_watch = QueueWatch()
    view = client.get(job_id)
    with Live(job_table(view), console=console, refresh_per_second=4, transient=False,
              auto_refresh=live_view) if live_view else nullcontext() as live:
        while not view.final:
            if deadline is not None and time.monotonic() > deadline:
                raise WaitTimeout(job_id=view.id, state=view.state, timeout_s=timeout_s,
                                  where={"job_id": view.id})
            time.sleep(0.5)
            view = client.get(job_id)
            note = queue_watch.note(view)
            if note:
                console.print(note, highlight=False, soft_wrap=True)
            if live is not None:
                live.update(job_table(view))
    if live_view:
        console.line()
    return view


def finish_job_command(client: Client | RemoteJobs, view: JobView, wait: bool, as_json: bool,
                       timeout_s: float | None = None) -> None:
    if not as_json:  # at once: the id to follow or cancel the job with, whatever happens next
        typer.echo(f"job {view.id} {view.state} ({view.kind})", err=True)
    if wait and not view.final:
        with refusals(as_json):
            view = watch(client, view.id, timeout_s=timeout_s, live_view=not as_json)
    emit({"ok": view.state != JobState.FAILED, "job": view.as_dict()}, as_json,
         lambda: typer.echo(f"job {view.id} {view.state}"
                            + (f": {view.error['code']} {view.error['message']}" if view.error else "")))
    if view.state in (JobState.FAILED, JobState.CANCELLED):
        raise typer.Exit(EXIT_REFUSED)


@jobs_app.command("list")
def jobs_list(planning: Annotated[str | None, typer.Option(help="A planning id or name.")] = None,
              state: Annotated[str | None, typer.Option(help="One of " + ", ".join(JOB_STATES) + ".")] = None,
              limit: int = 50,
              hosting: Annotated[str | None, typer.Option(envvar="HPHOST_HOSTING",
                                                          help="Hosting number (or HPHOST_HOSTING).")] = None,
              as_json: JsonOpt = False) -> None:
    """Recent jobs, newest first."""
    with refusals(as_json):
        if state is not None and state not in JOB_STATES:
            raise InvalidInput(field="state", reason="expected one of " + ", ".join(JOB_STATES),
                               where={"field": "state"})
        views = job_client().list(planning=planning, state=state, limit=limit, hosting=hosting)

    def human() -> None:
        for v in views:
            stage = next((s.name for s in v.stages if s.state not in DONE_STAGE_STATES), "-")
            typer.echo(f"{v.id}  {v.kind:15} {v.state:10} stage={stage:12} {v.created_at}")

    emit({"ok": True, "jobs": [v.as_dict() for v in views]}, as_json, human)


@jobs_app.command("show")
def jobs_show(job_id: str, as_json: JsonOpt = False) -> None:
    """A job with its stages."""
    with refusals(as_json):
        client = job_client()
        view = client.get(full_job_id(client, job_id))
    emit({"ok": True, "job": view.as_dict()}, as_json, lambda: Console().print(job_table(view)))


@jobs_app.command("watch")
def jobs_watch(job_id: str, timeout_s: Annotated[float | None, typer.Option(
        "--timeout", "--timeout-s", min=0, help="Give up after SECONDS (WAIT_TIMEOUT, exit 3).")] = None) -> None:
    """Follow a job live until it ends."""
    with refusals():
        client = job_client()
        view = watch(client, full_job_id(client, job_id), timeout_s=timeout_s)
    typer.echo(f"job {view.id} {view.state}")


@jobs_app.command("cancel")
def jobs_cancel(job_id: str, as_json: JsonOpt = False) -> None:
    """Stop a queued or running job and remove what it made; a failed job is discarded."""
    with refusals(as_json):
        client = job_client()
        view = client.cancel(full_job_id(client, job_id))
    emit({"ok": True, "job": view.as_dict()}, as_json, lambda: typer.echo(f"job {view.id} {view.state}"))


@jobs_app.command("retry")
def jobs_retry(job_id: str, wait: bool = typer.Option(False, "--wait/--no-wait"), as_json: JsonOpt = False,
               timeout_s: TimeoutOpt = None) -> None:
    """Re-run a failed job from its failed stage (earlier stages' outputs are reused)."""
    with refusals(as_json):
        client = job_client()
        view = client.retry(full_job_id(client, job_id))
    finish_job_command(client, view, wait, as_json, timeout_s)


@jobs_app.command("credentials")
def jobs_credentials(job_id: str, as_json: JsonOpt = False) -> None:
    """Generated passwords of the job's new users — shown once, then gone."""
    with refusals(as_json):
        client = job_client()
        revealed = client.credentials(full_job_id(client, job_id))
    emit({"ok": True, "credentials": revealed}, as_json,
         lambda: typer.echo("\n".join(f"{login}\t{pw}" for login, pw in sorted(revealed.items()))
                            or "no credentials to reveal (already shown, or none generated)"))


def audit_command(job_id: str, as_json: JsonOpt = False) -> None:
    """The audit trail of a job: every transition, retry, skip and decision. `hphost audit verify`: the hash chain."""
    if job_id == "verify":
        from console.cli_operator import audit_verify

        audit_verify(as_json)
        return
    with refusals(as_json):
        client = job_client()
        rows = client.audit(full_job_id(client, job_id))
    payload = [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "stage": r.stage,
                "data": r.data} for r in rows]

    def human() -> None:
        for r in payload:
            data = json.dumps(r["data"], ensure_ascii=False) if r["data"] else ""
            typer.echo(f"{r['at']}  {r['action']:22} {r['stage'] or '':12} {r['actor']}  {data}")

    emit({"ok": True, "audit": payload}, as_json, human)


def full_job_id(client: Client | RemoteJobs, job_id: str) -> str:
    """A job id, or the start of one as the tables print it (at least 8 characters, naming one job; local only)."""
    if len(job_id) >= 32 or len(job_id) < 8 or isinstance(client, RemoteJobs):
        return job_id  # a whole id, or too short to mean one: NOT_FOUND names it
    with client.rt.db.transaction() as session:
        found = list(session.scalars(select(Job.id).where(Job.id.startswith(job_id, autoescape=True)).limit(3)))
    if len(found) > 1:
        raise InvalidInput(field="job_id", reason=f"several jobs start with {job_id}; give more of the id",
                           where={"job_id": job_id})
    return found[0] if found else job_id


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
    app.command("audit")(audit_command)
