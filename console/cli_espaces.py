"""hphost espaces credentials|show|guest: accounts' passwords (once), what is published, the guest Espace."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from console.client import Client
from console.output import emit, refusals

espaces_app = typer.Typer(no_args_is_help=True, help="The HYPERPLANNING.net Espaces of a planning.")
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
HostingOpt = Annotated[str | None, typer.Option(
    "--hosting", envvar="HPHOST_HOSTING", help="Hosting number owning the planning, when several have the name.")]


@espaces_app.command("credentials")
def espaces_credentials(planning: str, hosting: HostingOpt = None, as_json: JsonOpt = False) -> None:
    """The CSV (kind,row_id,login,password) of new Espace accounts — shown once, then gone."""
    from hosting import audit
    from hosting.espace_accounts import reveal_credentials
    from hosting.plannings import get_planning
    from hosting.sealing import Sealer, secret_key

    with refusals(as_json):
        client = Client(actor="operator")
        sealer = Sealer(secret_key(client.rt.settings))
        with client.rt.db.transaction() as session:
            found = get_planning(session, planning, hosting=hosting)
            text = reveal_credentials(session, found.id, sealer)
            count = text.count("\n") - 1
            if count:
                audit.record(session, "espaces.credentials_revealed", actor="operator", planning_id=found.id,
                             hosting_number=found.hosting_number, count=count)
    emit({"ok": True, "planning_id": found.id, "accounts": count, "csv": text}, as_json,
         lambda: typer.echo(text.rstrip("\n") if count else "no Espace credentials to reveal (already shown, or none)"))


@espaces_app.command("show")
def espaces_show(planning: str, hosting: HostingOpt = None, as_json: JsonOpt = False) -> None:
    """The planning's Espace addresses and what its base in service publishes."""
    with refusals(as_json):
        client = Client(actor="operator")
        data = _show(client, planning, hosting)

    def human() -> None:
        typer.echo(f"planning {data['planning_id']}  base {data['base_id'] or '-'}  accounts {data['accounts']}")
        for url in data["urls"]:
            typer.echo(f"  {url}")
        for name, info in sorted(data["espaces"].items()):
            typer.echo(f"  {name:12} {info['records']:>8} records  {info['bytes']:>12,} bytes")

    emit({"ok": True, **data}, as_json, human)


def _show(client: Client, planning: str, hosting: str | None) -> dict[str, Any]:
    import json

    from sqlalchemy import func, select

    from hosting.db.models import EspaceAccount, Publication
    from hosting.jobs.kinds import base_prefix
    from hosting.pipeline.markers import PUBLISHED
    from hosting.plannings import get_planning

    with client.rt.db.transaction() as session:
        found = get_planning(session, planning, hosting=hosting)
        base_id = found.current_base_id
        publication = session.get(Publication, base_id) if base_id else None
        accounts = session.scalar(select(func.count()).select_from(EspaceAccount)
                                  .where(EspaceAccount.planning_id == found.id)) or 0
        planning_id, domain, associated = found.id, found.domain, found.associate_net
    espaces: dict[str, Any] = {}
    if publication is not None and client.rt.store.head(base_prefix(publication.base_id) + PUBLISHED):
        marker = json.loads(client.rt.store.get_bytes(base_prefix(publication.base_id) + PUBLISHED))
        espaces = marker.get("espaces", {})
    urls = [f"https://{domain}/", f"/espaces/{planning_id}/"] if associated else []
    return {"planning_id": planning_id, "associate_net": associated, "base_id": base_id if publication else None,
            "urls": urls, "accounts": accounts,
            "espaces": {k: {"records": v.get("records", 0), "bytes": v.get("bytes", 0)} for k, v in espaces.items()}}


@espaces_app.command("guest")
def espaces_guest(planning: str, open_: Annotated[bool, typer.Option("--open/--close", help=(
        "Open the guest Espace (rooms' occupation, no login) or close it."))] = True,
        hosting: HostingOpt = None, as_json: JsonOpt = False) -> None:
    """Open or close a planning's guest Espace: the rooms' occupation, without login."""
    from hosting import audit
    from hosting.db.models import EspaceSettings
    from hosting.plannings import get_planning

    with refusals(as_json):
        client = Client(actor="operator")
        with client.rt.db.transaction() as session:
            found = get_planning(session, planning, hosting=hosting)
            settings = session.get(EspaceSettings, found.id) or EspaceSettings(planning_id=found.id)
            settings.guest_rooms = open_
            session.add(settings)
            audit.record(session, "espaces.guest_opened" if open_ else "espaces.guest_closed", actor="operator",
                         planning_id=found.id, hosting_number=found.hosting_number)
            planning_id = found.id
    emit({"ok": True, "planning_id": planning_id, "guest_rooms": open_}, as_json,
         lambda: typer.echo(f"planning {planning_id}: guest Espace {'open' if open_ else 'closed'}"))


def register(app: typer.Typer) -> None:
    app.add_typer(espaces_app, name="espaces")
