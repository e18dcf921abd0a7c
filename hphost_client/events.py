"""Following a job's Server-Sent Events (``GET /v1/jobs/{id}/events``), resumed with ``Last-Event-ID``."""

from __future__ import annotations

import time

import httpx2

from hphost_client.errors import ApiError
from hphost_client.job import Job

PING_GRACE_S = 40.0  # the server sends a ping every 15 s: silence this long is a dead connection
_REFUSALS = (401, 403, 404)  # the caller's mistake: said, not polled around


class NoStream(Exception):
    """The events stream cannot be had here (a proxy refused or buffered it): poll instead."""


def follow(http: httpx2.Client, job: Job, deadline: float) -> Job:
    """The job once it has ended, or as last seen when ``deadline`` passes."""
    last_event_id = ""
    broken = 0
    while not job.final and time.monotonic() < deadline:
        headers = {"Accept": "text/event-stream"} | ({"Last-Event-ID": last_event_id} if last_event_id else {})
        read_s = max(0.1, min(PING_GRACE_S, deadline - time.monotonic()))
        try:
            with http.stream("GET", f"/jobs/{job.id}/events", headers=headers,
                             timeout=httpx2.Timeout(10.0, read=read_s)) as response:
                _check(response)
                for event in httpx2.EventSource(response):
                    broken = 0
                    if event.id:
                        last_event_id = event.id
                    if event.event == "job":
                        job = Job.of(event.json())  # type: ignore[arg-type]
                    if event.event == "end" or job.final:
                        return job
        except httpx2.SSEError:
            raise NoStream() from None
        except httpx2.TransportError:
            broken += 1
            if broken > 5:
                raise NoStream() from None
            time.sleep(min(2.0, 0.2 * broken))
    return job


def _check(response: httpx2.Response) -> None:
    if response.status_code == 200:
        return
    response.read()
    if response.status_code in _REFUSALS:
        raise ApiError.of(response)
    raise NoStream()
