"""``create_app()``: the one ASGI application of ``hphost serve``, stateless, any number of replicas.

Its parts are routers of their own: the API under ``/v1`` (``web.v1``), the operators' dashboard
(``web.dashboard``) and the Espaces (``web.espaces``). All state is in the control database and the
object store, so a request may land on any replica.
"""

from __future__ import annotations

from fastapi import FastAPI

from hosting.runtime import Runtime
from web import dashboard, espaces, problems, v1
from web.requests import RequestId

API_VERSION = "1"


def create_app(runtime: Runtime | None = None) -> FastAPI:
    """The application; ``runtime`` is the process's own (from the settings) unless given."""
    app = FastAPI(title="hphost", version=API_VERSION, openapi_url="/v1/openapi.json", docs_url="/v1/docs",
                  redoc_url=None, description="The back end of a hosted HYPERPLANNING provider.")
    app.state.runtime = runtime
    problems.install(app)
    app.add_middleware(RequestId)
    app.include_router(v1.router, prefix="/v1")
    app.include_router(dashboard.router)
    app.include_router(espaces.router)
    return app
