"""The Python client's part for a base's life after its first day: export, backups, restore, grid change.

    client.change_grid("Planning B", grid, accept_failures=True)
    backup = client.backup("Planning B"); client.wait(backup.id)
    client.restore("Planning B", backup.id)
    job = client.wait(client.export_base("Planning B").id); client.download_export(job.id, "b.HHYP")

The checks (``hosting.backups.service``) refuse a request before any job exists.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.views import JobView
from hosting.backups import service
from hosting.errors import Conflict
from hosting.jobs.control import get_job, stages
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.states import JobState
from hosting.plannings import get_planning
from hosting.timegrid import TimeGrid

if TYPE_CHECKING:
    from hosting.runtime import Runtime


class ExportNotReady(Conflict):
    """Job {job_id} is not a succeeded export ({state})."""

    code = "EXPORT_NOT_READY"


class LifeClient:
    rt: Runtime
    actor: str

    def _ring(self, job_id: str, stage: str) -> None:
        raise NotImplementedError  # Client's

    def get(self, job_id: str) -> JobView:
        raise NotImplementedError  # Client's

    def request(self, kind: str, planning: str, params: dict[str, Any] | None = None, *,
                idempotency_key: str | None = None, hosting: str | None = None, dispatch: bool = True) -> JobView:
        """Check the request, create its job (or return the one of this idempotency key) and ring it."""
        with self.rt.db.transaction() as session:
            target = get_planning(session, planning, hosting=hosting)
            checked = service.checked_params(session, self.rt.basedbs, kind, target, dict(params or {}))
            job, created = enqueue(session, JobRequest(kind=kind, planning=target.id, params=checked,
                                                       idempotency_key=idempotency_key, requested_by=self.actor,
                                                       hosting=hosting))
            first, job_id = (stages(session, job.id)[0].name if created else None), job.id
        if dispatch and first is not None:
            self._ring(job_id, first)
        return self.get(job_id)

    def export_base(self, planning: str, **options: Any) -> JobView:
        return self.request("export_base", planning, **options)

    def download_export(self, job_id: str, hhyp: str | Path, profils: str | Path | None = None) -> dict[str, Any]:
        """Copy a succeeded export's files from object storage to local paths; what was copied."""
        with self.rt.db.transaction() as session:
            job = get_job(session, job_id)
            if job.kind != "export_base" or job.state != JobState.SUCCEEDED:
                raise ExportNotReady(job_id=job.id, state=f"{job.kind}, {job.state}", where={"job_id": job.id})
            files = dict(stages(session, job.id)[0].result or {})["files"]
        copied = {}
        for name, path in (("base.HHYP", hhyp), ("users.profils", profils)):
            if path is not None:
                with self.rt.store.open_read(files[name]["key"]) as source, Path(path).open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                copied[str(path)] = files[name]
        return copied

    def backup(self, planning: str, **options: Any) -> JobView:
        return self.request("backup_base", planning, **options)

    def restore(self, planning: str, backup_id: str, **options: Any) -> JobView:
        with self.rt.db.transaction() as session:
            backup_id = service.get_backup(session, backup_id).id
        return self.request("restore_base", planning, {"backup_id": backup_id}, **options)

    def change_grid(self, planning: str, time_grid: dict[str, Any], *, accept_failures: bool = False,
                    **options: Any) -> JobView:
        grid = TimeGrid.from_dict(time_grid).to_dict()  # GRID_* before anything else, as base create
        params = {"time_grid": grid, **({"accept_failures": True} if accept_failures else {})}
        return self.request("change_grid", planning, params, **options)

    def backups(self, planning: str, *, hosting: str | None = None) -> list[dict[str, Any]]:
        with self.rt.db.transaction() as session:
            return service.list_backups(session, get_planning(session, planning, hosting=hosting).id)

    def verify_backup(self, backup_id: str) -> dict[str, Any]:
        return service.verify(self.rt, backup_id)
