"""hphost's bookkeeping against a raw Celery chain doing the same work, on the same broker, in one run.

    .venv/bin/python bench/pipeline.py [--broker redis|rabbitmq|both] [--latency-jobs 40]
        [--jobs 1000] [--concurrency 2,4] [--loads 20] [--load-concurrency 4]

Starts PostgreSQL, Redis (always: the raw chains report their end on it), RabbitMQ when asked and
moto's S3 on the test ports (``HPHOST_TEST_<NAME>_PORT``). The job is a minimal ``create_base`` on a
planning not associated with HYPERPLANNING.net: instantiate builds an empty base schema, publish is
skipped. The raw chain is two Celery tasks with the same settings (``bench/rawchain.py``): the same
empty-schema build, then a task that records the end. So hphost minus raw is hphost's own cost:
stage rows, claims, leases and heartbeats, audit rows, the next stage's dispatch, the sweeper.
- latency: one job at a time, enqueue to end (hphost: the job row's created_at to finished_at);
  per-stage overhead = (hphost median - raw median) / 2 stages;
- throughput: ``--jobs`` jobs on as many plannings, one worker of each ``--concurrency``: jobs/s;
- many customers: ``--loads`` school-sized load_base (with their .profils, one hosting each) at once
  on ``--load-concurrency`` pool processes: every job's end, its queue-wait share, how many ran at
  once, the workers' peak RSS and PostgreSQL connections against the pool bound.
Production durations (no short leases). Numbers are from whatever else runs on the machine: read ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline_probes import Sampler, job_timings  # noqa: E402
from tests.support.hphost_stack import FAST, Stack, server_stack  # noqa: E402
from tests.support.loopback import Server, make_server  # noqa: E402

GRID = {"first_monday": "2026-08-31", "weeks": 44, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 10, "sequence_minutes": 60, "steps_per_sequence": 2}


def production_stack(name: str, home: Path, servers: dict[str, Server], broker: str) -> Stack:
    stack = server_stack(name, home, broker_url=servers[broker].url, postgres_url=servers["postgres"].url,
                         s3_endpoint=servers["moto"].url)
    for key in FAST:  # the tests' short leases and retries: a bench runs the defaults
        stack.env.pop(key, None)
    return stack


class RawWorker:
    """``celery -A bench.rawchain worker`` on the stack's broker and base databases."""

    def __init__(self, stack: Stack, redis_url: str, concurrency: int):
        self.env = {**os.environ, **stack.env, "RAWBENCH_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
        from bench.rawchain import sender

        self.redis_url, self.concurrency, self.app = redis_url, concurrency, sender(stack.settings())
        self.log = stack.home / "logs" / f"raw-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RawWorker:
        import redis

        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "bench.rawchain", "worker", "-Q", "rawbench", "-c",
                 str(self.concurrency), "-n", f"raw-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.redis = redis.Redis.from_url(self.redis_url)
        self.redis.delete("rawbench:done")
        try:
            self.run_chains(1)  # warm: the first chain waits for the worker to be up
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=60)
        self.app.close()

    def run_chains(self, count: int) -> tuple[float, list[float]]:
        """Send ``count`` chains at once; (seconds from the first send to the last end, each one's latency)."""
        from celery import chain

        sent: dict[str, float] = {}
        started = time.time()
        for _ in range(count):
            base_id = uuid.uuid4().hex[:12]
            sent[base_id] = time.time()
            chain(self.app.signature("rawbench.build", (base_id,), immutable=True),
                  self.app.signature("rawbench.done", (base_id,), immutable=True)).apply_async()
        latencies, last = [], started
        for _ in range(count):
            base_id, ended = self._next_end(deadline=time.monotonic() + 600)
            latencies.append(ended - sent[base_id])
            last = max(last, ended)
        return last - started, latencies

    def _next_end(self, deadline: float) -> tuple[str, float]:
        while time.monotonic() < deadline:
            popped = self.redis.blpop(["rawbench:done"], timeout=1)  # short: redis-py's socket timeout
            if popped is not None:
                base_id, ended = json.loads(popped[1])
                return base_id, ended
        raise TimeoutError(f"a raw chain did not end; see {self.log}")


def hphost_jobs(stack: Stack, plannings: list[str], spent: dict[str, float] | None = None) -> tuple[float, list[float]]:
    """create_base on each planning at once; (seconds from the first enqueue to the last end, latencies)."""
    client = stack.client
    started = time.time()
    ids = [client.enqueue("create_base", planning, time_grid=GRID).id for planning in plannings]
    if spent is not None:
        spent["enqueue_s"] = time.time() - started
    views = [client.wait(job_id, timeout_s=1800, poll_s=0.05) for job_id in ids]
    bad = [view.id for view in views if view.state != "succeeded"]
    assert not bad, f"jobs did not succeed: {bad}"
    timings = job_timings(stack, ids)
    return max(t["finished"] for t in timings) - started, [t["latency"] for t in timings]


