"""The Python client for back-end services: upload, enqueue, get, wait, list.

    client = Client()
    job = client.enqueue("load_base", "Planning B", hhyp="base.HHYP", profils="users.profils",
                         idempotency_key="console-click-42")
    job = client.wait(job.id, timeout_s=600)

Files go to object storage first (claim check); the job names their keys.
"""

from __future__ import annotations

import builtins
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import select

from config.logging import get_logger
from config.settings import Settings, get_settings
from console.client_life import LifeClient
from console.views import JobView
from hosting import audit as audit_trail
from hosting.controller import reveal_credentials
from hosting.db.migrate import ensure_schema, migrates_itself
from hosting.db.models import AuditEvent, Job, Planning
from hosting.errors import HphostError, InvalidInput, TransientError
from hosting.jobs import cleanup
from hosting.jobs.control import get_job, request_cancel, retry, stages
from hosting.jobs.enqueue import JobRequest, enqueue, require_inputs
from hosting.jobs.kinds import JOB_KINDS
from hosting.jobs.states import CancelOutcome
from hosting.pipeline.registry import output_present
from hosting.plannings import get_planning
from hosting.runtime import BrokerUnavailable, Runtime
from hosting.sealing import Sealer, secret_key
from hosting.timegrid import TimeGrid

log = get_logger("hphost.client")


class WaitTimeout(TransientError):
    """Job {job_id} is still {state} after {timeout_s} s."""

    code = "WAIT_TIMEOUT"


