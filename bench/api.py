"""The HTTP API's cost: enqueue and get latency under 50 concurrent clients, upload throughput, server memory.

    .venv/bin/python bench/api.py [--clients 50] [--requests 10] [--store s3|local] [--database sqlite|postgres]

In one run, against real ``hphost serve`` processes on the same control database and object store:
- latency p50/p99 of ``POST /v1/plannings/{id}/jobs`` (create_base, a planning each, so none is busy) and of
  ``GET /v1/jobs/{id}``, each as a ratio to a bare FastAPI endpoint (served by uvicorn the same way) that only
  reads one row of the control database, under the same concurrent clients;
- throughput of ``POST /v1/uploads`` of the university sample, as a ratio to a plain copy of the same file
  into the same store (``ObjectStore.put_stream``);
- peak RSS of a fresh ``hphost serve`` while a 4x university .HHYP (100,000 students) is uploaded.
Goals: enqueue p99 <= 5x the bare endpoint's; upload >= 0.8x the plain copy; RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hphost_samples.generator import SAMPLE_GRID, generate_sample  # noqa: E402
from tests.support.api_server import ApiServer, free_port  # noqa: E402

HOSTING = "123456789012"
GOALS = {"enqueue_p99_ratio": 5.0, "upload_ratio": 0.8, "rss_mb": 150.0}


def bare_app() -> Any:
    """The yardstick: a FastAPI endpoint that reads one row of the control database, in a session a request."""
    from fastapi import FastAPI
    from sqlalchemy import select

    from hosting.db.models import Planning
    from hosting.db.session import ControlDB

    db = ControlDB(os.environ["HPHOST_DATABASE_URL"])
    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, str | None]:
        with db.transaction() as session:
            return {"id": session.scalar(select(Planning.id).limit(1))}

    return app


def _installation(work: Path, store: str, database: str) -> tuple[dict[str, str], list[Any]]:
    """The environment of an installation under ``work`` (and the test servers it started)."""
    env = {"HPHOST_HOME": str(work / "home"), "HPHOST_LOG_LEVEL": "WARNING"}
    servers: list[Any] = []
    try:
        _start_servers(work, store, database, env, servers)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return env, servers


def _start_servers(work: Path, store: str, database: str, env: dict[str, str], servers: list[Any]) -> None:
    from cryptography.fernet import Fernet

    from tests.support.loopback import make_server

    if store == "s3":
        servers.append(make_server("moto", work))
        env |= {"HPHOST_STORE_URL": f"s3://bench-{uuid.uuid4().hex[:8]}", "HPHOST_S3_ENDPOINT_URL": servers[-1].url,
                "HPHOST_S3_ACCESS_KEY_ID": "bench", "HPHOST_S3_SECRET_ACCESS_KEY": "bench"}
    if database == "postgres":
        servers.append(make_server("postgres", work))
        env |= {"HPHOST_DATABASE_URL": servers[-1].url, "HPHOST_SECRET_KEY": Fernet.generate_key().decode()}


def _prepare(env: dict[str, str], plannings: int) -> tuple[str, list[str]]:
    """Set the installation up; a writer token of the hosting and ``plannings`` planning ids."""
    from config.settings import Settings
    from hosting.plannings import PlanningSettings, create_hosting, create_planning
    from hosting.runtime import Runtime, set_up
    from hosting.tokens import Role, TokenKind, issue

    os.environ.update(env)
    rt = Runtime(Settings())
    set_up(rt)
    with rt.db.transaction() as session:
        create_hosting(session, HOSTING, actor="bench")
        token = issue(session, rt.token_key, kind=TokenKind.SERVICE, hosting_number=HOSTING, role=Role.WRITER,
                      ttl=None, actor="bench")[1]
        ids = [create_planning(session, HOSTING, PlanningSettings(
            name=f"P{n}", domain=f"p{n}.edt.example.edu", controller_domain="ctl.example.edu"), actor="bench").id
            for n in range(plannings)]
    rt.db.dispose()
    return token, ids


async def _load(url: str, token: str, requests: list[tuple[str, str, Any]], clients: int) -> list[float]:
    """Send ``requests`` (method, path, json) from ``clients`` concurrent clients; each one's latency in ms."""
    queue: asyncio.Queue[tuple[str, str, Any]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                  timeout=120) as http:
        async def client() -> None:
            while not queue.empty():
                method, path, body = queue.get_nowait()
                started = time.perf_counter()
                answer = await http.request(method, path, json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                if answer.status_code >= 300:
                    raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def _percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 2), "p99_ms": round(cuts[98], 2), "n": len(latencies)}


