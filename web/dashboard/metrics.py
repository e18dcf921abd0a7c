"""``GET /metrics``: Prometheus's text format, from the control database at scrape time (hosting.dashboard.metrics)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from hosting.dashboard.metrics import ControlDBCollector
from web.deps import RuntimeDep

router = APIRouter()


@router.get("/metrics")
async def metrics(rt: RuntimeDep) -> Response:
    """One registry a scrape: nothing is kept in the process, so every replica answers the same."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ControlDBCollector(rt.db.transaction))
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
