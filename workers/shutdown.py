"""How a worker stops: SIGTERM, to its main process or to its whole process group, ends it within its grace.

With Celery's defaults SIGTERM is a warm shutdown and the pool children die of their own SIGTERM when a
supervisor signals the group (``timeout``, systemd's ``KillMode=control-group``): a child can die holding
the pool's shared inqueue lock, and the main process then waits on that semaphore for ever at exit.
billiard's ``REMAP_SIGTERM=SIGQUIT`` (read when billiard is imported, hence an environment variable set
before the worker's interpreter starts) makes the children ignore SIGTERM, lets the pool stop them with
SIGQUIT, and turns SIGTERM into Celery's cold shutdown: a running stage gets
``worker_soft_shutdown_timeout``, then its message goes back unacknowledged and its lease hands it on.
"""

from __future__ import annotations

import sys

from celery.signals import worker_init

from config.logging import get_logger

SIGNAL_ENV = {"REMAP_SIGTERM": "SIGQUIT"}

log = get_logger("hphost.worker")


def sigterm_is_cold_shutdown() -> bool:
    """Whether this interpreter's billiard was imported with SIGTERM remapped (see the module's docstring)."""
    from billiard.common import REMAP_SIGTERM

    return REMAP_SIGTERM == SIGNAL_ENV["REMAP_SIGTERM"]


@worker_init.connect
def _refuse_unsafe_signals(**_kwargs: object) -> None:
    if sigterm_is_cold_shutdown():
        return
    message = ("This worker was started without REMAP_SIGTERM=SIGQUIT: a SIGTERM to its process group could "
               "hang it. Start workers with `hphost worker`.")
    log.error("worker_refused", code="WORKER_SIGNALS", message=message)
    print(f"error WORKER_SIGNALS: {message} (setting=REMAP_SIGTERM)", file=sys.stderr)
    raise SystemExit(2)
