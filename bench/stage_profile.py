"""Where hphost's per-stage cost goes: a minimal create_base's stages run in this process under cProfile.

    .venv/bin/python bench/stage_profile.py [--jobs 50] [--top 25]

PostgreSQL and moto's S3 on the test ports; no broker: the next stage's doorbell is a no-op, so what is
timed is exactly the worker's side of a delivery (claim, heartbeat thread, the stage, the completing
transaction with its audit rows, the input cleanup) against the stage's own work. Prints the mean of
each part per stage and the functions that cost most.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import GRID, production_stack  # noqa: E402
from tests.support.loopback import Server, make_server  # noqa: E402


def deliver(rt: object, job_id: str, stage: str, spent: dict[str, float]) -> None:
    """One delivery as tasks/runner.py makes it, each part timed."""
    from hosting.jobs import lifecycle
    from hosting.jobs.delivery import run_claimed
    from hosting.pipeline import registry

    started = time.perf_counter()
    with rt.db.transaction() as session:  # type: ignore[attr-defined]
        claim = lifecycle.claim(session, job_id, stage, f"bench:{uuid.uuid4().hex[:8]}",
                                lease_s=rt.settings.lease_s, max_deliveries=5)  # type: ignore[attr-defined]
    spent["claim"] += time.perf_counter() - started
    run = registry.STAGES[stage].run

    def timed_run(ctx: object) -> object:
        begun = time.perf_counter()
        try:
            return run(ctx)  # type: ignore[arg-type]
        finally:
            spent[f"{stage} work"] += time.perf_counter() - begun

    registry.STAGES[stage] = type(registry.STAGES[stage])(**{**registry.STAGES[stage].__dict__, "run": timed_run})
    try:
        begun = time.perf_counter()
        run_claimed(rt, claim, lambda job, following: None)  # type: ignore[arg-type]
        spent["run_claimed (all but claim)"] += time.perf_counter() - begun
    finally:
        registry.STAGES[stage] = type(registry.STAGES[stage])(**{**registry.STAGES[stage].__dict__, "run": run})


def _count_statements(engine: object) -> list[int]:
    """[statements, transactions] sent on ``engine`` from now on (the base database's own are not counted)."""
    from sqlalchemy import event

    counts = [0, 0]
    event.listen(engine, "before_cursor_execute", lambda *_args, **_kw: counts.__setitem__(0, counts[0] + 1))
    event.listen(engine, "begin", lambda *_args: counts.__setitem__(1, counts[1] + 1))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    servers_root = Path(tempfile.gettempdir()) / "hphost-bench-servers"
    servers_root.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hphost-bench-stage-"))
    servers: dict[str, Server] = {}
    try:
        for name in ("postgres", "moto", "redis"):
            servers[name] = make_server(name, servers_root)
        stack = production_stack("profile", work, servers, "redis")
        stack.create_hosting()
        client = stack.client
        jobs = [client.enqueue("create_base", stack.new_planning(net=False), time_grid=GRID, dispatch=False).id
                for _ in range(args.jobs)]
        spent: dict[str, float] = defaultdict(float)
        statements = _count_statements(client.rt.db.engine)
        profile = cProfile.Profile()
        profile.enable()
        for job_id in jobs:
            for stage in ("instantiate", "publish"):
                deliver(client.rt, job_id, stage, spent)
        profile.disable()
        assert all(client.get(job_id).state == "succeeded" for job_id in jobs)
        stack.close()
    finally:
        for server in servers.values():
            server.stop()
    for part, seconds in spent.items():
        print(f"{part:30} {1000 * seconds / args.jobs:7.1f} ms a job")
    print(f"control-DB statements          {statements[0] / args.jobs / 2:7.1f} a stage "
          f"(transactions: {statements[1] / args.jobs / 2:.1f} a stage, each with pool_pre_ping's SELECT 1)")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
