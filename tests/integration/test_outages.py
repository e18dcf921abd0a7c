"""Outages of the control database on real servers: stages wait them out, and say what they wait for."""

from __future__ import annotations

import shutil
import time

import pytest

from tasks.dispatch import dispatch
from tests.support.hphost_stack import HOSTING, SAMPLES, server_stack

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]


@pytest.fixture
def stack(redis_server, postgres_server, moto_server, tmp_path):
    built = server_stack("redis", tmp_path, broker_url=redis_server.url, postgres_url=postgres_server.url,
                         s3_endpoint=moto_server.url)
    # Quick deferrals, so that twenty of them take seconds.
    built.env["HPHOST_HEARTBEAT_S"] = "0.2"
    built.create_hosting(HOSTING)
    yield built
    if not postgres_server.is_up():
        postgres_server.start()
    built.close()
    shutil.rmtree(tmp_path, ignore_errors=True)


def _deferrals(stack) -> list[str]:
    return [line for line in stack.worker_logs().splitlines() if "claim_deferred" in line]


def test_a_claim_deferred_twenty_times_while_postgresql_is_down_runs_once_it_is_back(stack, postgres_server):
    stack.start_workers(1, concurrency=1, sweeper=False)  # nothing but the deferrals may rescue the stage
    planning = stack.new_planning(net=False)
    job = stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP", dispatch=False)
    postgres_server.stop()
    try:
        dispatch(job.id, "unpack", settings=stack.settings())
        deadline = time.monotonic() + 120
        while len(_deferrals(stack)) < 20:
            assert time.monotonic() < deadline, f"{len(_deferrals(stack))} deferrals:\n{stack.worker_logs()[-3000:]}"
            time.sleep(0.2)
    finally:
        postgres_server.start()
    view = stack.client.wait(job.id, timeout_s=90)
    assert view.state == "succeeded", view.error
    # Each deferral names the database it waits for and why, never its password.
    line = _deferrals(stack)[-1]
    assert f"127.0.0.1:{postgres_server.port}" in line and "OperationalError" in line
