"""The university preset end to end on the production stack: PostgreSQL + Redis + S3 (moto), each stage timed.

    .venv/bin/python bench/university.py [--students 25000] [--concurrency 2]

Generates the university sample and its .profils, starts the servers on the test ports
(``HPHOST_TEST_<NAME>_PORT``) and one worker (production settings), enqueues *Charger une base*
with the .profils, and prints: the upload (enqueue), each stage's run time and queue wait, and enqueue
to succeeded. Then, in the same run, assign's password cost for as many generated passwords as the
job made: scrypt at n=2**10 (before issue 23) against the one-iteration PBKDF2 (a salted SHA-256) stored now.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import production_stack  # noqa: E402
from bench.pipeline_probes import job_timings  # noqa: E402
from tests.support.hphost_stack import HOSTING  # noqa: E402
from tests.support.loopback import Server, make_server  # noqa: E402


def password_cost(count: int) -> tuple[float, float]:
    """Seconds to hash ``count`` generated passwords: (scrypt n=2**10 as before, one-iteration PBKDF2 now)."""
    from hosting.passwords import generate_password, hash_generated

    passwords = [generate_password() for _ in range(count)]
    started = time.perf_counter()
    for password in passwords:
        hashlib.scrypt(password.encode(), salt=secrets.token_bytes(16), n=2**10, r=8, p=1, dklen=32)
    before = time.perf_counter() - started
    started = time.perf_counter()
    for password in passwords:
        hash_generated(password)
    return before, time.perf_counter() - started


def run(servers: dict[str, Server], work: Path, sample: Path, profils: Path, concurrency: int) -> None:
    stack = production_stack("university", work / "stack", servers, "redis")
    planning = stack.new_planning()
    stack.start_workers(1, concurrency=concurrency)
    try:
        started = time.time()
        job = stack.client.enqueue("load_base", planning, hhyp=sample, profils=profils)
        enqueued = time.time()
        view = stack.client.wait(job.id, timeout_s=3600, poll_s=0.2)
        assert view.state == "succeeded", view.error
        timing = job_timings(stack, [job.id])[0]
        generated = next(s.result or {} for s in view.stages if s.name == "assign").get("passwords_generated", 0)
    finally:
        stack.close()
    print(f"upload + enqueue   {enqueued - started:7.2f} s")
    for name, seconds in timing["stages"].items():
        print(f"stage {name:12} {seconds:7.2f} s")
    print(f"queue waits        {timing['queue_wait']:7.2f} s (all stages)")
    print(f"enqueue→succeeded  {timing['finished'] - started:7.2f} s  (goal <= 15 s)")
    before, after = password_cost(generated)
    print(f"assign passwords   {generated} generated: scrypt n=2**10 {before:.2f} s, pbkdf2 x1 {after:.3f} s "
          f"({before / max(after, 1e-9):.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    from hphost_samples.generator import generate_sample

    work = Path(tempfile.mkdtemp(prefix="hphost-bench-university-"))
    sample, profils = work / "university.HHYP", work / "university.profils"
    generate_sample(sample, hosting_number=HOSTING, preset="university", students=args.students, seed=1,
                    profils_path=profils)
    servers_root = Path(tempfile.gettempdir()) / "hphost-bench-servers"  # not 0700: postgres reads it
    servers_root.mkdir(exist_ok=True)
    servers: dict[str, Server] = {}
    try:
        for name in ("postgres", "redis", "moto"):
            servers[name] = make_server(name, servers_root)
        run(servers, work, sample, profils, args.concurrency)
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
