"""What bench/pipeline.py reads while and after jobs run: stage times from the rows, worker RSS, connections."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text

from hosting.db.models import Job, Stage

if TYPE_CHECKING:
    from console.worker_pool import WorkerProcess
    from tests.support.hphost_stack import Stack

# hosting/db/session.py: pool_size=5, max_overflow=5 in every process that talks to the control DB.
POOL_PER_PROCESS = 10


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def job_timings(stack: Stack, job_ids: list[str]) -> list[dict[str, Any]]:
    """Per job (epoch seconds): created, started, finished, latency, and queue_wait, the time its stages
    spent queued (the first from the job's creation, each next one from the end of the one before)."""
    timings = []
    with stack.client.rt.db.transaction() as session:
        for job_id in job_ids:
            job = session.get(Job, job_id)
            assert job is not None and job.finished_at is not None and job.started_at is not None
            stages = session.scalars(select(Stage).where(Stage.job_id == job_id).order_by(Stage.position)).all()
            ready, wait = _epoch(job.created_at), 0.0
            for stage in stages:
                if stage.started_at is None or stage.finished_at is None:
                    continue
                wait += max(0.0, _epoch(stage.started_at) - ready)
                ready = _epoch(stage.finished_at)
            created = _epoch(job.created_at)
            timings.append({"created": created, "started": _epoch(job.started_at),
                            "finished": _epoch(job.finished_at), "latency": _epoch(job.finished_at) - created,
                            "queue_wait": wait, "stages": {s.name: _span(s) for s in stages}})
    return timings


def _span(stage: Stage) -> float:
    if stage.started_at is None or stage.finished_at is None:
        return 0.0
    return _epoch(stage.finished_at) - _epoch(stage.started_at)


def _rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((line for line in status.splitlines() if line.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


class Sampler:
    """Every half second: each worker process's RSS and the control database's connections."""

    def __init__(self, stack: Stack, workers: list[WorkerProcess]):
        self.stack, self.workers = stack, workers
        self.rss_peak = self.rss_total_peak = 0.0
        self.connections_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        database = self.stack.env["HPHOST_DATABASE_URL"].rsplit("/", 1)[1]
        while not self._stop.wait(0.5):
            sizes = [_rss_mb(pid) for worker in self.workers for pid in (worker.pid, *worker.children())]
            self.rss_peak = max(self.rss_peak, *sizes, 0.0)
            self.rss_total_peak = max(self.rss_total_peak, sum(sizes))
            with self.stack.client.rt.db.transaction() as session:
                count = session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"),
                                       {"name": database}) or 0
            self.connections_peak = max(self.connections_peak, count)

    def peaks(self, concurrency: int) -> dict[str, Any]:
        # Each pool process and the main one (sweeper) have a control-DB pool; each child may hold one
        # base-database connection beside it; the bench's own client is one process more.
        bound = (concurrency + 2) * POOL_PER_PROCESS + concurrency
        return {"worker_rss_peak_mb": self.rss_peak, "workers_rss_total_peak_mb": self.rss_total_peak,
                "pg_connections_peak": self.connections_peak, "pg_connections_bound": bound}
