"""Every refusal as ``application/problem+json`` (RFC 9457), carrying the project's stable ``code`` and ``where``.

The ``type`` URI is derived from the code (``urn:hphost:error:<CODE>``, listed in docs/errors.md), so a client
matches on either. No traceback, no secret and no SQL ever reaches a response: an unexpected exception answers
``500 INTERNAL`` with the request id (``web.requests``), and the log line with the traceback carries the same id.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hosting.errors import Conflict, HphostError, NotFound, TransientError

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:hphost:error:"

# The HTTP status of a refusal, by its class (the first match wins); other permanent refusals are 422.
_STATUS_BY_CLASS: tuple[tuple[type[HphostError], int], ...] = ((NotFound, 404), (Conflict, 409), (TransientError, 503))
_CODE_OF_STATUS = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                   405: "METHOD_NOT_ALLOWED", 406: "NOT_ACCEPTABLE", 409: "CONFLICT", 410: "GONE",
                   413: "TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 422: "INVALID_INPUT", 429: "TOO_MANY_REQUESTS"}


class Problem(Exception):
    """A refusal decided by the web layer itself (an HTTP status with the project's code, message and place)."""

    def __init__(self, status: int, code: str, detail: str, *, where: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.where, self.headers = where or None, headers or {}


def status_of(error: HphostError) -> int:
    """The HTTP status of a domain refusal: its class's (``http_status`` on the class wins when set)."""
    explicit = getattr(error, "http_status", None)
    if isinstance(explicit, int):
        return explicit
    return next((status for cls, status in _STATUS_BY_CLASS if isinstance(error, cls)), 422)


def problem_body(status: int, code: str, detail: str, where: Any, path: str, request_id: str | None) -> dict:
    return {"type": TYPE_PREFIX + code, "title": code.replace("_", " ").capitalize(), "status": status,
            "code": code, "detail": detail, "where": where or None, "instance": path, "request_id": request_id}


def problem_response(request: Request, status: int, code: str, detail: str, where: Any = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = problem_body(status, code, detail, where, request.url.path, getattr(request.state, "request_id", None))
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def internal_error(path: str, request_id: str) -> JSONResponse:
    """``500 INTERNAL``: the request id, never the exception's text (it may hold SQL or a secret)."""
    detail = "An unexpected error occurred; it has been logged with this request's id."
    return JSONResponse(problem_body(500, "INTERNAL", detail, None, path, request_id), status_code=500,
                        media_type=MEDIA_TYPE)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(request, exc.status, exc.code, exc.detail, exc.where, exc.headers)


async def _on_hphost_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HphostError)
    status = status_of(exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    return problem_response(request, status, exc.code, exc.message, exc.where, headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    place = ".".join(str(part) for part in first.get("loc", ()))
    detail = f"Invalid value for {place or 'the request'}: {first.get('msg', 'invalid')}."
    return problem_response(request, 422, "INVALID_INPUT", detail, {"field": place} if place else None)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, "HTTP_ERROR")
    detail = exc.detail if isinstance(exc.detail, str) else code
    return problem_response(request, exc.status_code, code, detail, None, dict(exc.headers or {}))


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(HphostError, _on_hphost_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
