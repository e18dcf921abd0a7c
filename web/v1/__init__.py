"""The HTTP API, version 1: every route of ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from web.deps import SessionDep
from web.problems import documented
from web.v1 import audit, events, job_actions, jobs, login, plannings, uploads

# Any route may refuse so (its own answers add 409, 410, 429...); 503: a database or the store is down.
router = APIRouter(responses=documented(400, 401, 403, 404, 422, 500, 503))
for part in (login, plannings, jobs, events, job_actions, uploads, audit):
    router.include_router(part.router)


class Health(BaseModel):
    status: str


@router.get("/health", tags=["health"], response_model=Health)
def health(session: SessionDep) -> Health:
    """Ready to serve: the control database answers (the broker is not needed to answer requests)."""
    session.execute(text("SELECT 1"))
    return Health(status="ok")