def _latencies(server: ApiServer, bare_url: str, token: str, plannings: list[str], clients: int,
               requests: int) -> dict[str, Any]:
    bare = [("GET", "/bare", None)] * (clients * requests)
    asyncio.run(_load(bare_url, token, bare[: clients * 2], clients))  # warm both up
    asyncio.run(_load(server.url, token, [("GET", "/v1/me", None)] * clients * 2, clients))
    results: dict[str, Any] = {"bare": _percentiles(asyncio.run(_load(bare_url, token, bare, clients)))}
    enqueues = [("POST", f"/v1/plannings/{planning}/jobs", {"kind": "create_base", "grid": SAMPLE_GRID})
                for planning in plannings]
    results["enqueue"] = _percentiles(asyncio.run(_load(server.url, token, enqueues, clients)))
    with httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        jobs = [job["id"] for job in http.get("/v1/jobs", params={"limit": 200}).json()["jobs"]]
    gets = [("GET", f"/v1/jobs/{jobs[n % len(jobs)]}", None) for n in range(clients * requests)]
    results["get"] = _percentiles(asyncio.run(_load(server.url, token, gets, clients)))
    results["bare_after"] = _percentiles(asyncio.run(_load(bare_url, token, bare, clients)))
    for name in ("enqueue", "get"):
        for cut in ("p50", "p99"):
            yardstick = results["bare"][f"{cut}_ms"]  # (bare_after: how much the machine moved meanwhile)
            results[f"{name}_{cut}_ratio"] = round(results[name][f"{cut}_ms"] / yardstick, 2)
    return results


def _upload_s(http: httpx2.Client, sample: Path) -> float:
    """Seconds of one POST /v1/uploads (on a kept-alive connection, as a service's client keeps one)."""
    size = sample.stat().st_size

    def chunks() -> Any:
        with sample.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                yield chunk

    started = time.perf_counter()
    answer = http.post("/v1/uploads", params={"kind": "hhyp"}, content=chunks(), timeout=600,
                       headers={"Content-Length": str(size)})
    if answer.status_code != 201:
        raise RuntimeError(f"upload: {answer.status_code} {answer.text[:300]}")
    return time.perf_counter() - started


def _copy_s(sample: Path) -> float:
    from config.settings import Settings
    from hosting.store import open_store

    store = open_store(Settings())
    started = time.perf_counter()
    with sample.open("rb") as stream:
        store.put_stream(f"incoming/bench-{uuid.uuid4().hex}/base.HHYP", stream, sample.stat().st_size)
    return time.perf_counter() - started


def _throughput(server: ApiServer, token: str, sample: Path, repeats: int = 5) -> dict[str, Any]:
    http = httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    _copy_s(sample), _upload_s(http, sample)  # warm both up (the S3 client, the connection)
    copies, uploads = [], []
    for _ in range(repeats):  # interleaved, so a busy moment of the machine weighs on both
        copies.append(_copy_s(sample))
        uploads.append(_upload_s(http, sample))
    http.close()
    mb = sample.stat().st_size / 1e6
    copy, upload = statistics.median(copies), statistics.median(uploads)
    return {"archive_mb": round(mb, 1), "plain_copy_mb_s": round(mb / copy, 1), "upload_mb_s": round(mb / upload, 1),
            "upload_ratio": round(copy / upload, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10, help="Requests of each client, per measure.")
    parser.add_argument("--store", choices=("s3", "local"), default="s3")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    from config.logging import configure_logging

    configure_logging("WARNING")  # this process's audit lines (it makes the plannings) would bury the numbers
    work = Path(tempfile.mkdtemp(prefix="hphost-bench-api-"))
    work.chmod(0o755)  # PostgreSQL runs as its own user under it
    env, servers = _installation(work, args.store, args.database)
    try:
        print(json.dumps(_run(work, env, args), indent=2))
    finally:
        for server in servers:
            server.stop()


def _run(work: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    token, plannings = _prepare(env, args.clients * args.requests)
    university, quadruple = work / "university.HHYP", work / "university-4x.HHYP"
    generate_sample(university, hosting_number=HOSTING, preset="university")
    generate_sample(quadruple, hosting_number=HOSTING, preset="university", students=100_000)
    results: dict[str, Any] = {"store": args.store, "database": args.database, "clients": args.clients}
    with ApiServer(env, work / "fresh.log") as fresh, httpx2.Client(
            base_url=fresh.url, headers={"Authorization": f"Bearer {token}"}) as http:  # nothing before: its own peak
        _upload_s(http, quadruple)
        results["rss_mb_4x_upload"] = round(fresh.peak_rss_mb(), 1)
        results["quadruple_mb"] = round(quadruple.stat().st_size / 1e6, 1)
    from config.settings import Settings

    bare_env = {**env, "HPHOST_DATABASE_URL": Settings().database_url}
    with ApiServer(env, work / "serve.log") as server, _bare_server(bare_env, work) as bare_url:
        results["latency"] = _latencies(server, bare_url, token, plannings, args.clients, args.requests)
        results["upload"] = _throughput(server, token, university)
    results["goals"] = {"enqueue_p99_ratio": results["latency"]["enqueue_p99_ratio"] <= GOALS["enqueue_p99_ratio"],
                        "upload_ratio": results["upload"]["upload_ratio"] >= GOALS["upload_ratio"],
                        "rss_mb": results["rss_mb_4x_upload"] < GOALS["rss_mb"]}
    return results


class _bare_server:
    """The bare endpoint in uvicorn, a process of its own as ``hphost serve`` is."""

    def __init__(self, env: dict[str, str], work: Path):
        self.env, self.log, self.port = env, work / "bare.log", free_port()
        self.process: Any = None

    def __enter__(self) -> str:
        import subprocess

        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "bench.api:bare_app", "--factory", "--port", str(self.port),
                 "--no-access-log", "--log-level", "warning"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **self.env})
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"{url}/bare", timeout=2).status_code == 200:
                    return url
            except httpx2.HTTPError:
                time.sleep(0.2)
        raise TimeoutError(f"the bare endpoint did not start; see {self.log}")

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


if __name__ == "__main__":
    main()
