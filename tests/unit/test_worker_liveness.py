"""The liveness file: touched at once and again while the worker runs, left alone once it stops."""

from __future__ import annotations

import os
import threading

from tests.support.poll import wait_until
from workers.liveness import keep_alive


def test_the_alive_file_is_touched_until_the_worker_stops(tmp_path):
    path, stop = tmp_path / "run" / "alive", threading.Event()
    thread = threading.Thread(target=keep_alive, args=(path, stop, 0.05), daemon=True)
    thread.start()
    assert wait_until(path.exists, timeout_s=5, poll_s=0.01), "the alive file was never made"
    os.utime(path, (0, 0))
    assert wait_until(lambda: path.stat().st_mtime > 0, timeout_s=5, poll_s=0.01), "not touched again"
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
