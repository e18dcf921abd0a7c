"""hphost operator create|list: the dashboard's operator accounts; hphost audit verify: the audit's hash chain."""

from __future__ import annotations

from typing import Annotated

import typer

from console.client import Client
from console.output import emit, refusals
from hosting.audit_chain import record_verification, verify
from hosting.dashboard.operators import Role, create_operator, list_operators

operator_app = typer.Typer(no_args_is_help=True, help="Operator accounts of the dashboard (hphost serve).")
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


@operator_app.command("create")
def operator_create(
    name: str,
    role: Annotated[Role, typer.Option(help="viewer sees; operator also cancels and retries; admin: all.")],
    as_json: JsonOpt = False,
) -> None:
    """Create an operator account; its password is shown once, here (only its hash is kept)."""
    with refusals(as_json):
        client = Client(actor="operator")
        with client.rt.db.transaction() as session:
            password = create_operator(session, name, role.value, actor="cli")
    emit({"ok": True, "operator": name, "role": role.value, "password": password}, as_json,
         lambda: typer.echo(f"operator {name} ({role.value}) created; password (shown once): {password}"))


@operator_app.command("list")
def operator_list(as_json: JsonOpt = False) -> None:
    """The operator accounts and their roles."""
    with refusals(as_json):
        client = Client(actor="operator")
        with client.rt.db.transaction() as session:
            rows = [{"operator": o.name, "role": o.role, "created_at": o.created_at.isoformat(),
                     "last_login_at": o.last_login_at.isoformat() if o.last_login_at else None}
                    for o in list_operators(session)]
    emit({"ok": True, "operators": rows}, as_json,
         lambda: typer.echo("\n".join(f"{row['operator']}\t{row['role']}" for row in rows)))


def audit_verify(as_json: bool) -> None:
    """``hphost audit verify``: walk the audit's hash chain; exit 1 naming the first broken row."""
    with refusals(as_json):
        client = Client(actor="operator")
        with client.rt.db.transaction() as session:
            report = verify(session)
        with client.rt.db.transaction() as session:
            record_verification(session, report, actor="cli")
    emit({"ok": report.ok, "chain": report.as_dict()}, as_json, lambda: typer.echo(
        f"audit chain intact: {report.rows} rows ({report.before_chain} older than the chain)" if report.ok
        else f"audit chain BROKEN at row {report.broken_id}: {report.reason}", err=not report.ok))
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(operator_app, name="operator")
