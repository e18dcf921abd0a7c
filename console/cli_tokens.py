"""hphost token create|list|revoke: the HTTP API's service tokens (administration: local only)."""

from __future__ import annotations

from typing import Annotated

import typer

from console.client import Client
from console.output import emit, refusals
from hosting import tokens
from hosting.tokens import Role, TokenKind

token_app = typer.Typer(no_args_is_help=True, help="Service tokens of the HTTP API (hphost serve).")
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


@token_app.command("create")
def token_create(
    hosting: Annotated[str | None, typer.Option(help="The hosting number the token is walled in.")] = None,
    role: Annotated[str, typer.Option(help="reader (reads) or writer (also acts).")] = "writer",
    operator: Annotated[bool, typer.Option("--operator", help="Every hosting (the dashboard's).")] = False,
    expires: Annotated[str, typer.Option(help="Lifetime: 90d, 12h, 30m, or never.")] = "90d",
    label: Annotated[str, typer.Option(help="What the token is for (shown by token list).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a token; it is printed once, here (only its hash is stored)."""
    with refusals(as_json):
        chosen = _role(role, operator, hosting)
        ttl = tokens.parse_duration(expires)
        client = Client(actor="operator")
        with client.rt.db.transaction() as session:
            row, token = tokens.issue(session, client.rt.token_key, kind=TokenKind.SERVICE, hosting_number=hosting,
                                      role=chosen, ttl=ttl, actor="operator", label=label)
            answer = {"ok": True, "id": row.id, "hosting_number": hosting, "role": str(chosen),
                      "expires_at": row.expires_at.isoformat() if row.expires_at else None, "token": token}
    emit(answer, as_json, lambda: typer.echo(
        f"token {answer['id']} ({answer['role']}, {hosting or 'every hosting'}, expires "
        f"{answer['expires_at'] or 'never'}); shown once:\n{token}"))


@token_app.command("list")
def token_list(hosting: Annotated[str | None, typer.Option(help="Only this hosting's tokens.")] = None,
               as_json: JsonOpt = False) -> None:
    """Service tokens (never their secret), oldest first."""
    with refusals(as_json):
        with Client(actor="operator").rt.db.transaction() as session:
            rows = [{"id": t.id, "hosting_number": t.hosting_number, "role": t.role, "label": t.label,
                     "created_at": t.created_at.isoformat(),
                     "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                     "revoked": t.revoked_at is not None} for t in tokens.listed(session, hosting_number=hosting)]
    emit({"ok": True, "tokens": rows}, as_json, lambda: typer.echo("\n".join(
        f"{r['id']}  {r['role']:<8} {r['hosting_number'] or 'operator':<12}  "
        f"{'revoked' if r['revoked'] else 'expires ' + str(r['expires_at'] or 'never')}  {r['label']}"
        for r in rows) or "no token"))


@token_app.command("revoke")
def token_revoke(token_id: str, as_json: JsonOpt = False) -> None:
    """Revoke a token at once (every replica refuses it from its next request)."""
    with refusals(as_json):
        with Client(actor="operator").rt.db.transaction() as session:
            tokens.revoke(session, token_id, actor="operator")
    emit({"ok": True, "id": token_id}, as_json, lambda: typer.echo(f"token {token_id} revoked"))


def _role(role: str, operator: bool, hosting: str | None) -> Role:
    from hosting.errors import InvalidInput

    if operator:
        if hosting is not None:
            raise InvalidInput(field="hosting", reason="not with --operator", where={"field": "hosting"})
        return Role.OPERATOR
    if hosting is None:
        raise InvalidInput(field="hosting", reason="required (or --operator)", where={"field": "hosting"})
    if role not in (Role.READER, Role.WRITER):
        raise InvalidInput(field="role", reason="reader or writer", where={"field": "role"})
    return Role(role)


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
