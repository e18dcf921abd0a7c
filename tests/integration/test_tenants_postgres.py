"""Tenants on a real PostgreSQL control DB: races on a planning name and on the login lockout."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy import text

from hosting.db.migrate import upgrade
from hosting.db.session import ControlDB
from hosting.logins import MAX_FAILURES, LoginOutcome, console_login
from hosting.plannings import PlanningNameTaken, PlanningSettings, create_hosting, create_planning

pytestmark = pytest.mark.timeout(120)
HOSTING = "123456789012"


@pytest.fixture
def db(postgres_server):
    admin = postgres_server.url.replace("postgresql+psycopg://", "postgresql://")
    database = f"hphost_tenants_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    control = ControlDB(admin.rsplit("/", 1)[0] + f"/{database}")
    upgrade(control.engine)
    with control.transaction() as session:
        create_hosting(session, HOSTING, actor="test")
    yield control
    control.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')


def _settings(label: str) -> PlanningSettings:
    return PlanningSettings(name="Lycée A", domain=f"{label}.example.edu", controller_domain="ctl.example.edu")


def _blocked_on_a_lock(db, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                 " AND datname = current_database()")).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("the second request never waited for the first")


def test_two_requests_racing_for_a_name_one_is_refused_with_its_code(db):
    first_flushed, may_commit = threading.Event(), threading.Event()

    def first() -> None:
        with db.transaction() as session:
            create_planning(session, HOSTING, _settings("a1"), actor="test")
            first_flushed.set()
            assert may_commit.wait(60)

    with ThreadPoolExecutor(2) as pool:
        winner = pool.submit(first)
        assert first_flushed.wait(60)

        def second() -> None:  # its check sees no "Lycée A" yet; its insert waits on the unique index
            with db.transaction() as session:
                create_planning(session, HOSTING, _settings("a2"), actor="test")

        loser = pool.submit(second)
        _blocked_on_a_lock(db)
        may_commit.set()
        winner.result(timeout=60)
        with pytest.raises(PlanningNameTaken):
            loser.result(timeout=60)


def test_parallel_wrong_logins_get_five_tries_not_more(db):
    def attempt(_: int) -> LoginOutcome:
        with db.transaction() as session:
            return console_login(session, HOSTING, "wrong", None, actor="test")

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    assert outcomes.count(LoginOutcome.REFUSED) == MAX_FAILURES
    assert outcomes.count(LoginOutcome.LOCKED) == 16 - MAX_FAILURES
