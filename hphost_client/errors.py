"""A refusal of the API as the client raises it: the problem+json's stable code, message and place."""

from __future__ import annotations

from typing import Any

import httpx2


class ApiError(Exception):
    """An answer of the API that is not a success (``code`` is the stable code of docs/errors.md)."""

    def __init__(self, status: int, code: str, message: str, *, where: dict[str, Any] | None = None,
                 request_id: str | None = None):
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.where, self.request_id = status, code, message, where, request_id

    @property
    def transient(self) -> bool:
        return self.status == 503

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "where": self.where}

    @classmethod
    def of(cls, response: httpx2.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:  # not hphost's (a proxy's page, say)
            return cls(response.status_code, f"HTTP_{response.status_code}", response.reason_phrase or "error",
                       request_id=response.headers.get("x-request-id"))
        return cls(response.status_code, str(body["code"]), str(body.get("detail") or ""), where=body.get("where"),
                   request_id=body.get("request_id"))


class WaitTimeout(ApiError):
    """The job had not ended when the wait ran out; it goes on."""

    def __init__(self, job_id: str, state: str, timeout_s: float):
        super().__init__(0, "WAIT_TIMEOUT", f"Job {job_id} is still {state} after {timeout_s} s.",
                         where={"job_id": job_id})
        self.job_id, self.state = job_id, state
