"""A succeeded job's uploads are deleted by its worker, or by the sweeper when that worker died first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from config.settings import Settings
from hosting.db.models import Job, utcnow
from hosting.fsck import fsck
from hosting.jobs import lifecycle
from hosting.jobs.cleanup import delete_succeeded_inputs
from hosting.jobs.control import stages
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.lifecycle import Claim
from hosting.jobs.sweeper import FAILED_CLEANUP_GRACE_S, sweep
from hosting.runtime import Runtime

KEYS = {"profils_key": "incoming/abc/users.profils"}


def _succeeded_assign_job(rt: Runtime, planning_id: str) -> str:
    """An assign_profils job run to success, its upload still stored: its worker died at that point."""
    rt.store.put_bytes(KEYS["profils_key"], b"{}")
    with rt.db.transaction() as session:
        job, _ = enqueue(session, JobRequest("assign_profils", planning_id, dict(KEYS)))
        job_id = job.id
        names = [stage.name for stage in stages(session, job_id)]
    for name in names:
        with rt.db.transaction() as session:
            claim = lifecycle.claim(session, job_id, name, "w1", lease_s=30, max_deliveries=3)
        assert isinstance(claim, Claim)
        with rt.db.transaction() as session:
            lifecycle.complete(session, claim, {})
    return job_id


def _runtime(db, tmp_path) -> Runtime:
    return Runtime(Settings(home=tmp_path, database_url=db.url))


def test_the_sweeper_deletes_the_uploads_a_dead_worker_left_after_success(db, planning_id, tmp_path):
    rt = _runtime(db, tmp_path)
    job_id = _succeeded_assign_job(rt, planning_id)
    assert fsck(rt).clean  # pending, not an orphan: the sweeper owes the deletion
    sweep(rt, lambda job_id, stage: None)
    assert rt.store.head(KEYS["profils_key"]) is not None  # within the grace its worker may still do it
    with rt.db.transaction() as session:
        long_ago = utcnow() - timedelta(seconds=FAILED_CLEANUP_GRACE_S + 1)
        session.execute(update(Job).where(Job.id == job_id).values(finished_at=long_ago))
    report = sweep(rt, lambda job_id, stage: None)
    assert report.cleaned == [job_id]
    assert rt.store.head(KEYS["profils_key"]) is None
    with rt.db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.cleaned_at is not None
    assert fsck(rt).clean
    assert not sweep(rt, lambda job_id, stage: None).cleaned  # once


def test_the_worker_marks_the_uploads_deleted(db, planning_id, tmp_path):
    rt = _runtime(db, tmp_path)
    job_id = _succeeded_assign_job(rt, planning_id)
    assert delete_succeeded_inputs(rt.db, rt.store, job_id)
    assert rt.store.head(KEYS["profils_key"]) is None
    assert not delete_succeeded_inputs(rt.db, rt.store, job_id)
    rt.store.put_bytes(KEYS["profils_key"], b"{}")  # the same key again is an orphan now
    assert fsck(rt).orphan_objects == [KEYS["profils_key"]]
