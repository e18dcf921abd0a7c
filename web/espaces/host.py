"""A planning's user domain serves its Espaces at the root: ``Host: edt.example.fr`` + ``/x`` → ``/espaces/<id>/x``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from hosting.db.models import Planning
from hosting.runtime import Runtime, get_runtime
from web.espaces.pages import HOST_ROOT


class UserDomains:
    """ASGI middleware: requests to a planning's user domain are routed to that planning's Espaces."""

    def __init__(self, app: ASGIApp, runtime: Any = None):
        self.app, self.runtime = app, runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(("/espaces/", "/v1")):
            planning_id = self._planning_of(_host(scope))
            if planning_id is not None:
                scope = dict(scope, path=f"/espaces/{planning_id}{scope['path']}", raw_path=None)
                scope[HOST_ROOT] = True
        await self.app(scope, receive, send)

    def _planning_of(self, host: str) -> str | None:
        if not host or host in ("localhost", "testserver") or host.replace(".", "").isdigit():
            return None
        rt: Runtime = self.runtime or get_runtime()
        with rt.db.transaction() as session:
            planning_id: str | None = session.scalar(select(Planning.id).where(Planning.domain == host))
        return planning_id


def _host(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return str(value.decode("latin-1").rsplit(":", 1)[0].lower())
    return ""
