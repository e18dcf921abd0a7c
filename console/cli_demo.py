"""hphost demo: the three console actions end to end on the embedded default, no server needed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from hosting.jobs.states import JobState

if TYPE_CHECKING:
    from console.client import Client
    from console.views import JobView

DEMO_HOSTING = "123456789012"
DEMO_GRID = {
    "first_monday": "2026-08-31", "weeks": 44, "working_days": ["mon", "tue", "wed", "thu", "fri"],
    "day_start": "08:00", "sequences_per_day": 10, "sequence_minutes": 60, "steps_per_sequence": 2,
}


def demo_command(
    home: Annotated[Path, typer.Option(help="Demo directory; wiped and remade.")] = Path("var/demo"),
    preset: Annotated[str, typer.Option(help="Sample size: small, school or university.")] = "small",
    workers: Annotated[int, typer.Option(help="celery worker processes to start.")] = 2,
) -> None:
    """Create a base, then load a .HHYP with its .profils, on real workers; ends with a summary."""
    from config.settings import get_settings

    home = home.resolve()
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    os.environ["HPHOST_HOME"] = str(home)
    get_settings.cache_clear()
    console = Console(width=max(140, Console().width))
    settings = get_settings()
    console.print("[bold]hphost demo[/] on the embedded default (no server):")
    for part, where in settings.describe().items():
        console.print(f"  {part:9} {where}")
    from console.output import refusals

    with refusals():
        ok = _run(console, home, preset, workers)
    raise typer.Exit(0 if ok else 2)


def _run(console: Console, home: Path, preset: str, workers: int) -> bool:
    from config.settings import get_settings
    from console.cli_jobs import watch
    from console.client import Client
    from console.worker_pool import WorkerProcess
    from hosting.plannings import PlanningSettings, create_hosting, create_planning
    from hosting.runtime import Runtime, set_up
    from hphost_samples.generator import generate_sample

    runtime = Runtime(get_settings())
    set_up(runtime)  # what `hphost setup` does: the home and the control DB's schema
    runtime.db.dispose()
    client = Client(actor="demo")
    hhyp, profils = home / "sample.HHYP", home / "sample.profils"
    generate_sample(hhyp, hosting_number=DEMO_HOSTING, preset=preset, seed=1, profils_path=profils)
    console.print(f"sample: {hhyp.name} ({hhyp.stat().st_size:,} bytes) and {profils.name}")
    with client.rt.db.transaction() as session:
        create_hosting(session, DEMO_HOSTING, name="Université Démo", actor="demo")
        empty = create_planning(session, DEMO_HOSTING, PlanningSettings(
            name="Planning vide", domain="vide.demo.hphost.test",
            controller_domain="controleur.demo.hphost.test"), actor="demo").id
        loaded = create_planning(session, DEMO_HOSTING, PlanningSettings(
            name="Planning 2026", domain="edt.demo.hphost.test",
            controller_domain="controleur.demo.hphost.test"), actor="demo").id
    pool = [WorkerProcess(f"demo{i}", home / "logs" / f"worker{i}.log",
                          env={"HPHOST_HOME": str(home)}).start() for i in range(workers)]
    try:
        for worker in pool:
            worker.wait_ready(120)
        console.print(f"{workers} celery workers ready (logs in {home / 'logs'})")
        console.rule("Créer une base")
        first = watch(client, client.enqueue("create_base", empty, time_grid=DEMO_GRID).id)
        console.rule("Charger une base + utilisateurs")
        second = watch(client, client.enqueue("load_base", loaded, hhyp=hhyp, profils=profils).id)
    finally:
        for worker in pool:
            worker.stop()
    _summary(console, client, [empty, loaded], [first, second])
    return first.state == second.state == JobState.SUCCEEDED


def _summary(console: Console, client: Client, planning_ids: list[str], jobs: list[JobView]) -> None:
    from hosting.db.models import Assignment, BaseRecord, ControllerUser, Planning, Profile, Publication

    table = Table(title="Summary", title_justify="left")
    for column in ("planning", "job", "base in service", "rows", "espaces", "users", "assignments"):
        table.add_column(column)
    with client.rt.db.transaction() as session:
        for planning_id, job in zip(planning_ids, jobs, strict=True):
            planning = session.get(Planning, planning_id)
            assert planning is not None  # made by _run, in this database
            base = session.get(BaseRecord, planning.current_base_id) if planning.current_base_id else None
            publication = session.get(Publication, base.id) if base else None
            profile_ids = select(Profile.id).where(Profile.planning_id == planning_id)
            assignments = session.scalar(select(func.count()).select_from(Assignment)
                                         .where(Assignment.profile_id.in_(profile_ids)))
            users = session.scalar(select(func.count(func.distinct(Assignment.user_id)))
                                   .where(Assignment.profile_id.in_(profile_ids)))
            rows = sum((base.row_counts or {}).values()) if base else 0
            table.add_row(planning.name, f"{job.kind} {job.state}",
                          f"{base.id[:12]} ({base.state})" if base else "none", f"{rows:,}",
                          ", ".join(publication.espaces) if publication else "-", str(users), str(assignments))
        hosting_users = session.scalar(select(func.count()).select_from(ControllerUser))
    console.print(table)
    served = sum(1 for job in jobs if job.state == JobState.SUCCEEDED)
    console.print(f"{served} of {len(jobs)} bases in service.")
    console.print(f"Contrôleur: {hosting_users} users for hosting {DEMO_HOSTING}; generated passwords are "
                  f"shown once with: hphost jobs credentials {jobs[-1].id}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
