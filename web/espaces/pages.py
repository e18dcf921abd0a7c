"""Server-rendered pages of the Espaces: Jinja2 templates shipped in the package, autoescaped, no CDN."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

_env = Environment(loader=PackageLoader("web.espaces", "templates"), autoescape=select_autoescape(("html",)))
HOST_ROOT = "hphost.espaces_host"  # set in the scope by the user-domain middleware (host.py)


def url(request: Request, planning_id: str, rel: str = "", *, absolute: bool = False) -> str:
    """The address of ``rel`` within a planning's Espaces, as this request reached them (domain or path)."""
    path = "/" + rel if request.scope.get(HOST_ROOT) else f"/espaces/{planning_id}/{rel}"
    return str(request.base_url).rstrip("/") + path if absolute else path


def render(template: str, request: Request, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    here = context.get("here")
    planning_id = here.planning.id if here is not None else ""
    body = _env.get_template(template).render(request=request, link=lambda rel="": url(request, planning_id, rel),
                                              **context)
    return HTMLResponse(body, status_code=status_code)
