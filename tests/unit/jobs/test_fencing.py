"""The base generation fences swaps: a job created before a newer base went into service never swaps."""

from __future__ import annotations

import pytest

from hosting.audit import trail
from hosting.db.models import BaseRecord, Job, Planning, Stage, utcnow
from hosting.errors import TransientError
from hosting.jobs import control, lifecycle
from hosting.jobs.control import StaleJob, retry, stages
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.heartbeat import heartbeat
from hosting.jobs.lifecycle import Claim
from hosting.jobs.states import Completed, Completion

GRID = {"time_grid": {"first_monday": "2026-08-31"}}


def _enqueue(db, planning_id) -> str:
    with db.transaction() as session:
        job, _ = enqueue(session, JobRequest("create_base", planning_id, GRID))
        return job.id


def _claim(db, job_id, stage) -> Claim:
    with db.transaction() as session:
        claim = lifecycle.claim(session, job_id, stage, "w1", lease_s=30.0, max_deliveries=3)
    assert isinstance(claim, Claim)
    return claim


def _complete(db, job_id, stage, apply=None):
    claim = _claim(db, job_id, stage)
    with db.transaction() as session:
        return lifecycle.complete(session, claim, {}, apply=apply)


def _fail_at_publish(db, job_id):
    """The job fails transiently at its last stage, and its failed stage is cleaned."""
    _complete(db, job_id, "instantiate")
    claim = _claim(db, job_id, "publish")
    with db.transaction() as session:
        assert lifecycle.fail(session, claim, TransientError())
        session.get(Job, job_id).cleaned_at = utcnow()


def _succeed(db, job_id):
    _complete(db, job_id, "instantiate")
    assert _complete(db, job_id, "publish") == Completed(Completion.FINISHED)


def test_every_swap_advances_the_generation_and_a_job_records_it_as_its_fence(db, planning_id):
    first = _enqueue(db, planning_id)
    _succeed(db, first)
    second = _enqueue(db, planning_id)
    _succeed(db, second)
    with db.transaction() as session:
        assert session.get(Planning, planning_id).base_generation == 2
        assert (session.get(Job, first).fence, session.get(Job, second).fence) == (0, 1)


def test_retrying_a_job_older_than_the_base_in_service_is_refused_up_front(db, planning_id):
    old = _enqueue(db, planning_id)
    _fail_at_publish(db, old)
    newer = _enqueue(db, planning_id)
    _succeed(db, newer)
    with db.transaction() as session, pytest.raises(StaleJob) as refused:
        retry(session, old, actor="op", output_present=lambda job, stage: True)
    assert refused.value.code == "STALE_JOB"
    assert "newer base went into service" in refused.value.message
    assert refused.value.where == {"job_id": old, "planning_id": planning_id, "job_fence": 0, "base_generation": 1}
    with db.transaction() as session:
        assert session.get(Job, old).state == "failed"
        assert session.get(Planning, planning_id).current_base_id == newer


def test_a_job_that_reaches_its_swap_after_a_newer_base_went_into_service_fails_stale(db, planning_id,
                                                                                      monkeypatch):
    old = _enqueue(db, planning_id)
    _fail_at_publish(db, old)
    newer = _enqueue(db, planning_id)
    _succeed(db, newer)
    # The race: the retry read the generation just before the newer job's swap committed.
    monkeypatch.setattr(control, "stale_job", lambda *args, **kwargs: None)
    with db.transaction() as session:
        assert retry(session, old, actor="op", output_present=lambda job, stage: True) == "publish"
    applied = []
    assert _complete(db, old, "publish", apply=lambda session: applied.append(1)) == Completed(Completion.STALE)
    assert applied == []  # nothing of the stale job reaches the control DB
    with db.transaction() as session:
        job = session.get(Job, old)
        assert (job.state, job.error_code, job.cleaned_at) == ("failed", "STALE_JOB", None)
        assert {s.name: s.state for s in stages(session, old)} == {"instantiate": "succeeded", "publish": "failed"}
        planning = session.get(Planning, planning_id)
        assert (planning.current_base_id, planning.base_generation) == (newer, 1)
        assert session.get(BaseRecord, newer).state == "in_service"
        assert session.get(BaseRecord, old).state == "failed"
        assert [e.action for e in trail(session, old)][-2:] == ["stage.failed", "job.failed"]


def test_a_finished_stage_shows_all_of_its_progress(db, planning_id):
    job_id = _enqueue(db, planning_id)
    claim = _claim(db, job_id, "instantiate")
    with db.transaction() as session:
        heartbeat(session, claim, lease_s=30.0, done=2722, total=3206)
    with db.transaction() as session:
        lifecycle.complete(session, claim, {})
    with db.transaction() as session:
        stage = session.get(Stage, claim.stage_id)
        assert (stage.state, stage.progress_done, stage.progress_total) == ("succeeded", 3206, 3206)
