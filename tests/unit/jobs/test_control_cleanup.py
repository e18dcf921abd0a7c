"""An operator's cancel and retry, and the cleanup of a failed or discarded job, on SQLite without a worker."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config.settings import Settings
from hosting.db.models import AuditEvent, Job
from hosting.errors import PermanentError
from hosting.jobs import lifecycle
from hosting.jobs.cleanup import clean_failed_job, discard_job
from hosting.jobs.control import CleanupPending, JobFinal, request_cancel, retry, stages
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.kinds import base_prefix
from hosting.jobs.lifecycle import Claim
from hosting.jobs.states import CancelOutcome, JobState, StageState
from hosting.runtime import Runtime

UPLOAD = "incoming/abc/base.HHYP"


@pytest.fixture
def rt(db, tmp_path) -> Runtime:
    return Runtime(Settings(home=tmp_path, database_url=db.url))


def _load(rt: Runtime, planning_id: str) -> str:
    rt.store.put_bytes(UPLOAD, b"archive")
    with rt.db.transaction() as session:
        job, _ = enqueue(session, JobRequest("load_base", planning_id, {"hhyp_key": UPLOAD}))
        return job.id


def _run(rt: Runtime, job_id: str, stage: str) -> Claim:
    with rt.db.transaction() as session:
        claim = lifecycle.claim(session, job_id, stage, "w1", lease_s=30, max_deliveries=3)
    assert isinstance(claim, Claim)
    return claim


def _fail_at_publish(rt: Runtime, job_id: str) -> str:
    """unpack and instantiate done, publish failed half-way: its objects written, no marker."""
    for stage in ("unpack", "instantiate"):
        claim = _run(rt, job_id, stage)
        with rt.db.transaction() as session:
            lifecycle.complete(session, claim, {})
    claim = _run(rt, job_id, "publish")
    with rt.db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.base_id is not None
        base_id = job.base_id
        lifecycle.fail(session, claim, PermanentError("boom"))
    rt.store.put_bytes(base_prefix(base_id) + "base/rows.jsonl", b"{}")
    rt.store.put_bytes(base_prefix(base_id) + "espaces/teachers.jsonl", b"{}")
    return base_id


def _actions(rt: Runtime, job_id: str) -> list[str]:
    with rt.db.transaction() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.job_id == job_id)
                                    .order_by(AuditEvent.id)))


def test_a_queued_job_is_cancelled_at_once_and_a_second_cancel_is_refused(rt, planning_id):
    job_id = _load(rt, planning_id)
    with rt.db.transaction() as session:
        assert request_cancel(session, job_id, actor="op") == CancelOutcome.CANCELLED
    with rt.db.transaction() as session:
        assert session.get(Job, job_id).state == JobState.CANCELLED
        assert {stage.state for stage in stages(session, job_id)} == {StageState.CANCELLED}
        with pytest.raises(JobFinal):
            request_cancel(session, job_id, actor="op")
    assert "job.cancelled" in _actions(rt, job_id)


def test_a_running_stage_is_asked_to_stop_and_its_job_keeps_running(rt, planning_id):
    job_id = _load(rt, planning_id)
    _run(rt, job_id, "unpack")
    with rt.db.transaction() as session:
        assert request_cancel(session, job_id, actor="op") == CancelOutcome.CANCELLING
    with rt.db.transaction() as session:
        job = session.get(Job, job_id)
        assert (job.state, job.cancel_requested) == (JobState.RUNNING, True)


def test_a_failed_stage_is_cleaned_once_and_earlier_outputs_stay_for_the_retry(rt, planning_id):
    job_id = _load(rt, planning_id)
    base_id = _fail_at_publish(rt, job_id)
    assert clean_failed_job(rt.db, rt.store, rt.basedbs, job_id, actor="w1")
    assert not clean_failed_job(rt.db, rt.store, rt.basedbs, job_id, actor="w1")  # once
    assert rt.store.head(base_prefix(base_id) + "espaces/teachers.jsonl") is None
    assert rt.store.head(base_prefix(base_id) + "base/rows.jsonl") is not None  # unpack's, committed
    assert _actions(rt, job_id).count("job.cleaned") == 1


def test_a_retry_waits_for_the_cleanup_then_restarts_at_the_first_stage_without_output(rt, planning_id):
    job_id = _load(rt, planning_id)
    _fail_at_publish(rt, job_id)
    with rt.db.transaction() as session, pytest.raises(CleanupPending):
        retry(session, job_id, actor="op", output_present=lambda job, stage: True)
    clean_failed_job(rt.db, rt.store, rt.basedbs, job_id, actor="w1")
    with rt.db.transaction() as session:  # instantiate's base database is gone: restart there
        assert retry(session, job_id, actor="op", output_present=lambda job, stage: stage == "unpack") \
            == "instantiate"
    with rt.db.transaction() as session:
        assert [s.state for s in stages(session, job_id)] == [
            StageState.SUCCEEDED, StageState.QUEUED, StageState.PENDING]
        assert session.get(Job, job_id).state == JobState.QUEUED


def test_a_discarded_job_leaves_no_object_no_base_and_no_upload(rt, planning_id):
    job_id = _load(rt, planning_id)
    base_id = _fail_at_publish(rt, job_id)
    discard_job(rt.db, rt.store, rt.basedbs, job_id, actor="sweeper")
    assert list(rt.store.list(base_prefix(base_id))) == []
    assert rt.store.head(UPLOAD) is None and not rt.basedbs.exists(base_id)
    with rt.db.transaction() as session:
        job = session.get(Job, job_id)
        assert job.discarded_at is not None and job.cleaned_at is not None
    assert _actions(rt, job_id)[-1] == "job.discarded"
