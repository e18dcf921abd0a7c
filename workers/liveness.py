"""A heartbeat file for orchestrators' liveness probes that must not ask the broker.

With ``HPHOST_WORKER_ALIVE_FILE`` set, the worker's main process touches that file every
``ALIVE_EVERY_S`` while it runs, broker up or down; a probe checks its age (deploy/kubernetes).
``celery inspect ping`` would go through the broker and restart every worker while it is down.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from celery.signals import worker_ready, worker_shutdown

ALIVE_EVERY_S = 10.0
_stop = threading.Event()


def keep_alive(path: Path, stop: threading.Event, every_s: float = ALIVE_EVERY_S) -> None:
    """Touch ``path`` now and every ``every_s`` until ``stop`` is set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        path.touch()
        if stop.wait(every_s):
            return


@worker_ready.connect
def _start(**_kwargs: object) -> None:
    path = os.environ.get("HPHOST_WORKER_ALIVE_FILE")
    if path:
        threading.Thread(target=keep_alive, args=(Path(path), _stop), name="hphost-alive", daemon=True).start()


@worker_shutdown.connect
def _stop_touching(**_kwargs: object) -> None:
    _stop.set()
