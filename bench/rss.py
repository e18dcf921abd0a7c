"""Peak memory of a benchmark's measuring process."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak RSS since it was started, in MiB.

    Not ``ru_maxrss``: on Linux it survives ``execve`` and starts at the peak of the process that
    spawned this one (a bench that has just written its sample), so it would report the parent's
    memory whenever that is the larger. ``VmHWM`` belongs to this program's own address space.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) / 1024
