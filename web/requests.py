"""Each request gets an id (``X-Request-ID``, the caller's when it is sane): on the response, in every log line.

An exception no handler took ends here as ``500 INTERNAL`` (problem+json with the id); its traceback goes
to the log only.
"""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.logging import get_logger
from web.problems import internal_error

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._-]{8,64}")
log = get_logger("hphost.web")


class RequestId:
    """Pure ASGI middleware (streams such as SSE pass through untouched, unlike ``BaseHTTPMiddleware``)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER, b"")
        request_id = given.decode() if _SANE.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", []).append((HEADER, request_id.encode()))
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                log.error("request_failed", path=scope.get("path"), error=type(exc).__name__, exc_info=exc)
                if started:
                    raise
                await internal_error(scope.get("path", ""), request_id)(scope, receive, send_with_id)
