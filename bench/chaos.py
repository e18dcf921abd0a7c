"""Crash safety, long form: many trials of jobs under SIGKILL on Redis and RabbitMQ, plus S3 faults.

    .venv/bin/python bench/chaos.py --trials 50 --brokers redis,rabbitmq

Starts its own PostgreSQL, Redis, RabbitMQ and moto S3 on ports of its own
(25433, 26379, 25673, 25000), runs the trials, and prints one row per trial,
totals, the stages the kills interrupted, the recovery-time distribution
(SIGKILL → the lost stage running again) and the S3 fault experiments (20%
and 100% error rates).

Trial ``n`` aims its kill at stage ``STAGES[n % 4]`` (it waits until one runs);
one trial in ten also restarts the broker first, one in ten PostgreSQL; the
others add a second kill, of a worker's pool child, every other trial.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_PORTS = {"postgres": 25433, "redis": 26379, "rabbitmq": 25673, "moto": 25000}
for _name, _port in BENCH_PORTS.items():
    os.environ.setdefault(f"HPHOST_TEST_{_name.upper()}_PORT", str(_port))

from config.logging import configure_logging  # noqa: E402
from config.settings import Settings  # noqa: E402
from hphost_samples.generator import generate_sample  # noqa: E402
from tests.chaos.harness import HOSTING, Trial, TrialResult  # noqa: E402
from tests.support.faultproxy import FaultProxy  # noqa: E402
from tests.support.hphost_stack import server_stack  # noqa: E402
from tests.support.loopback import Server, make_server  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


STAGES = ("unpack", "instantiate", "publish", "assign")


def plan(seed: int) -> tuple[tuple[str, ...], str]:
    """The faults of trial ``seed``, in order, and the stage its kills aim at."""
    if seed % 10 == 3:
        faults: tuple[str, ...] = ("broker", "kill")
    elif seed % 10 == 7:
        faults = ("postgres", "kill")
    else:
        faults = ("kill", "kill_child") if seed % 2 else ("kill",)
    return faults, STAGES[seed % len(STAGES)]


def run_trial(servers: dict[str, Server], broker: str, sample: tuple[Path, Path], work: Path, *, seed: int,
              jobs: int, faults: tuple[str, ...], kill_stage: str | None = None, proxy: FaultProxy | None = None,
              s3_error_rate: float | None = None, timings: dict[str, str] | None = None) -> TrialResult:
    stack = server_stack(broker, work / f"{broker}-{seed}", broker_url=servers[broker].url,
                         postgres_url=servers["postgres"].url,
                         s3_endpoint=proxy.url if proxy is not None else servers["moto"].url)
    stack.env.update(timings or {})
    stack.start_workers(2, concurrency=1)
    try:
        return Trial(stack, *sample, seed=seed, jobs=jobs, faults=faults, ordered=True, kill_stage=kill_stage,
                     servers={"broker": servers[broker], "postgres": servers["postgres"]}, proxy=proxy,
                     s3_error_rate=s3_error_rate, timeout_s=300).run()
    finally:
        stack.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--first", type=int, default=0, help="seed of the first trial (to replay one)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds to run instead (e.g. 3,13,23)")
    parser.add_argument("--brokers", default="redis,rabbitmq")
    parser.add_argument("--jobs", type=int, default=2, help="load_base jobs per trial")
    parser.add_argument("--students", type=int, default=3000, help="size of the university-preset sample")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument("--production-timings", action="store_true",
                        help="workers keep the default lease, heartbeat and sweep interval (15, 5, 5 s) "
                             "instead of the tests' short ones (6, 1.5, 1 s): recovery times as deployed")
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 error-rate experiments")
    args = parser.parse_args()
    configure_logging("WARNING")  # this process's own audit lines (it enqueues) would bury the rows
    work = Path(tempfile.mkdtemp(prefix="hphost-chaos-"))
    work.chmod(0o755)  # the daemons run as their own users and must reach their data
    root = work / "servers"
    root.mkdir()
    names = ["postgres", "moto", *args.brokers.split(",")]
    servers = {name: make_server(name, root) for name in names}
    sample = (work / "chaos.HHYP", work / "chaos.profils")
    generate_sample(sample[0], hosting_number=HOSTING, preset="university", students=args.students, seed=1,
                    profils_path=sample[1])
    rows = []
    recovery: dict[str, list[float]] = {}
    seeds = [int(n) for n in args.seeds.split(",")] if args.seeds else range(args.first, args.first + args.trials)
    defaults = Settings(home=work)
    timings = {"HPHOST_LEASE_S": str(defaults.lease_s), "HPHOST_HEARTBEAT_S": str(defaults.heartbeat_s),
               "HPHOST_SWEEP_INTERVAL_S": str(defaults.sweep_interval_s)} if args.production_timings else None
    try:
        for broker in args.brokers.split(","):
            recovery[broker] = []
            for seed in seeds:
                faults, kill_stage = plan(seed)
                result = run_trial(servers, broker, sample, work, seed=seed, jobs=args.jobs, faults=faults,
                                   kill_stage=kill_stage, timings=timings)
                rows.append(result.row())
                recovery[broker] += result.recovery_times()
                print(json.dumps(result.row()), flush=True)
        proxy = FaultProxy(servers["moto"].url, seed=1).start()
        for rate in () if args.no_s3 else (0.2, 1.0):
            before = proxy.faults
            result = run_trial(servers, "redis" if "redis" in servers else args.brokers.split(",")[0], sample,
                               work, seed=1000 + int(rate * 100), jobs=2, faults=(), proxy=proxy,
                               s3_error_rate=rate)
            row = result.row() | {"faults": f"s3@{rate:.0%}", "s3_error_rate": rate,
                                  "faults_injected": proxy.faults - before}
            rows.append(row)
            print(json.dumps(row), flush=True)
        proxy.stop()
    finally:
        for server in servers.values():
            server.stop()
    summarise(rows, recovery)
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "recovery_s": recovery}, indent=1))
    return 0 if all(r["ok"] for r in rows) else 1


def summarise(rows: list[dict], recovery: dict[str, list[float]]) -> None:
    print("\nbroker    trials jobs succeeded failed(codes)                 stuck dup mismatch orphans kills")
    for broker in recovery:
        mine = [r for r in rows if r["broker"] == broker and "s3_error_rate" not in r]
        failed: dict[str, int] = {}
        for r in mine:
            for code, n in r["failed"].items():
                failed[code] = failed.get(code, 0) + n
        interrupted = Counter(stage for r in mine for stage in r["interrupted"])
        print(f"{broker:9} {len(mine):6} {sum(r['jobs'] for r in mine):4} {sum(r['succeeded'] for r in mine):9} "
              f"{json.dumps(failed):30} {sum(r['stuck'] for r in mine):5} {sum(r['duplicates'] for r in mine):3} "
              f"{sum(r['mismatches'] for r in mine):8} {sum(r['orphans'] for r in mine):7} "
              f"{sum(r['kills'] for r in mine):5}")
        print(f"  stages interrupted by a kill: {dict(sorted(interrupted.items()))}; restarts: "
              f"broker {sum('broker' in r['faults'] for r in mine)}, "
              f"postgres {sum('postgres' in r['faults'] for r in mine)}")
        times = recovery[broker]
        if times:
            print(f"  recovery after SIGKILL ({len(times)} interrupted stages): p50 {percentile(times, .5):.1f} s, "
                  f"p95 {percentile(times, .95):.1f} s, max {max(times):.1f} s, mean {statistics.mean(times):.1f} s")
    for r in rows:
        if "s3_error_rate" in r:
            print(f"S3 error rate {r['s3_error_rate']:.0%}: jobs {r['jobs']}, succeeded {r['succeeded']}, "
                  f"failed {r['failed']}, orphans {r['orphans']}, faults injected {r['faults_injected']}")


if __name__ == "__main__":
    started = time.monotonic()
    status = main()
    print(f"total {time.monotonic() - started:.0f} s")
    sys.exit(status)
