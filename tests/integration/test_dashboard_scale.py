"""The dashboard's queries on 100,000 jobs and 400,000 stage rows in PostgreSQL: indexed, and fast.

The plan is the proof that does not depend on the machine's load: the jobs page reads an index in its order
and stops after a page (no sort of the table); the timings bound it loosely (the numbers are bench/dashboard.py's).
"""

from __future__ import annotations

import re
import time
import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, func, select

from hosting.dashboard import overview as views
from hosting.dashboard.jobs import JobFilter, list_jobs, page_query
from hosting.db.migrate import upgrade
from hosting.db.models import Job
from hosting.db.session import ControlDB
from tests.support.many_jobs import seed

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def db(postgres_server):
    admin = postgres_server.url.replace("postgresql+psycopg://", "postgresql://")
    name = f"hphost_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    upgrade(engine)
    seed(engine)
    engine.dispose()
    control = ControlDB(url)
    yield control
    control.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def plan(db: ControlDB, query) -> str:
    with db.transaction() as session:
        compiled = query.compile(dialect=session.get_bind().dialect)
        rows = session.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        return "\n".join(row[0] for row in rows)


def slowest_ms(db: ControlDB, work, runs: int = 5) -> float:
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        with db.transaction() as session:
            work(session)
        spent.append((time.perf_counter() - started) * 1000)
    return max(spent)


def indexed_in_order(shown: str) -> bool:
    """The jobs are read from an index in the page's order (a full Sort would read them all first)."""
    return (re.search(r"Index Scan Backward using ix_jobs_\w+ on jobs", shown) is not None
            and "Seq Scan on jobs" not in shown and not re.search(r"->  Sort ", shown))


def test_the_jobs_page_reads_an_index_in_order_and_never_sorts_the_table(db):
    filters = (JobFilter(), JobFilter(state="failed"), JobFilter(kind="load_base"),
               JobFilter(error_code="HHYP_CORRUPT"))
    for f in filters:
        shown = plan(db, page_query(f))
        assert indexed_in_order(shown), shown
    with db.transaction() as session:
        first = list_jobs(session, JobFilter())
    assert len(first.rows) == 50 and first.next_cursor
    shown = plan(db, page_query(JobFilter(), first.next_cursor))
    assert indexed_in_order(shown) and "Index Cond" in shown, shown


def test_pages_answer_fast_on_100k_jobs(db):
    with db.transaction() as session:
        first = list_jobs(session, JobFilter())
        failed = list_jobs(session, JobFilter(state="failed"))
        found = list_jobs(session, JobFilter(q=first.rows[3].id[:8]))
        groups = views.failure_groups(session)
        failed_count = session.scalar(select(func.count()).select_from(Job).where(Job.state == "failed"))
    assert [r.state for r in failed.rows] == ["failed"] * 50
    assert first.rows[3].id in [r.id for r in found.rows]
    assert sum(g.count for g in groups) == failed_count > 7000 and len(groups) == 9
    budgets_ms = {  # loose: 2 shared cores; the bench measures p95 (< 300 ms is the target)
        "jobs": (lambda s: list_jobs(s, JobFilter()), 1000),
        "jobs page 2": (lambda s: list_jobs(s, JobFilter(), first.next_cursor), 1000),
        "failed jobs": (lambda s: list_jobs(s, JobFilter(state="failed")), 1000),
        "search": (lambda s: list_jobs(s, JobFilter(q=first.rows[3].id[:8])), 1000),
        "overview": (lambda s: views.overview(s, 3600), 1500),
        "failures": (views.failure_groups, 3000),
    }
    slow = {name: ms for name, (work, budget) in budgets_ms.items() if (ms := slowest_ms(db, work)) > budget}
    assert slow == {}
