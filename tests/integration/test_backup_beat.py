"""Two ``hphost beat`` processes at once, ringing every second, with a real worker: one verified backup
per planning for the night, and no second one however many ticks follow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from hosting.db.models import Backup, BackupRun, Job
from tests.support.hphost_stack import SAMPLES, embedded_stack, running
from tests.support.poll import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]


@pytest.fixture
def stack(tmp_path):
    built = embedded_stack(tmp_path)
    built.env.update({"HPHOST_BACKUP_TICK_S": "1", "HPHOST_BACKUP_HOUR_UTC": "0"})  # tonight is due now
    with running(built, tmp_path):
        yield built


def _beat(stack, k: int) -> subprocess.Popen[bytes]:
    with (stack.home / "logs" / f"beat{k}.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "console", "beat"], env={**os.environ, **stack.env},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _count(stack, query) -> int:
    with stack.client.rt.db.transaction() as session:
        return session.scalar(query) or 0


def test_two_beats_make_one_backup_per_planning_per_night(stack):
    plannings = [stack.new_planning() for _ in range(2)]
    for planning in plannings:
        job = stack.client.wait(stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP").id,
                                timeout_s=120)
        assert job.state == "succeeded", job.error
    beats = [_beat(stack, k) for k in range(2)]
    try:
        done = select(func.count()).select_from(BackupRun).where(BackupRun.state == "done")
        assert wait_until(lambda: _count(stack, done) == 2, timeout_s=150), stack.worker_logs()
        ticks = lambda: sum(p.read_text().count("backups_tick") for p in (stack.home / "logs").glob("*.log"))  # noqa: E731
        seen = ticks()
        assert wait_until(lambda: ticks() >= seen + 4, timeout_s=60)  # more ticks after the night is done
    finally:
        for beat in beats:
            os.killpg(beat.pid, signal.SIGTERM)
            beat.wait(timeout=20)
    backups = select(Backup.planning_id, Backup.night).where(Backup.state == "verified")
    with stack.client.rt.db.transaction() as session:
        rows = sorted(session.execute(backups))
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.kind == "backup_base"))
    assert len(rows) == 2 and {planning for planning, _night in rows} == set(plannings)
    assert jobs == 2
