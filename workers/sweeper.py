"""The sweeper thread of a worker's main process (``hphost worker --no-sweeper`` to leave it out)."""

from __future__ import annotations

import os
import threading

from celery.signals import worker_ready, worker_shutdown

from config.logging import get_logger
from config.settings import get_settings

log = get_logger("hphost.sweeper")
_stop = threading.Event()


def run_sweeper(stop: threading.Event, interval_s: float) -> None:
    """Sweep every ``interval_s`` until ``stop`` is set; errors are logged, never fatal."""
    from hosting.db.migrate import wait_for_schema
    from hosting.jobs.sweeper import sweep
    from hosting.runtime import get_runtime
    from tasks.dispatch import dispatch

    # Before `hphost setup` there is nothing to sweep: one line, then wait (not a sweep_failed every interval).
    if not wait_for_schema(get_runtime().db, stop, poll_s=interval_s, on_wait=lambda why: log.warning(
            "waiting_for_schema", code=why.code, detail=why.message)):
        return
    while not stop.wait(interval_s):
        try:
            sweep(get_runtime(), dispatch, actor=f"sweeper@{os.getpid()}")
        except Exception as exc:  # a sweeper that dies silently would be worse
            log.warning("sweep_failed", error=type(exc).__name__, detail=str(exc)[:200])


@worker_ready.connect
def _start(**_kwargs: object) -> None:
    if os.environ.get("HPHOST_WORKER_SWEEPER", "1") != "1":
        return
    interval_s = get_settings().sweep_interval_s
    threading.Thread(target=run_sweeper, args=(_stop, interval_s), name="hphost-sweeper",
                     daemon=True).start()
    log.info("sweeper_started", interval_s=interval_s)


@worker_shutdown.connect
def _stop_sweeper(**_kwargs: object) -> None:
    _stop.set()
