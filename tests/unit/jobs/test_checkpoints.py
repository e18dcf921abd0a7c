"""A cancel reaches a running stage within seconds: the heartbeat looks for it between renewals,
and a long put checks in as it streams."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from config.settings import Settings
from hosting.db.models import Job
from hosting.jobs import lifecycle
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.heartbeat import Heartbeat
from hosting.jobs.lifecycle import Claim
from hosting.pipeline import unpack
from hosting.pipeline.context import JobCancelled


def test_the_heartbeat_notices_a_cancel_long_before_its_next_renewal(db, planning_id, tmp_path):
    with db.transaction() as session:
        job, _ = enqueue(session, JobRequest("create_base", planning_id, {"time_grid": {}}))
    with db.transaction() as session:
        claim = lifecycle.claim(session, job.id, "instantiate", "w1", lease_s=600, max_deliveries=3)
    assert isinstance(claim, Claim)
    settings = Settings(home=tmp_path, heartbeat_s=60, lease_s=600)
    heartbeat = Heartbeat(SimpleNamespace(settings=settings, db=db), claim)  # type: ignore[arg-type]
    heartbeat.start()
    try:
        with db.transaction() as session:
            session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
        assert heartbeat.cancel.wait(timeout=15)  # a renewal is 60 s away
    finally:
        heartbeat.stop()


def test_a_large_entry_is_streamed_with_checkpoints_that_can_stop_it():
    calls = []
    source = unpack._Checkpointed(io.BytesIO(bytes(20 << 20)), lambda: calls.append(1))
    while source.read(1 << 20):
        pass
    assert len(calls) == 2  # every 8 MiB of the 20

    def cancelled() -> None:
        raise JobCancelled()

    stopped = io.BufferedReader(unpack._Checkpointed(io.BytesIO(bytes(20 << 20)), cancelled))
    with pytest.raises(JobCancelled):
        while stopped.read(1 << 20):
            pass
