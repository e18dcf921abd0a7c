"""The CLI's job commands against a remote ``hphost serve``: with ``HPHOST_API_URL`` and ``HPHOST_API_TOKEN`` set,
``jobs``, ``audit``, ``base create|load`` and ``profils assign`` speak HTTP (``hphost_client``) instead of
opening the control database. Administration (``setup``, ``worker``, ``token``, ``fsck``...) stays local.
"""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import httpx2

from console.views import JobView, StageView
from hosting.errors import HphostError, NotFound, PermanentError, TransientError
from hphost_client import ApiError, Client, Job

T = TypeVar("T")
_ID = re.compile("[0-9a-f]{32}")


class ApiUnavailable(TransientError):
    """The API at {url} cannot be reached ({error})."""

    code = "API_UNAVAILABLE"


def remote_settings() -> tuple[str, str] | None:
    """``(url, token)`` when the job commands should go to a remote server."""
    url, token = os.environ.get("HPHOST_API_URL", ""), os.environ.get("HPHOST_API_TOKEN", "")
    return (url, token) if url and token else None


def job_client(actor: str = "operator") -> Any:
    """The client of the job commands: the remote API's when it is set, else the local installation's."""
    remote = remote_settings()
    if remote is not None:
        return RemoteJobs(*remote)
    from console.client import Client as LocalClient

    return LocalClient(actor=actor)


class RemoteJobs:
    """What the job commands ask of ``console.client.Client``, answered over HTTP with the same views."""

    def __init__(self, url: str, token: str):
        self.url, self.api = url, Client(url, token)

    def get(self, job_id: str) -> JobView:
        return self._call(lambda: view_of(self.api.get(job_id)))

    def list(self, *, planning: str | None = None, state: str | None = None, limit: int = 50,
             hosting: str | None = None) -> list[JobView]:
        def listed() -> list[JobView]:
            planning_id = self._planning_id(planning, hosting) if planning else None
            return [view_of(job) for job in self.api.list(planning=planning_id, state=state, limit=limit)]
        return self._call(listed)

    def cancel(self, job_id: str) -> JobView:
        return self._call(lambda: view_of(self.api.cancel(job_id)))

    def retry(self, job_id: str) -> JobView:
        return self._call(lambda: view_of(self.api.retry(job_id)))

    def credentials(self, job_id: str) -> dict[str, str]:
        return self._call(lambda: self.api.credentials(job_id))

    def audit(self, job_id: str) -> builtins.list[SimpleNamespace]:
        return self._call(lambda: [SimpleNamespace(**{**row, "at": datetime.fromisoformat(row["at"])})
                                   for row in self.api.audit(job_id)])

    def enqueue(self, kind: str, planning: str, *, hhyp: str | Path | None = None,
                profils: str | Path | None = None, time_grid: dict[str, Any] | None = None,
                base_name: str | None = None, prune: bool = False, idempotency_key: str | None = None,
                hosting: str | None = None) -> JobView:
        def enqueued() -> JobView:
            return view_of(self.api.enqueue(self._planning_id(planning, hosting), kind, hhyp=hhyp, profils=profils,
                                            grid=time_grid, base_name=base_name, prune=prune,
                                            idempotency_key=idempotency_key))
        return self._call(enqueued)

    def _planning_id(self, planning: str, hosting: str | None) -> str:
        """A planning id, or the id of the planning of that name the token sees (within ``hosting``)."""
        if _ID.fullmatch(planning):
            return planning
        found = [p["id"] for p in self.api.plannings(hosting=hosting) if p["name"] == planning.strip()]
        if len(found) != 1:
            raise NotFound(kind="Planning", ident=planning, where={"planning": planning})
        return str(found[0])

    def _call(self, action: Callable[[], T]) -> T:
        with refused_as_hphost(self.url):
            return action()


@contextmanager
def refused_as_hphost(url: str) -> Iterator[None]:
    """The API's refusals as the CLI's (same code, message and place; exit 3 when transient)."""
    try:
        yield
    except ApiError as exc:
        base: type[HphostError] = TransientError if exc.transient else PermanentError
        raise type("ApiRefusal", (base,), {"code": exc.code})(exc.message, where=exc.where or {}) from None
    except httpx2.TransportError as exc:
        raise ApiUnavailable(url=url, error=type(exc).__name__, where={"url": url}) from None


def view_of(job: Job) -> JobView:
    """The CLI's view of a job the API shows."""
    data = job.data
    stages = [StageView(s["name"], s["state"], s["attempts"], s["deliveries"], s["progress_done"],
                        s["progress_total"], (s.get("error") or {}).get("code"), (s.get("error") or {}).get("message"),
                        s.get("result")) for s in job.stages]
    return JobView(job.id, job.kind, job.planning_id, job.state, data.get("base_id"), data.get("requested_by", ""),
                   data.get("created_at"), data.get("started_at"), data.get("finished_at"), job.error,
                   bool(data.get("cancel_requested")), stages)
