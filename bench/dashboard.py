"""The dashboard's pages on 100,000 jobs and 400,000 stage rows in PostgreSQL: p50/p95 of a whole render.

    .venv/bin/python bench/dashboard.py --runs 50

Starts its own PostgreSQL (port 25433, or HPHOST_TEST_POSTGRES_PORT), seeds it (tests/support/many_jobs.py),
logs an operator in and times each page through the ASGI application (routing, session, queries, Jinja2),
as `hphost serve` answers it less the socket. Prints one row per page; the target is p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HPHOST_TEST_POSTGRES_PORT", "25433")

import psycopg  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from config.settings import Settings  # noqa: E402
from hosting.dashboard.operators import create_operator  # noqa: E402
from hosting.db.migrate import upgrade  # noqa: E402
from hosting.runtime import Runtime  # noqa: E402
from tests.support.loopback import make_server  # noqa: E402
from tests.support.many_jobs import seed  # noqa: E402
from web.app import create_app  # noqa: E402

PAGES = {
    "overview (1 h)": "/dashboard/",
    "overview (7 days)": "/dashboard/?window=7d",
    "jobs": "/dashboard/jobs",
    "jobs, failed": "/dashboard/jobs?state=failed",
    "jobs, kind + error code": "/dashboard/jobs?kind=load_base&error_code=HHYP_CORRUPT",
    "jobs, search a planning": "/dashboard/jobs?q=EDT+7",
    "failures": "/dashboard/failures",
    "workers": "/dashboard/workers",
    "recovery (24 h)": "/dashboard/recovery",
    "overview of one hosting": "/dashboard/?hosting=123456789012",
}


def _database(admin_url: str) -> str:
    name = f"hphost_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _logged_in(url: str, home: Path) -> TestClient:
    settings = Settings(home=home, database_url=url, secret_key=Fernet.generate_key().decode())
    rt = Runtime(settings)
    with rt.db.transaction() as session:
        password = create_operator(session, "bench", "viewer", actor="bench")
    client = TestClient(create_app(rt), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/dashboard/login").text)
    assert token is not None
    client.post("/dashboard/login", data={"name": "bench", "password": password, "csrf": token.group(1)})
    return client


def _time(client: TestClient, path: str, runs: int) -> list[float]:
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(path)
        spent.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return sorted(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    root = Path(tempfile.gettempdir()) / f"hphost-bench-dashboard-{os.getuid()}"  # (readable by postgres)
    root.mkdir(parents=True, exist_ok=True)
    server = make_server("postgres", root)
    try:
        url = _database(server.url)
        engine = create_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        seed(engine, args.jobs)
        engine.dispose()
        print(f"seeded {args.jobs} jobs, {4 * args.jobs} stage rows in {time.perf_counter() - started:.1f} s")
        client = _logged_in(url, root / "home")
        print(f"{'page':28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, path in PAGES.items():
            client.get(path)  # a first render warms the template cache and the connection pool
            spent = _time(client, path, args.runs)
            p95 = spent[max(0, int(len(spent) * 0.95) - 1)]
            print(f"{name:28} {statistics.median(spent):8.1f} {p95:8.1f} {spent[-1]:8.1f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
