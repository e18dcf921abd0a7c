"""The sweeper's decisions on SQLite, without a broker: the stage rows are the truth it acts on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from config.settings import Settings
from hosting.db.models import Job, Stage, utcnow
from hosting.errors import PermanentError
from hosting.jobs import lifecycle
from hosting.jobs.control import request_cancel, stages
from hosting.jobs.delivery import Dispatch
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.states import CancelOutcome, JobState, StageState
from hosting.jobs.sweeper import FAILED_CLEANUP_GRACE_S, sweep
from hosting.runtime import Runtime

GRID: dict[str, dict[str, int]] = {"time_grid": {}}


def _runtime(db, tmp_path, **settings) -> Runtime:
    return Runtime(Settings(home=tmp_path, database_url=db.url, **settings))


def _job(rt: Runtime, planning_id: str, kind: str = "create_base", params: dict | None = None) -> str:
    with rt.db.transaction() as session:
        job, _ = enqueue(session, JobRequest(kind, planning_id, params or dict(GRID)))
        return job.id


def _rang() -> tuple[list[tuple[str, str]], Dispatch]:
    """A doorbell that only remembers who it rang."""
    rung: list[tuple[str, str]] = []
    return rung, lambda job_id, stage: rung.append((job_id, stage))


def _stage(rt: Runtime, job_id: str, name: str) -> Stage:
    with rt.db.transaction() as session:
        return next(s for s in stages(session, job_id) if s.name == name)


def test_a_stage_whose_lease_expired_is_queued_again_and_rung_once(db, planning_id, tmp_path):
    rt = _runtime(db, tmp_path)
    job_id = _job(rt, planning_id)
    with rt.db.transaction() as session:
        lifecycle.claim(session, job_id, "instantiate", "dead-worker", lease_s=0.01, max_deliveries=5)
    with rt.db.transaction() as session:  # the worker died: its lease is in the past
        session.execute(update(Stage).where(Stage.job_id == job_id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    rung, dispatch = _rang()
    report = sweep(rt, dispatch)
    assert report.requeued == [(job_id, "instantiate")] and rung == [(job_id, "instantiate")]
    stage = _stage(rt, job_id, "instantiate")
    assert (stage.state, stage.lease_owner) == (StageState.QUEUED, None)
    assert not sweep(rt, dispatch).requeued  # decided once


def test_a_live_lease_is_left_alone(db, planning_id, tmp_path):
    rt = _runtime(db, tmp_path)
    job_id = _job(rt, planning_id)
    with rt.db.transaction() as session:
        lifecycle.claim(session, job_id, "instantiate", "busy-worker", lease_s=600, max_deliveries=5)
    rung, dispatch = _rang()
    assert not sweep(rt, dispatch) and rung == []
    assert _stage(rt, job_id, "instantiate").state == StageState.RUNNING


def test_a_queued_stage_nobody_took_is_rung_again_after_the_redispatch_delay(db, planning_id, tmp_path):
    rt = _runtime(db, tmp_path, redispatch_after_s=60)
    job_id = _job(rt, planning_id)
    rung, dispatch = _rang()
    assert not sweep(rt, dispatch).redispatched  # just queued: its message is on its way
    with rt.db.transaction() as session:
        session.execute(update(Stage).where(Stage.job_id == job_id, Stage.name == "instantiate")
                        .values(due_at=utcnow() - timedelta(seconds=61)))
    assert sweep(rt, dispatch).redispatched == [(job_id, "instantiate")]
    assert rung == [(job_id, "instantiate")] and _stage(rt, job_id, "instantiate").dispatches == 1


def test_a_cancel_asked_of_a_dead_worker_is_finished_by_the_sweeper(db, planning_id, tmp_path):
    rt = _runtime(db, tmp_path)
    job_id = _job(rt, planning_id)
    with rt.db.transaction() as session:
        lifecycle.claim(session, job_id, "instantiate", "dead-worker", lease_s=600, max_deliveries=5)
    with rt.db.transaction() as session:
        assert request_cancel(session, job_id, actor="operator") == CancelOutcome.CANCELLING
        session.execute(update(Stage).where(Stage.job_id == job_id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    rung, dispatch = _rang()
    report = sweep(rt, dispatch)
    assert rung == [] and report.discarded == [job_id]
    with rt.db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.state == JobState.CANCELLED and job.discarded_at is not None


def test_a_failed_job_is_cleaned_after_its_grace_and_discarded_after_its_retention(db, planning_id, tmp_path):
    rt = _runtime(db, tmp_path)
    job_id = _job(rt, planning_id)
    with rt.db.transaction() as session:
        claim = lifecycle.claim(session, job_id, "instantiate", "w1", lease_s=600, max_deliveries=5)
    assert isinstance(claim, lifecycle.Claim)
    with rt.db.transaction() as session:
        assert lifecycle.fail(session, claim, PermanentError("broken", where={"stage": "instantiate"}))
    rung, dispatch = _rang()
    assert not sweep(rt, dispatch).cleaned  # its own worker cleans within the grace
    with rt.db.transaction() as session:
        session.execute(update(Job).where(Job.id == job_id)
                        .values(finished_at=utcnow() - timedelta(seconds=FAILED_CLEANUP_GRACE_S + 1)))
    assert sweep(rt, dispatch).cleaned == [job_id]
    assert not sweep(rt, dispatch).discarded  # kept for a retry
    assert sweep(rt, dispatch, failed_retention_s=0).discarded == [job_id]
    with rt.db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.cleaned_at is not None and job.discarded_at is not None
