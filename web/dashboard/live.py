"""Live pages: Server-Sent Events from the control database, and the packaged static files (no CDN).

Each open page holds one event stream; the server looks at the control database every ``CHECK_S`` seconds
(one small query) and sends ``change`` when a job moved (a new audit row) or a running stage progressed.
The page then fetches itself once and swaps its live part. A stream ends after ``STREAM_S`` seconds and the
browser's EventSource reconnects by itself (so a replica's restart costs nothing).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse

from hosting.dashboard.overview import change_mark
from web.dashboard.auth import PREFIX, OperatorDep
from web.deps import RuntimeDep
from web.problems import Problem

router = APIRouter(prefix=PREFIX)
CHECK_S = 2.0
STREAM_S = 300.0
STATIC = Path(__file__).parent / "static"
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@router.get("/events")
async def events(request: Request, operator: OperatorDep, rt: RuntimeDep) -> StreamingResponse:
    def mark() -> str:
        with rt.db.transaction() as session:
            return repr(change_mark(session))

    async def stream() -> AsyncIterator[str]:
        last = await run_in_threadpool(mark)
        yield f"retry: 3000\nevent: hello\ndata: {operator.name}\n\n"
        ends = time.monotonic() + STREAM_S
        while time.monotonic() < ends and not await request.is_disconnected():
            await anyio.sleep(CHECK_S)
            now = await run_in_threadpool(mark)
            if now != last:
                last = now
                yield "event: change\ndata: 1\n\n"
            else:
                yield ": idle\n\n"  # keeps proxies from closing an idle stream

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in _MEDIA or not path.is_file():
        raise Problem(404, "NOT_FOUND", f"No static file {name}.")
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers={"Cache-Control": "max-age=300"})
