"""``jobs show``'s attempts column counts runs: a stage that ran once shows 1."""

from __future__ import annotations

from console.views import StageView
from hosting.db.models import Stage


def _attempts(state: str, attempts: int, deliveries: int) -> int:
    stage = Stage(name="unpack", state=state, attempts=attempts, deliveries=deliveries,
                  progress_done=0, progress_total=0)
    return StageView.of(stage).attempts


def test_attempts_count_the_runs_of_a_stage():
    assert _attempts("pending", 0, 0) == 0
    assert _attempts("succeeded", 0, 1) == 1  # ran once (showed 0)
    assert _attempts("queued", 1, 1) == 1  # ran once, a retry is scheduled
    assert _attempts("running", 1, 2) == 2  # the retry runs
    assert _attempts("failed", 4, 5) == 5  # four retries, then the last attempt failed
    assert _attempts("succeeded", 0, 2) == 1  # a delivery lost with its worker is not an attempt of its own
