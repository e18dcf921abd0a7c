"""The chaos harness: run many jobs while killing workers and breaking servers, then check.

Used by ``tests/chaos`` (short form, in the test command) and ``bench/chaos.py``
(long form). A trial enqueues a batch of jobs on several plannings, injects the
faults it was given at random moments, waits for every job to end, and checks
the invariants of docs/ARCHITECTURE.md:

- every job ends succeeded or failed with a stated reason (none stuck);
- no stage's effect applied twice (one ``stage.succeeded`` per stage, one
  ``job.succeeded`` per job, Controller rows unique);
- a succeeded load's base matches its .HHYP byte for byte (objects) and row for row;
- a failed job left nothing half-done, and ``fsck`` finds no orphan;
- the previous base served throughout (sampled while the trial runs).
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select

from hosting.db.models import AuditEvent, BaseRecord, ControllerUser, Planning, Stage, utcnow
from hosting.errors import DatabaseUnavailable
from hosting.fsck import fsck
from tests.support.hphost_stack import Stack
from tests.support.poll import wait_until

T = TypeVar("T")
HOSTING = "123456789012"
GRID = {"first_monday": "2026-08-31", "weeks": 30, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 8, "sequence_minutes": 60, "steps_per_sequence": 2}


@dataclass
class Kill:
    """One SIGKILL: when, whom, and which stages were running on the killed processes."""

    at: float
    whole_worker: bool
    victims: list[tuple[str, str]]  # (job_id, stage) owned by the killed processes
    recovered_after_s: dict[tuple[str, str], float] = field(default_factory=dict)


@dataclass
class TrialResult:
    broker: str
    faults: list[str]
    jobs: int
    succeeded: int
    failed: dict[str, int]
    stuck: int
    duplicates: list[str]
    mismatches: list[str]
    orphans: int
    fsck_problems: list[dict[str, Any]]
    served_gaps: list[str]
    kills: list[Kill]
    duration_s: float

    @property
    def ok(self) -> bool:
        return not (self.stuck or self.duplicates or self.mismatches or self.orphans
                    or self.fsck_problems or self.served_gaps)

    def recovery_times(self) -> list[float]:
        return [t for kill in self.kills for t in kill.recovered_after_s.values()]

    def row(self) -> dict[str, Any]:
        return {"broker": self.broker, "faults": "+".join(self.faults) or "none", "jobs": self.jobs,
                "succeeded": self.succeeded, "failed": dict(self.failed), "stuck": self.stuck,
                "duplicates": len(self.duplicates), "mismatches": len(self.mismatches),
                "orphans": self.orphans, "kills": len(self.kills),
                "interrupted": sorted(stage for kill in self.kills for _, stage in kill.victims),
                "recovery_s": [round(t, 1) for t in self.recovery_times()],
                "duration_s": round(self.duration_s, 1), "ok": self.ok,
                **({} if self.ok else {"details": self.details()})}

    def details(self) -> list[str]:
        """What broke the invariants, first few of each kind."""
        return [*self.duplicates[:5], *self.mismatches[:5], *self.served_gaps[:5],
                *(json.dumps(problem, default=str) for problem in self.fsck_problems[:5])]


class Trial:
    """One trial on a running stack; ``faults`` among: kill, kill_child, broker, s3, postgres.

    By default up to ``max_faults`` faults are drawn from ``faults``; ``ordered=True``
    injects each of ``faults`` once, in order. ``kill_stage`` makes a kill wait until a
    stage of that name is running and kill the worker running it (so a long form can
    spread its kills over all four stages).
    """

    def __init__(self, stack: Stack, hhyp: Path, profils: Path, *, seed: int, jobs: int = 4,
                 faults: tuple[str, ...] = ("kill",), servers: dict[str, Any] | None = None,
                 proxy: Any = None, timeout_s: float = 240.0, max_faults: int = 2,
                 s3_error_rate: float | None = None, ordered: bool = False, kill_stage: str | None = None):
        self.stack, self.hhyp, self.profils = stack, hhyp, profils
        self.rng = random.Random(seed)
        self.n_jobs, self.faults, self.servers = jobs, faults, servers or {}
        self.proxy, self.timeout_s, self.max_faults = proxy, timeout_s, max_faults
        self.ordered, self.kill_stage = ordered, kill_stage
        self.s3_error_rate = s3_error_rate  # set once the jobs are enqueued, until the checks
        self.kills: list[Kill] = []
        self.served_gaps: list[str] = []
        self._stop = threading.Event()

    # --- running ---------------------------------------------------------------------
    def run(self) -> TrialResult:
        started = time.monotonic()
        client = self.stack.client
        plannings = [self.stack.new_planning() for _ in range(self.n_jobs)]
        baseline = self._serve(plannings[: self.n_jobs // 2])
        job_ids = [client.enqueue("load_base", p, hhyp=self.hhyp, profils=self.profils).id for p in plannings]
        watcher = threading.Thread(target=self._watch_served, args=(baseline,), daemon=True)
        watcher.start()
        chaos = threading.Thread(target=self._inject, daemon=True)
        chaos.start()
        views = self._wait_all(job_ids)
        self._stop.set()
        chaos.join(60)
        watcher.join(10)
        self._heal()
        return self._check(job_ids, views, baseline, time.monotonic() - started)

    def faults_during(self, work: Callable[[], T]) -> T:
        """Run ``work`` (other jobs than loads: backups, restores) while this trial's faults are injected;
        the kills made are in ``kills``, their recovery times once ``recovered()`` is called."""
        self._stop.clear()
        chaos = threading.Thread(target=self._inject, daemon=True)
        chaos.start()
        try:
            return work()
        finally:
            self._stop.set()
            chaos.join(60)

    def recovered(self) -> list[float]:
        self._recovery_times()
        return [t for kill in self.kills for t in kill.recovered_after_s.values()]

    def _serve(self, plannings: list[str]) -> dict[str, str]:
        """Put a first base in service on each planning (before any fault): planning -> base."""
        jobs = {p: self.stack.client.enqueue("create_base", p, time_grid=GRID).id for p in plannings}
        for job_id in jobs.values():
            done = self.stack.client.wait(job_id, timeout_s=120)
            assert done.state == "succeeded", done.error
        return jobs

    def _wait_all(self, job_ids: list[str]) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        views: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                views = {j: self.stack.client.get(j) for j in job_ids}
            except DatabaseUnavailable:  # the control DB is restarting: ask again
                time.sleep(0.5)
                continue
            if all(v.final for v in views.values()):
                break
            time.sleep(0.5)
        return views

    # --- faults ------------------------------------------------------------------------
    def _inject(self) -> None:
        """Inject up to ``max_faults`` faults, one every few seconds, while jobs run."""
        if self.proxy is not None and self.s3_error_rate is not None:
            self.proxy.error_rate = self.s3_error_rate
        plan = list(self.faults) if self.ordered else [self.rng.choice(self.faults) for _ in range(self.max_faults)]
        for fault in plan:
            if self._stop.wait(self.rng.uniform(0.5, 3.0)):
                return
            try:
                getattr(self, f"_fault_{fault}")()
            except Exception as exc:  # a fault that could not be injected is not a finding
                print(f"chaos: fault {fault} not injected: {exc!r}")

    def _running_on(self, pids: set[int]) -> list[tuple[str, str]]:
        with self.stack.client.rt.db.transaction() as session:
            rows = session.execute(select(Stage.job_id, Stage.name, Stage.lease_owner)
                                   .where(Stage.state == "running")).all()
        return [(job, name) for job, name, owner in rows
                if owner and int(owner.split(":")[1]) in pids]

    def _busy_workers(self, alive: list[Any]) -> list[Any]:
        """Workers running a stage now; with ``kill_stage``, running that stage, waited for."""
        while True:
            try:
                targets = [w for w in alive if self._wanted(self._running_on({w.pid, *w.children()}))]
            except DatabaseUnavailable:  # restarting: look again
                targets = []
            if targets or self.kill_stage is None or self._stop.wait(0.1):
                return targets

    def _wanted(self, running: list[tuple[str, str]]) -> bool:
        return any(self.kill_stage in (None, name) for _, name in running)

    def _fault_kill(self, whole: bool = True) -> None:
        """SIGKILL a worker (or one pool child), preferring one that is running a stage right now."""
        alive = [w for w in self.stack.workers if w.alive()]
        if not alive:
            return
        busy = self._busy_workers(alive)
        if self._stop.is_set():
            return
        worker = self.rng.choice(busy or alive)
        children = worker.children()
        if whole:
            victims = self._running_on({worker.pid, *children})
            at = time.time()
            worker.kill()
            self.kills.append(Kill(at, True, victims))
            self.stack.workers.remove(worker)
            self.stack.start_workers(1, concurrency=worker.concurrency)
            return
        busy_children = [c for c in children if self._wanted(self._running_on({c}))]
        if busy_children or children:
            child = self.rng.choice(busy_children or children)
            victims = self._running_on({child})
            at = time.time()
            signal_kill(child)
            self.kills.append(Kill(at, False, victims))

    def _fault_kill_child(self) -> None:
        self._fault_kill(whole=False)

    def _fault_broker(self) -> None:
        server = self.servers.get("broker")
        if server is not None:
            server.restart()

    def _fault_postgres(self) -> None:
        server = self.servers.get("postgres")
        if server is not None:
            server.restart()

    def _fault_s3(self) -> None:
        if self.proxy is not None:
            self.proxy.error_rate = self.rng.choice([0.0, 0.2, 0.3])

    def _heal(self) -> None:
        if self.proxy is not None:
            self.proxy.error_rate = 0.0
        for name in ("broker", "postgres"):
            server = self.servers.get(name)
            if server is not None and not server.is_up():
                server.start()

    def _watch_served(self, baseline: dict[str, str]) -> None:
        """While the trial runs, every planning that had a base in service keeps one."""
        # One statement, as a reader of the planning would: read in two (planning, then its base),
        # READ COMMITTED could show the old base id and then that base already retired.
        serving = (select(Planning.id, BaseRecord.state)
                   .outerjoin(BaseRecord, BaseRecord.id == Planning.current_base_id)
                   .where(Planning.id.in_(list(baseline))))
        while not self._stop.wait(0.3):
            try:
                with self.stack.client.rt.db.transaction() as session:
                    states = dict(session.execute(serving).all())
            except Exception:  # the control DB may be restarting: not a gap in service
                continue
            self.served_gaps += [f"{planning} had no base in service at {time.time():.1f} ({states.get(planning)})"
                                 for planning in baseline if states.get(planning) != "in_service"]

    # --- checks ------------------------------------------------------------------------
    def _check(self, job_ids: list[str], views: dict[str, Any], baseline: dict[str, str],
               duration_s: float) -> TrialResult:
        self._recovery_times()
        rt = self.stack.client.rt
        stuck = [j for j, v in views.items() if not v.final]
        succeeded = [j for j, v in views.items() if v.state == "succeeded"]
        failed = Counter(v.error["code"] if v.error else "NO_REASON" for v in views.values() if v.state == "failed")
        duplicates = self._duplicates(job_ids)
        mismatches = [m for j in succeeded for m in self.matches_archive(j)]
        for planning, old in baseline.items():
            with rt.db.transaction() as session:
                planning_row = session.get(Planning, planning)
                assert planning_row is not None
                current = planning_row.current_base_id
            expected = next((j for j in succeeded if views[j].planning_id == planning), old)
            if current != expected:
                mismatches.append(f"planning {planning} serves {current}, expected {expected}")
        # Let the sweepers finish any cleanup: at most a few sweeps, then what is left is reported.
        wait_until(lambda: fsck(rt).clean, timeout_s=max(rt.settings.sweep_interval_s, 1.0) * 6, poll_s=0.5)
        report = fsck(rt)
        return TrialResult(self.stack.name, list(self.faults), len(job_ids), len(succeeded), dict(failed),
                           len(stuck), duplicates, mismatches, len(report.orphan_objects) + len(report.orphan_base_dbs),
                           report.problems, self.served_gaps, self.kills, duration_s)

    def _duplicates(self, job_ids: list[str]) -> list[str]:
        with self.stack.client.rt.db.transaction() as session:
            rows = session.execute(select(AuditEvent.job_id, AuditEvent.stage, AuditEvent.action)
                                   .where(AuditEvent.job_id.in_(job_ids))).all()
            users = session.execute(select(ControllerUser.login, func.count())
                                    .where(ControllerUser.hosting_number == HOSTING)
                                    .group_by(ControllerUser.login)).all()
        once = {"stage.succeeded", "stage.skipped", "job.succeeded", "job.failed", "base.in_service"}
        counts = Counter((j, s, a) for j, s, a in rows if a in once)
        found = [f"{a} x{n} for {j} {s or ''}" for (j, s, a), n in counts.items() if n > 1]
        found += [f"controller user {login} x{n}" for login, n in users if n > 1]
        return found

    def matches_archive(self, job_id: str) -> list[str]:
        rt = self.stack.client.rt
        problems = []
        with zipfile.ZipFile(self.hhyp) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            for info in archive.infolist():
                if info.is_dir() or info.filename == "manifest.json":
                    continue
                stored = rt.store.get_bytes(f"bases/{job_id}/{info.filename}")
                if hashlib.sha256(stored).digest() != hashlib.sha256(archive.read(info)).digest():
                    problems.append(f"{job_id}: object {info.filename} differs")
                if info.filename.startswith("base/"):
                    table = info.filename.removeprefix("base/").removesuffix(".jsonl")
                    expected = [json.loads(line) for line in archive.read(info).splitlines() if line.strip()]
                    actual = list(rt.basedbs.rows(job_id, table))
                    if sorted(expected, key=lambda r: r["id"]) != sorted(actual, key=lambda r: r["id"]):
                        problems.append(f"{job_id}: table {table} differs")
        if rt.basedbs.counts(job_id) != manifest["tables"]:
            problems.append(f"{job_id}: row counts differ")
        return problems

    def _recovery_times(self) -> None:
        """For each stage a kill interrupted: seconds until a new delivery started running it."""
        with self.stack.client.rt.db.transaction() as session:
            for kill in self.kills:
                for job_id, stage in kill.victims:
                    at = session.scalar(select(func.min(AuditEvent.at)).where(
                        AuditEvent.job_id == job_id, AuditEvent.stage == stage,
                        AuditEvent.action == "stage.running",
                        AuditEvent.at > _utc(kill.at)))
                    if at is not None:
                        kill.recovered_after_s[(job_id, stage)] = at.timestamp() - kill.at


def signal_kill(pid: int) -> None:
    import os

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _utc(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC)


__all__ = ["Trial", "TrialResult", "utcnow"]
