"""The published Espaces (issue 21): its routes hang on this router; ``install`` adds the user-domain routing."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from web.espaces.feeds import router as _feeds
from web.espaces.host import UserDomains
from web.espaces.routes import router as _routes

router = APIRouter(include_in_schema=False)
router.include_router(_routes)
router.include_router(_feeds)


def install(app: FastAPI) -> None:
    """Route requests to a planning's user domain to its Espaces (the runtime is the app's, read per request)."""
    app.add_middleware(UserDomains, runtime=app.state.runtime)
