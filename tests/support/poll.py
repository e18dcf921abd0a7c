"""Wait for a condition with a deadline instead of a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], *, timeout_s: float, poll_s: float = 0.1) -> bool:
    """Ask ``condition`` until it holds or ``timeout_s`` has passed; whether it held (assert on it, with a message)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
    return True
