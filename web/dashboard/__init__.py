"""The operators' dashboard (issue 20): server-rendered pages under /dashboard, and /metrics.

Pages (``pages``), actions (``actions``, POST with a CSRF token and a reason), the live updates and the
packaged static files (``live``), the login (``login``). The queries and the actions themselves are in
``hosting.dashboard``.
"""

from __future__ import annotations

from fastapi import APIRouter

from web.dashboard import actions, live, login, metrics, pages

router = APIRouter(include_in_schema=False)
for part in (login, pages, actions, live, metrics):
    router.include_router(part.router)