class Client(LifeClient):
    def __init__(self, settings: Settings | None = None, *, actor: str = "client", migrate: bool | None = None):
        """``migrate``: None migrates the embedded SQLite database and refuses an outdated server one
        (``SCHEMA_OUTDATED``: ``hphost setup`` migrates it)."""
        self.rt = Runtime(settings or get_settings())
        self.actor = actor
        ensure_schema(self.rt.db, migrate=migrates_itself(self.rt.db) if migrate is None else migrate)

    def close(self) -> None:
        """Release the database connections (a long-lived service keeps one client)."""
        self.rt.db.dispose()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- enqueue -----------------------------------------------------------
    def upload(self, path: str | Path, *, suffix: str) -> str:
        """Put a local file into object storage under a fresh ``incoming/`` key."""
        return self._upload(path)[0]

    def enqueue(self, kind: str, planning: str, *, hhyp: str | Path | None = None,
                profils: str | Path | None = None, time_grid: dict[str, Any] | None = None,
                base_name: str | None = None, prune: bool = False,
                idempotency_key: str | None = None, dispatch: bool = True,
                hosting: str | None = None) -> JobView:
        """Create a job (or return the one with this idempotency key) and ring its first stage.

        Refused before anything is stored: an unknown planning, a bad time grid, a .HHYP failing its
        cheap structural checks (name, ZIP end records, manifest, bound to the planning's hosting) and a
        .profils failing any of its rules; the worker checks the whole .HHYP again.
        """
        if kind not in JOB_KINDS:
            raise InvalidInput(field="kind", reason=f"one of {', '.join(JOB_KINDS)}", where={"field": "kind"})
        if time_grid is not None:
            TimeGrid.from_dict(time_grid)  # refused here, GRID_*, before anything is stored (the stage checks again)
        with self.rt.db.transaction() as session:
            target = get_planning(session, planning, hosting=hosting)  # NOT_FOUND before a large upload
            planning_id, hosting_number = target.id, target.hosting_number
        profils_data = self._door_checks(hhyp, profils, hosting_number)
        params: dict[str, Any] = {}
        digests: dict[str, str] = {}
        try:
            self._upload_inputs(hhyp, profils, profils_data, params, digests)
            params.update(_options(time_grid, base_name, prune))
            require_inputs(kind, params)
            request = JobRequest(kind=kind, planning=planning_id, params=params, idempotency_key=idempotency_key,
                                 requested_by=self.actor, input_sha256=digests, hosting=hosting)
            with self.rt.db.transaction() as session:
                job, created = enqueue(session, request)
                first = stages(session, job.id)[0].name if created else None
                job_id = job.id
        except BaseException:
            cleanup.delete_inputs(self.rt.store, params)  # a refused job leaves no upload behind
            raise
        if not created:
            cleanup.delete_inputs(self.rt.store, params)
        elif dispatch and first is not None:
            self._ring(job_id, first)
        return self.get(job_id)

    def _upload_inputs(self, hhyp: str | Path | None, profils: str | Path | None, profils_data: bytes | None,
                       params: dict[str, Any], digests: dict[str, str]) -> None:
        """Upload the inputs, recording each key in ``params`` as soon as it is stored (to delete on refusal)."""
        if hhyp is not None:
            params["hhyp_key"], digests["hhyp_key"] = self._upload(hhyp)
        if profils is not None and profils_data is not None:  # (both or neither)
            params["profils_key"] = self._incoming_key(Path(profils))
            self.rt.store.put_bytes(params["profils_key"], profils_data)  # the bytes checked, not read again
            digests["profils_key"] = hashlib.sha256(profils_data).hexdigest()

    def _door_checks(self, hhyp: str | Path | None, profils: str | Path | None, hosting_number: str) -> bytes | None:
        """Refuse the input files as ``hhyp check`` and ``profils check`` would; the .profils's checked bytes."""
        from hosting.formats.hhyp.reader import check_structure
        from hosting.formats.profils.file import checked_profils_bytes

        limits = self.rt.settings.limits
        if hhyp is not None:
            check_structure(hhyp, expected_hosting_number=hosting_number, limits=limits)
        return checked_profils_bytes(profils, limits=limits) if profils is not None else None

    def _upload(self, path: str | Path) -> tuple[str, str]:
        """Upload a local file; its key and the SHA-256 (hex) of the bytes stored."""
        source = Path(path)
        key = self._incoming_key(source)
        try:
            stream = source.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            from hosting.formats.errors import no_such_file

            raise no_such_file(source, exc) from None
        with stream:
            hashing = _Hashing(stream)
            self.rt.store.put_stream(key, cast(BinaryIO, hashing), source.stat().st_size)
        return key, hashing.sha256.hexdigest()

    @staticmethod
    def _incoming_key(source: Path) -> str:
        return f"incoming/{uuid.uuid4().hex}/{source.name}"

    # --- watch ---------------------------------------------------------------
    def get(self, job_id: str) -> JobView:
        with self.rt.db.transaction() as session:
            job = get_job(session, job_id)
            return JobView.of(job, stages(session, job.id))

    def wait(self, job_id: str, *, timeout_s: float = 600.0, poll_s: float = 0.5) -> JobView:
        """Poll until the job is succeeded, failed or cancelled."""
        deadline = time.monotonic() + timeout_s
        while True:
            view = self.get(job_id)
            if view.final:
                return view
            if time.monotonic() > deadline:
                raise WaitTimeout(job_id=job_id, state=view.state, timeout_s=timeout_s)
            time.sleep(poll_s)

    def list(self, *, planning: str | None = None, state: str | None = None, limit: int = 50,
             hosting: str | None = None) -> list[JobView]:
        """Recent jobs, newest first; ``planning`` is an id or a name (within ``hosting``)."""
        query = select(Job).order_by(Job.created_at.desc()).limit(limit)
        if state:
            query = query.where(Job.state == state)
        with self.rt.db.transaction() as session:
            if planning:
                query = query.where(Job.planning_id == get_planning(session, planning, hosting=hosting).id)
            elif hosting:
                query = query.where(Job.planning_id.in_(
                    select(Planning.id).where(Planning.hosting_number == hosting)))
            return [JobView.of(job, stages(session, job.id)) for job in session.scalars(query)]

    def audit(self, job_id: str) -> builtins.list[AuditEvent]:  # ``list`` here is the method above
        with self.rt.db.transaction() as session:
            get_job(session, job_id)
            return audit_trail.trail(session, job_id)

    # --- operator decisions -----------------------------------------------------
    def cancel(self, job_id: str) -> JobView:
        with self.rt.db.transaction() as session:
            outcome = request_cancel(session, job_id, actor=self.actor)
        if outcome == CancelOutcome.CANCELLED:
            cleanup.discard_job(self.rt.db, self.rt.store, self.rt.basedbs, job_id, actor=self.actor)
        return self.get(job_id)

    def retry(self, job_id: str) -> JobView:
        # Finish a pending cleanup of the failed stage first (idempotent, under the job's lock).
        cleanup.clean_failed_job(self.rt.db, self.rt.store, self.rt.basedbs, job_id, actor=self.actor)
        with self.rt.db.transaction() as session:
            present = output_present(self.rt.store, self.rt.basedbs)
            stage = retry(session, job_id, actor=self.actor, output_present=present)
        self._ring(job_id, stage)
        return self.get(job_id)

    def credentials(self, job_id: str) -> dict[str, str]:
        """Generated passwords of a job's new users, once: a second call returns nothing."""
        sealer = Sealer(secret_key(self.rt.settings))
        with self.rt.db.transaction() as session:
            get_job(session, job_id)
            revealed = reveal_credentials(session, job_id, sealer)
            if revealed:
                audit_trail.record_for_job(session, get_job(session, job_id), "credentials.revealed",
                                           actor=self.actor, count=len(revealed))
            return revealed

    def _ring(self, job_id: str, stage: str) -> None:
        from tasks.dispatch import dispatch

        try:
            dispatch(job_id, stage, settings=self.rt.settings)
        except Exception as exc:  # the stage row stays queued: a sweeper re-sends it once the broker is back
            raise BrokerUnavailable.of(self.rt.settings, job_id, exc) from None

class _Hashing:
    """A binary reader that hashes what passes through it (the fingerprint of an upload)."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.sha256.update(data)
        return data


def _options(time_grid: dict[str, Any] | None, base_name: str | None, prune: bool) -> dict[str, Any]:
    """The job's params besides its inputs' keys."""
    options: dict[str, Any] = {}
    if time_grid is not None:
        options["time_grid"] = time_grid
    if base_name:
        options["base_name"] = base_name
    if prune:
        options["prune"] = True
    return options




__all__ = ["Client", "HphostError", "JobView", "WaitTimeout"]
