"""The job state machine on a real SQLite control DB: claims, completion, swap, retries, failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hosting.audit import trail
from hosting.db.models import BaseRecord, Hosting, Job, Planning, Stage, utcnow
from hosting.errors import InvalidInput, TransientError
from hosting.jobs import lifecycle
from hosting.jobs.control import CleanupPending, retry, stages
from hosting.jobs.enqueue import IdempotencyKeyReused, JobRequest, PlanningBusy, enqueue
from hosting.jobs.heartbeat import heartbeat
from hosting.jobs.lifecycle import Claim, ClaimRefused
from hosting.jobs.states import ClaimRefusal, Completed, Completion
from hosting.plannings import create_hosting

GRID = {"time_grid": {"first_monday": "2026-08-31"}}


def _enqueue(db, planning_id, kind="create_base", key=None, params=None):
    with db.transaction() as session:
        job, created = enqueue(session, JobRequest(kind, planning_id, params or GRID, key))
        return job.id, created


def _claim(db, job_id, stage, owner="w1", lease_s=30.0):
    with db.transaction() as session:
        return lifecycle.claim(session, job_id, stage, owner, lease_s=lease_s, max_deliveries=3)


def _run_to_end(db, job_id):
    with db.transaction() as session:
        names = [s.name for s in stages(session, job_id)]
    for name in names:
        claim = _claim(db, job_id, name)
        assert isinstance(claim, Claim)
        with db.transaction() as session:
            lifecycle.complete(session, claim, {"ok": True})


def test_enqueue_creates_job_base_and_queued_first_stage(db, planning_id):
    job_id, created = _enqueue(db, planning_id)
    assert created
    with db.transaction() as session:
        assert [(s.name, s.state) for s in stages(session, job_id)] == [
            ("instantiate", "queued"), ("publish", "pending")]
        assert session.get(BaseRecord, job_id).state == "loading"
        assert [e.action for e in trail(session, job_id)] == ["job.queued"]


def test_second_active_job_on_a_planning_is_refused_naming_the_active_one(db, planning_id):
    job_id, _ = _enqueue(db, planning_id)
    with pytest.raises(PlanningBusy) as refused:
        _enqueue(db, planning_id)
    assert refused.value.code == "PLANNING_BUSY"
    assert refused.value.where["active_job"] == job_id


def test_idempotency_key_returns_the_existing_job(db, planning_id):
    first, created = _enqueue(db, planning_id, key="click-1")
    again, created_again = _enqueue(db, planning_id, key="click-1")
    assert (again, created, created_again) == (first, True, False)
    with pytest.raises(IdempotencyKeyReused):
        _enqueue(db, planning_id, kind="assign_profils", key="click-1", params={"profils_key": "k"})


def test_only_one_of_two_deliveries_claims_a_stage(db, planning_id):
    job_id, _ = _enqueue(db, planning_id)
    first = _claim(db, job_id, "instantiate", owner="w1")
    second = _claim(db, job_id, "instantiate", owner="w2")
    assert isinstance(first, Claim)
    assert second == ClaimRefused(ClaimRefusal.RUNNING_ELSEWHERE)


def test_an_expired_lease_can_be_taken_over_and_counts_the_lost_delivery(db, planning_id):
    job_id, _ = _enqueue(db, planning_id)
    first = _claim(db, job_id, "instantiate", owner="w1", lease_s=-1)
    second = _claim(db, job_id, "instantiate", owner="w2")
    assert isinstance(first, Claim) and isinstance(second, Claim)
    assert second.lost_deliveries == 1
    with db.transaction() as session:  # the dead worker's late completion is refused
        assert lifecycle.complete(session, first, {}) == Completed(Completion.LOST)


def test_completed_stage_is_not_run_again(db, planning_id):
    job_id, _ = _enqueue(db, planning_id)
    claim = _claim(db, job_id, "instantiate")
    with db.transaction() as session:
        assert lifecycle.complete(session, claim, {}) == Completed(Completion.NEXT, "publish")
    assert _claim(db, job_id, "instantiate", owner="late") == ClaimRefused(ClaimRefusal.ALREADY_DONE)


def test_finishing_swaps_bases_atomically_and_retires_the_old_one(db, planning_id):
    old_job, _ = _enqueue(db, planning_id)
    _run_to_end(db, old_job)
    new_job, _ = _enqueue(db, planning_id)
    claim = _claim(db, new_job, "instantiate")
    with db.transaction() as session:
        lifecycle.complete(session, claim, {})
        # Half-way: the old base still serves.
        assert session.get(Planning, planning_id).current_base_id == old_job
    _run_to_end_from(db, new_job, "publish")
    with db.transaction() as session:
        assert session.get(Planning, planning_id).current_base_id == new_job
        assert session.get(BaseRecord, old_job).state == "retired"
        assert session.get(BaseRecord, new_job).state == "in_service"
        actions = [e.action for e in trail(session, new_job)]
    assert actions[-3:] == ["base.retired", "base.in_service", "job.succeeded"]


def _run_to_end_from(db, job_id, stage):
    claim = _claim(db, job_id, stage)
    with db.transaction() as session:
        assert lifecycle.complete(session, claim, {}) == Completed(Completion.FINISHED)


def test_retries_stop_at_the_cap(db, planning_id):
    job_id, _ = _enqueue(db, planning_id)
    decisions = []
    for _ in range(3):
        claim = _claim(db, job_id, "instantiate")
        with db.transaction() as session:
            decisions.append(lifecycle.schedule_retry(session, claim, TransientError(), countdown_s=0,
                                                      max_retries=2))
        if decisions[-1] == "scheduled":
            with db.transaction() as session:
                session.execute(update(Stage).where(Stage.job_id == job_id).values(due_at=utcnow()))
    assert decisions == ["scheduled", "scheduled", "exhausted"]
    with db.transaction() as session:
        retries = [e for e in trail(session, job_id) if e.action == "stage.retry"]
    assert [e.data["attempt"] for e in retries] == [1, 2]


def _failed_at_publish(db, planning_id, error):
    """A create_base job whose instantiate succeeded and whose publish then failed with ``error``."""
    job_id, _ = _enqueue(db, planning_id)
    claim = _claim(db, job_id, "instantiate")
    with db.transaction() as session:
        lifecycle.complete(session, claim, {})
    claim = _claim(db, job_id, "publish")
    with db.transaction() as session:
        assert lifecycle.fail(session, claim, error)
    return job_id


def test_failure_marks_job_base_and_stage_and_retry_resumes_from_failed_stage(db, planning_id):
    job_id = _failed_at_publish(db, planning_id, TransientError(where={"key": "x"}))
    with db.transaction() as session:
        job = session.get(Job, job_id)
        assert (job.state, job.error_code, job.error_where) == ("failed", "TRANSIENT", {"key": "x"})
        assert session.get(BaseRecord, job_id).state == "failed"
        with pytest.raises(CleanupPending):  # the failed stage's leftovers are not cleaned yet
            retry(session, job_id, actor="op", output_present=lambda job, stage: True)
        job.cleaned_at = utcnow()
        restart = retry(session, job_id, actor="op", output_present=lambda job, stage: True)
    assert restart == "publish"
    with db.transaction() as session:
        states = {s.name: s.state for s in session.scalars(select(Stage).where(Stage.job_id == job_id))}
    assert states == {"instantiate": "succeeded", "publish": "queued"}


def test_retry_restarts_at_the_first_stage_whose_output_is_gone(db, planning_id):
    job_id = _failed_at_publish(db, planning_id, TransientError())
    with db.transaction() as session:
        session.get(Job, job_id).cleaned_at = utcnow()
        assert retry(session, job_id, actor="op", output_present=lambda job, stage: False) == "instantiate"


def test_heartbeat_renews_the_lease_and_reports_cancel(db, planning_id):
    job_id, _ = _enqueue(db, planning_id)
    claim = _claim(db, job_id, "instantiate", lease_s=1)
    with db.transaction() as session:
        session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
    with db.transaction() as session:
        beat = heartbeat(session, claim, lease_s=60, done=3, total=10)
    assert (beat.lost, beat.cancel) == (False, True)
    with db.transaction() as session:
        stage = session.get(Stage, claim.stage_id)
        assert stage.lease_expires_at > utcnow() + timedelta(seconds=50)
        assert (stage.progress_done, stage.progress_total) == (3, 10)


def test_a_cancel_requested_during_a_stage_stops_the_job_at_its_end(db, planning_id):
    job_id, _ = _enqueue(db, planning_id)
    claim = _claim(db, job_id, "instantiate")
    with db.transaction() as session:
        session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
    applied = []
    with db.transaction() as session:
        outcome = lifecycle.complete(session, claim, {}, apply=lambda s: applied.append(1))
    assert (outcome, applied) == (Completed(Completion.CANCELLED), [])
    with db.transaction() as session:
        assert session.get(Job, job_id).state == "cancelled"
        assert {s.name: s.state for s in stages(session, job_id)} == {"instantiate": "cancelled",
                                                                       "publish": "cancelled"}


@pytest.mark.parametrize("number", ["12345678901", "1234567890123", "١٢٣٤٥٦٧٨٩٠١٢", "123456789012\n"])
def test_a_hosting_number_is_twelve_ascii_digits(db, number):
    with db.transaction() as session, pytest.raises(InvalidInput) as refused:
        create_hosting(session, number, actor="test")
    assert refused.value.where == {"field": "hosting_number"}
    with db.transaction() as session:
        assert session.scalars(select(Hosting)).all() == []
