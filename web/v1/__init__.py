"""The HTTP API, version 1: every route of ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from web.deps import SessionDep

router = APIRouter()


class Health(BaseModel):
    status: str


@router.get("/health", tags=["health"], response_model=Health)
def health(session: SessionDep) -> Health:
    """Ready to serve: the control database answers (the broker is not needed to answer requests)."""
    session.execute(text("SELECT 1"))
    return Health(status="ok")
