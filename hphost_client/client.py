"""``Client(url, token)``: upload, enqueue, get, wait, list, audit, cancel, retry, credentials over ``/v1``.

A request that never reached the server (connection refused, DNS) is sent again; one that may have reached
it is sent again only when that is safe: a read, or an enqueue, whose ``Idempotency-Key`` (made here when the
caller gives none) is the same at every attempt, so the server answers the first job again.
"""

from __future__ import annotations

import builtins
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2

from hphost_client.errors import ApiError, WaitTimeout
from hphost_client.events import NoStream, follow
from hphost_client.job import Job

UPLOAD_CHUNK_BYTES = 1024 * 1024
_KINDS_BY_SUFFIX = {".hhyp": "hhyp", ".profils": "profils"}


class Client:
    def __init__(self, url: str, token: str, *, timeout_s: float = 30.0, attempts: int = 4,
                 transport: httpx2.BaseTransport | None = None):
        """``attempts``: tries of one request on connection errors (with a short backoff between them)."""
        self.attempts = attempts
        self.http = httpx2.Client(base_url=url.rstrip("/") + "/v1", timeout=timeout_s, transport=transport,
                                  headers={"Authorization": f"Bearer {token}", "User-Agent": "hphost-client/1"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never the token
        return f"Client({str(self.http.base_url)!r})"

    # --- sending ---------------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, resend: bool, **kwargs: Any) -> httpx2.Response:
        """One request, sent again on a connection error (``resend``: also when it may have arrived)."""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http.request(method, path, **_fresh(kwargs))
            except httpx2.TransportError as exc:
                unsent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout)
                if attempt == self.attempts or not (unsent or resend):
                    raise
                time.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)))
                continue
            if response.status_code == 503 and resend and attempt < self.attempts:
                time.sleep(min(5.0, float(response.headers.get("retry-after", "1") or 1)))
                continue
            if response.is_error:
                raise ApiError.of(response)
            return response
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, *, resend: bool, **kwargs: Any) -> Any:
        return self._send(method, path, resend=resend, **kwargs).json()

    # --- uploads ---------------------------------------------------------------------------------
    def upload(self, path: str | Path, *, kind: str | None = None, hosting: str | None = None) -> dict[str, Any]:
        """Stream a file to ``POST /v1/uploads``; its upload (``id``, ``size_bytes``, ``sha256``...).
        ``kind`` is ``hhyp`` or ``profils`` (from the file's suffix when not given)."""
        source = Path(path)
        kind = kind or _KINDS_BY_SUFFIX.get(source.suffix.lower())
        if kind is None:
            raise ValueError(f"{source.name}: say kind='hhyp' or kind='profils'")
        params = {"kind": kind} | ({"hosting": hosting} if hosting else {})
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(source.stat().st_size)}
        # A body is a generator, made again at each attempt (only unsent requests are sent again).
        return self._json("POST", "/uploads", resend=False, params=params, headers=headers,
                          content=lambda: _chunks(source))

    def check(self, upload_id: str, *, planning: str | None = None) -> dict[str, Any]:
        """The dry-run check of an upload: what ``hphost hhyp|profils check --json`` prints."""
        params = {"planning": planning} if planning else {}
        return self._json("POST", f"/uploads/{upload_id}/check", resend=True, params=params)

    def plannings(self, *, hosting: str | None = None) -> builtins.list[dict[str, Any]]:
        """The plannings the token sees, by name (the operator's: ``hosting``'s, or every hosting's)."""
        params = {"hosting_number": hosting} if hosting else {}
        return self._json("GET", "/plannings", resend=True, params=params)["plannings"]

    # --- jobs ------------------------------------------------------------------------------------
    def enqueue(self, planning_id: str, kind: str, *, hhyp: str | Path | None = None,
                profils: str | Path | None = None, hhyp_upload: str | None = None,
                profils_upload: str | None = None, grid: dict[str, Any] | None = None,
                base_name: str | None = None, prune: bool = False, idempotency_key: str | None = None) -> Job:
        """Create a job (files given by path are uploaded first); the same key gives back the same job."""
        if hhyp is not None:
            hhyp_upload = self.upload(hhyp, kind="hhyp")["id"]
        if profils is not None:
            profils_upload = self.upload(profils, kind="profils")["id"]
        body = {"kind": kind, "hhyp_upload": hhyp_upload, "profils_upload": profils_upload, "grid": grid,
                "base_name": base_name, "prune": prune}
        headers = {"Idempotency-Key": idempotency_key or f"hphost-client-{uuid.uuid4().hex}"}
        return Job.of(self._json("POST", f"/plannings/{planning_id}/jobs", resend=True, headers=headers,
                                 json={name: value for name, value in body.items() if value is not None}))

    def get(self, job_id: str) -> Job:
        return Job.of(self._json("GET", f"/jobs/{job_id}", resend=True))

    def list(self, *, state: str | None = None, kind: str | None = None, planning: str | None = None,
             error_code: str | None = None, limit: int = 50) -> list[Job]:
        """Jobs newest first, ``limit`` at most, following the ``next`` cursor."""
        params = {"state": state, "kind": kind, "planning_id": planning, "error_code": error_code,
                  "limit": min(limit, 200)}
        found: list[Job] = []
        path: str | None = "/jobs"
        while path is not None and len(found) < limit:
            page = self._json("GET", path.removeprefix("/v1"), resend=True,
                              params={k: v for k, v in params.items() if v is not None} if path == "/jobs" else None)
            found.extend(Job.of(item) for item in page["jobs"])
            path = page.get("next")
        return found[:limit]

    def audit(self, job_id: str) -> builtins.list[dict[str, Any]]:  # (``list`` here is the method above)
        return self._json("GET", f"/jobs/{job_id}/audit", resend=True)["events"]

    def cancel(self, job_id: str) -> Job:
        return Job.of(self._json("POST", f"/jobs/{job_id}/cancel", resend=False))

    def retry(self, job_id: str) -> Job:
        return Job.of(self._json("POST", f"/jobs/{job_id}/retry", resend=False))

    def credentials(self, job_id: str) -> dict[str, str]:
        """The generated passwords of the job's new users, once (then ``ApiError`` ``CREDENTIALS_GONE``)."""
        return self._json("POST", f"/jobs/{job_id}/credentials", resend=False)["credentials"]

    # --- waiting ---------------------------------------------------------------------------------
    def wait(self, job_id: str, *, timeout_s: float = 600.0) -> Job:
        """Until the job has ended: its Server-Sent Events, or long polls where no stream gets through."""
        deadline = time.monotonic() + timeout_s
        job = self.get(job_id)
        try:
            job = follow(self.http, job, deadline)
        except NoStream:
            job = self._long_poll(job, deadline)
        if not job.final:
            raise WaitTimeout(job_id, job.state, timeout_s)
        return job

    def _long_poll(self, job: Job, deadline: float) -> Job:
        while not job.final and time.monotonic() < deadline:
            wait_s = max(0.0, min(30.0, deadline - time.monotonic()))
            job = Job.of(self._json("GET", f"/jobs/{job.id}", resend=True, timeout=wait_s + 30,
                                    params={"wait": round(wait_s, 1), "after": job.version}))
        return job


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(UPLOAD_CHUNK_BYTES):
            yield chunk


def _fresh(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The request's arguments, a body factory called for this attempt."""
    content = kwargs.get("content")
    return {**kwargs, "content": content()} if callable(content) else kwargs