def latency(stack: Stack, raw: RawWorker, count: int) -> dict[str, float]:
    ours, theirs = [], []
    for _ in range(count):  # alternated, one job at a time
        ours += hphost_jobs(stack, [stack.new_planning(net=False)])[1]
        theirs += raw.run_chains(1)[1]
    return {"hphost_median_ms": 1000 * statistics.median(ours), "hphost_p99_ms": 1000 * _p99(ours),
            "raw_median_ms": 1000 * statistics.median(theirs), "raw_p99_ms": 1000 * _p99(theirs),
            "overhead_per_stage_ms": 1000 * (statistics.median(ours) - statistics.median(theirs)) / 2}


def _p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


def throughput(stack: Stack, raw: RawWorker, count: int) -> dict[str, float]:
    plannings = [stack.new_planning(net=False) for _ in range(count)]
    spent: dict[str, float] = {}
    ours = hphost_jobs(stack, plannings, spent)[0]
    theirs = raw.run_chains(count)[0]
    return {"hphost_jobs_per_s": count / ours, "raw_chains_per_s": count / theirs, "ratio": theirs / ours,
            "hphost_enqueue_share": spent["enqueue_s"] / ours}


def many_customers(stack: Stack, loads: int, concurrency: int, work: Path) -> dict[str, Any]:
    from hphost_samples.generator import generate_sample

    inputs = []
    for index in range(loads):
        hosting = f"9{index:011d}"
        hhyp, profils = work / f"school-{index}.HHYP", work / f"school-{index}.profils"
        generate_sample(hhyp, hosting_number=hosting, preset="school", seed=index, profils_path=profils)
        inputs.append((_planning(stack, hosting, index), hhyp, profils, hosting))
    workers = stack.start_workers(1, concurrency=concurrency)
    with Sampler(stack, workers) as sampler:
        started = time.time()
        ids = [stack.client.enqueue("load_base", planning, hhyp=hhyp, profils=profils, hosting=hosting).id
               for planning, hhyp, profils, hosting in inputs]
        views = [stack.client.wait(job_id, timeout_s=3600, poll_s=0.5) for job_id in ids]
    stack.stop_workers()
    timings = job_timings(stack, ids)
    shares = [t["queue_wait"] / t["latency"] for t in timings]
    return {"jobs": loads, "succeeded": sum(view.state == "succeeded" for view in views),
            "seconds": max(t["finished"] for t in timings) - started,
            "queue_wait_share_median": statistics.median(shares), "queue_wait_share_max": max(shares),
            "most_jobs_running_at_once": _most_at_once(timings), **sampler.peaks(concurrency)}


def _planning(stack: Stack, hosting: str, index: int) -> str:
    """A planning of a hosting of its own (a controller domain belongs to one hosting)."""
    from hosting.plannings import PlanningSettings, create_hosting, create_planning

    with stack.client.rt.db.transaction() as session:
        create_hosting(session, hosting, actor="bench")
        return create_planning(session, hosting, PlanningSettings(
            name=f"School {index}", domain=f"school{index}.edt.example.edu",
            controller_domain=f"ctl{index}.example.edu", associate_net=True), actor="bench").id


def _most_at_once(timings: list[dict[str, Any]]) -> int:
    events = sorted([(t["started"], 1) for t in timings] + [(t["finished"], -1) for t in timings])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def one_broker(broker: str, servers: dict[str, Server], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    stack = production_stack(broker, work / broker, servers, broker)
    stack.create_hosting()
    figures: dict[str, Any] = {}
    try:
        for concurrency in args.concurrency:
            stack.start_workers(1, concurrency=concurrency)
            with RawWorker(stack, servers["redis"].url, concurrency) as raw:
                hphost_jobs(stack, [stack.new_planning(net=False)])  # warm
                if concurrency == args.concurrency[0]:
                    figures["latency"] = _shown(broker, "latency", latency(stack, raw, args.latency_jobs))
                figures[f"throughput_c{concurrency}"] = _shown(broker, f"throughput_c{concurrency}",
                                                               throughput(stack, raw, args.jobs))
            stack.stop_workers()
        if args.loads:
            figures["many_customers"] = _shown(broker, "many_customers",
                                               many_customers(stack, args.loads, args.load_concurrency, work))
    finally:
        stack.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", choices=["redis", "rabbitmq", "both"], default="both")
    parser.add_argument("--latency-jobs", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=lambda text: [int(c) for c in text.split(",")], default=[2, 4])
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--load-concurrency", type=int, default=4)
    args = parser.parse_args()
    brokers = ["redis", "rabbitmq"] if args.broker == "both" else [args.broker]
    servers_root = Path(tempfile.gettempdir()) / "hphost-bench-servers"  # not 0700: postgres reads it
    servers_root.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hphost-bench-pipeline-"))
    servers: dict[str, Server] = {}
    try:
        for name in ("postgres", "redis", "moto", *(["rabbitmq"] if "rabbitmq" in brokers else [])):
            servers[name] = make_server(name, servers_root)
        results = {broker: one_broker(broker, servers, args, work) for broker in brokers}
    finally:
        for server in servers.values():
            server.stop()
    print(json.dumps(results))


def _shown(broker: str, section: str, values: dict[str, Any]) -> dict[str, Any]:
    show: Callable[[Any], str] = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
    print(f"{broker:8} {section:18} " + "  ".join(f"{k}={show(v)}" for k, v in values.items()), flush=True)
    return values


if __name__ == "__main__":
    main()
