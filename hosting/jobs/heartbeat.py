"""Lease renewal, in one place: the stage row's renewal and the thread that renews it while a stage runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.logging import get_logger
from hosting.db.models import Job, Stage, utcnow
from hosting.db.session import rows_updated
from hosting.errors import HphostError
from hosting.jobs.lifecycle import Claim
from hosting.jobs.states import StageState
from hosting.runtime import Runtime

log = get_logger("hphost.stage")


@dataclass
class Beat:
    lost: bool
    cancel: bool


def heartbeat(session: Session, claim_: Claim, *, lease_s: float, done: int | None = None,
              total: int | None = None) -> Beat:
    """Renew the lease (and record progress); tells whether the lease was lost or a cancel asked."""
    values: dict[str, Any] = {"lease_expires_at": utcnow() + timedelta(seconds=lease_s)}
    if done is not None:
        values["progress_done"] = done
    if total is not None:
        values["progress_total"] = total
    renewed = rows_updated(session,
        update(Stage).where(Stage.id == claim_.stage_id, Stage.lease_owner == claim_.owner,
                            Stage.state == StageState.RUNNING).values(**values)
    )
    return Beat(lost=not renewed, cancel=cancel_requested(session, claim_))


def cancel_requested(session: Session, claim_: Claim) -> bool:
    """Whether an operator asked to cancel the claim's job (read between heartbeats)."""
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == claim_.job_id)))


class Heartbeat:
    """Renews the stage's lease while it runs; notices cancellation and lost leases.

    The lease is renewed every ``heartbeat_s``; a cancel request is looked for
    every ``CANCEL_POLL_S`` in between (one indexed read), so that a stage
    stops at its next checkpoint within seconds of ``jobs cancel``.
    """

    CANCEL_POLL_S = 1.0

    def __init__(self, rt: Runtime, claim: Claim):
        self._rt, self._claim = rt, claim
        self.cancel, self.lost, self._stop = threading.Event(), threading.Event(), threading.Event()
        self._progress: tuple[int | None, int | None] = (None, None)
        self._thread = threading.Thread(target=self._run, name="hphost-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def set_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)

    def _run(self) -> None:
        heartbeat_s = self._rt.settings.heartbeat_s
        next_beat = time.monotonic() + heartbeat_s
        while not self._stop.wait(min(self.CANCEL_POLL_S, heartbeat_s)):
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + heartbeat_s
                self._beat()
            else:
                self._look_for_cancel()

    def _beat(self) -> None:
        done, total = self._progress
        try:
            with self._rt.db.transaction() as session:
                beat = heartbeat(session, self._claim, lease_s=self._rt.settings.lease_s, done=done, total=total)
        except HphostError as exc:  # keep beating: the DB may come back before the lease ends
            log.warning("heartbeat_failed", code=exc.code, reason=exc.message, where=exc.where or None)
            return
        except Exception as exc:
            log.warning("heartbeat_failed", error=type(exc).__name__)
            return
        if beat.lost:
            self.lost.set()
        if beat.cancel:
            self.cancel.set()

    def _look_for_cancel(self) -> None:
        try:
            with self._rt.db.transaction() as session:
                wanted = cancel_requested(session, self._claim)
        except Exception:  # the next beat says what is wrong
            return
        if wanted:
            self.cancel.set()
