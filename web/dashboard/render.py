"""Rendering a dashboard page: its template, the operator and the CSRF token, the session's cookie."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from hosting.dashboard.operators import Role, allows
from hosting.db.models import Operator
from hosting.sealing import secret_key
from web.dashboard.auth import PREFIX, DashSession, send
from web.deps import runtime

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    return _seconds((datetime.now(UTC) - value).total_seconds()) + " ago"


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value < 120:
        return f"{sign}{value:.1f} s"
    if value < 7200:
        return f"{sign}{value / 60:.1f} min"
    return f"{sign}{value / 3600:.1f} h"


TEMPLATES.env.filters.update(ago=_ago, seconds=_seconds,
                             pretty=lambda v: json.dumps(v, indent=2, default=str, ensure_ascii=False),
                             short=lambda v: (v or "")[:12],
                             when=lambda v: v.strftime("%Y-%m-%d %H:%M:%S") if v else "")


def page(request: Request, dash: DashSession, template: str, operator: Operator | None = None,
         status: int = 200, **context: Any) -> HTMLResponse:
    """A whole page; ``can_act`` tells the template whether to show the action buttons at all."""
    context.update(operator=operator, csrf=dash.csrf, prefix=PREFIX,
                   can_act=operator is not None and allows(operator.role, Role.OPERATOR))
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    send(response, request, dash, secret_key(runtime(request).settings))
    return response


def redirect(request: Request, dash: DashSession, target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    send(response, request, dash, secret_key(runtime(request).settings))
    return response
