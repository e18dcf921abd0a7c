"""hphost hosting|planning|base|profils assign: the console's three actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from console.cli_jobs import TimeoutOpt, finish_job_command
from console.client import Client
from console.output import emit, refusals
from hosting.db.models import Planning
from hosting.plannings import (
    HOSTING_NUMBER,
    PlanningSettings,
    configure_planning,
    create_hosting,
    create_planning,
    get_planning,
    list_hostings,
    list_plannings,
)

hosting_app = typer.Typer(no_args_is_help=True, help="Hosting accounts.")
planning_app = typer.Typer(no_args_is_help=True, help="Plannings (pane Configuration).")
base_app = typer.Typer(no_args_is_help=True, help="Put a base in service (pane Mes plannings).")

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Watch the job until it ends.")]
KeyOpt = Annotated[str | None, typer.Option("--idempotency-key", help="Same key, same job.")]
HostingOpt = Annotated[str | None, typer.Option(
    "--hosting", envvar="HPHOST_HOSTING",
    help="Hosting number owning the planning (or HPHOST_HOSTING); needed when several hostings have the name.")]


@hosting_app.command("create")
def hosting_create(number: str, name: str = "", as_json: JsonOpt = False) -> None:
    """Create a hosting account; its console password is shown once, here."""
    with refusals(as_json):
        client = Client(actor="operator")
        with client.rt.db.transaction() as session:
            password = create_hosting(session, number, name=name, actor="operator")
    emit({"ok": True, "hosting_number": number, "console_password": password}, as_json,
         lambda: typer.echo(f"hosting {number} created; console password (shown once): {password}"))


@hosting_app.command("login")
def hosting_login(
    number: str,
    invoice: Annotated[str | None, typer.Option(help="Paid invoice number (10 digits), first login.")] = None,
    password: Annotated[str, typer.Option(envvar="HPHOST_CONSOLE_PASSWORD", prompt=True, hide_input=True,
                                          help="Console password (or HPHOST_CONSOLE_PASSWORD).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Check console credentials; the first login binds the installation to a paid invoice.

    After 5 failures in 15 minutes the hosting is locked (LOGIN_LOCKED) until the window passes.
    """
    from hosting.logins import LOCKOUT_WINDOW, BadCredentials, LoginLocked, LoginOutcome, console_login

    with refusals(as_json):
        client = Client(actor="operator")
        with client.rt.db.transaction() as session:
            outcome = console_login(session, number, password, invoice, actor="operator", source="cli")
        # A refusal is audited (committed above), then reported; the number is not echoed if malformed.
        where = {"hosting_number": number} if HOSTING_NUMBER.fullmatch(number) else {}
        if outcome is LoginOutcome.LOCKED:
            raise LoginLocked(hosting_number=number, window_minutes=LOCKOUT_WINDOW.seconds // 60, where=where)
        if outcome is LoginOutcome.REFUSED:
            raise BadCredentials(where=where)
    emit({"ok": True, "hosting_number": number}, as_json, lambda: typer.echo(f"hosting {number}: login ok"))


@hosting_app.command("list")
def hosting_list(as_json: JsonOpt = False) -> None:
    """Hosting accounts, with their number of plannings."""
    with refusals(as_json):
        with Client(actor="operator").rt.db.transaction() as session:
            rows = [{"number": h.number, "name": h.name, "bound": h.invoice_number is not None,
                     "plannings": count, "created_at": h.created_at.isoformat()}
                    for h, count in list_hostings(session)]
    emit({"ok": True, "hostings": rows}, as_json, lambda: typer.echo("\n".join(
        f"{r['number']}  plannings={r['plannings']:<4} {'bound  ' if r['bound'] else 'unbound'}  {r['name']}"
        for r in rows) or "no hosting"))


def _planning_dict(planning: Planning) -> dict:
    return {"id": planning.id, "hosting_number": planning.hosting_number, "name": planning.name,
            "controller_domain": planning.controller_domain, "associate_net": planning.associate_net,
            "domain": planning.domain, "time_zone": planning.time_zone,
            "publication_name": planning.effective_publication_name,
            "current_base_id": planning.current_base_id}


def _on_planning(as_json: bool, action: Callable[[Session], Planning]) -> dict:
    """Run ``action(session) -> Planning`` in one transaction; the planning as a dict, or a refusal."""
    with refusals(as_json):
        client = Client(actor="operator")
        with client.rt.db.transaction() as session:
            return _planning_dict(action(session))


@planning_app.command("create")
def planning_create(
    hosting: Annotated[str, typer.Option(envvar="HPHOST_HOSTING", help="Hosting number (12 digits).")],
    name: Annotated[str, typer.Option(help="Planning name.")],
    domain: Annotated[str, typer.Option(help="User-visible domain name.")],
    controller_domain: Annotated[str, typer.Option(help="Domain name of the Contrôleur.")],
    net: Annotated[bool, typer.Option("--net/--no-net", help="Associate HYPERPLANNING.net.")] = True,
    time_zone: Annotated[str, typer.Option(help="IANA time zone.")] = "Europe/Paris",
    publication_name: Annotated[str | None, typer.Option(help="Defaults to the planning name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Configure a new planning."""
    cfg = PlanningSettings(name=name, controller_domain=controller_domain, domain=domain,
                           associate_net=net, time_zone=time_zone, publication_name=publication_name)
    data = _on_planning(as_json, lambda session: create_planning(session, hosting, cfg, actor="operator"))
    emit({"ok": True, "planning": data}, as_json, lambda: typer.echo(f"planning {data['id']} created"))


@planning_app.command("configure")
def planning_configure(
    planning: str,
    hosting: HostingOpt = None,
    name: Annotated[str | None, typer.Option()] = None,
    domain: Annotated[str | None, typer.Option()] = None,
    controller_domain: Annotated[str | None, typer.Option()] = None,
    net: Annotated[bool | None, typer.Option("--net/--no-net")] = None,
    time_zone: Annotated[str | None, typer.Option()] = None,
    publication_name: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a planning's settings (only the options given)."""
    cfg = PlanningSettings(name=name, controller_domain=controller_domain, domain=domain,
                           associate_net=net, time_zone=time_zone, publication_name=publication_name)
    data = _on_planning(as_json, lambda session: configure_planning(
        session, planning, cfg, actor="operator", hosting=hosting))
    emit({"ok": True, "planning": data}, as_json, lambda: typer.echo(json.dumps(data, indent=2)))


@planning_app.command("show")
def planning_show(planning: str, hosting: HostingOpt = None, as_json: JsonOpt = False) -> None:
    """A planning's settings and the base in service."""
    data = _on_planning(as_json, lambda session: get_planning(session, planning, hosting=hosting))
    emit({"ok": True, "planning": data}, as_json,
         lambda: typer.echo("\n".join(f"{k:18} {v}" for k, v in data.items())))


@planning_app.command("list")
def planning_list(hosting: Annotated[str | None, typer.Option(envvar="HPHOST_HOSTING",
                                                             help="Only this hosting's plannings.")] = None,
                  as_json: JsonOpt = False) -> None:
    """Plannings by hosting and name."""
    with refusals(as_json):
        with Client(actor="operator").rt.db.transaction() as session:
            rows = [_planning_dict(p) for p in list_plannings(session, hosting=hosting)]
    emit({"ok": True, "plannings": rows}, as_json, lambda: typer.echo("\n".join(
        f"{r['hosting_number']}  {r['id']}  {r['name']}  ({r['domain']})" for r in rows) or "no planning"))


def _grid_file(grid: Path) -> Any:
    from hosting.errors import InvalidInput
    from hosting.formats.errors import no_such_file
    from hosting.formats.json.strict import NotJson, loads

    where = {"file": str(grid)}
    try:
        data = grid.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise no_such_file(grid, exc) from None  # as hhyp check says it
    except OSError as exc:
        raise InvalidInput(field="grid", reason=type(exc).__name__, where=where) from None
    try:  # the formats' strict JSON: UTF-8, the depth first, no NaN, no lone surrogate
        return loads(data)
    except NotJson as exc:
        raise InvalidInput(field="grid", reason=exc.reason, where=where) from None


@base_app.command("create")
def base_create(
    planning: str,
    grid: Annotated[Path, typer.Option(help="Time grid as JSON (see docs/formats.md).")],
    base_name: Annotated[str | None, typer.Option()] = None, hosting: HostingOpt = None,
    wait: WaitOpt = True, idempotency_key: KeyOpt = None, as_json: JsonOpt = False, timeout_s: TimeoutOpt = None,
) -> None:
    """Créer une base: an empty base from a time grid; it goes into service when ready."""
    with refusals(as_json):
        time_grid = _grid_file(grid)
    _console_action("create_base", planning, wait, as_json, timeout_s, time_grid=time_grid, base_name=base_name,
                    idempotency_key=idempotency_key, hosting=hosting)


@base_app.command("load")
def base_load(
    planning: str, hhyp: Path,
    profils: Annotated[Path | None, typer.Option(help="Users and authorisations to assign too.")] = None,
    hosting: HostingOpt = None, wait: WaitOpt = True, idempotency_key: KeyOpt = None, as_json: JsonOpt = False,
    timeout_s: TimeoutOpt = None,
) -> None:
    """Charger une base: load a .HHYP; it replaces the base in service only once ready."""
    _console_action("load_base", planning, wait, as_json, timeout_s, hhyp=hhyp, profils=profils,
                    idempotency_key=idempotency_key, hosting=hosting)


def profils_assign(
    planning: str, profils: Path,
    prune: Annotated[bool, typer.Option(help="Remove users missing from the file.")] = False,
    hosting: HostingOpt = None, wait: WaitOpt = True, idempotency_key: KeyOpt = None, as_json: JsonOpt = False,
    timeout_s: TimeoutOpt = None,
) -> None:
    """Récupérer tous les utilisateurs et leurs autorisations from a .profils."""
    _console_action("assign_profils", planning, wait, as_json, timeout_s, profils=profils, prune=prune,
                    idempotency_key=idempotency_key, hosting=hosting)


def _console_action(kind: str, planning: str, wait: bool, as_json: bool, timeout_s: float | None,
                    **request: Any) -> None:
    """Enqueue one console action as the operator, then watch it or print its id, as asked."""
    from console.remote import job_client

    with refusals(as_json):
        client = job_client()
        job = client.enqueue(kind, planning, **request)
    finish_job_command(client, job, wait, as_json, timeout_s)


def register(app: typer.Typer, profils_app: typer.Typer) -> None:
    app.add_typer(hosting_app, name="hosting")
    app.add_typer(planning_app, name="planning")
    app.add_typer(base_app, name="base")
    profils_app.command("assign")(profils_assign)
