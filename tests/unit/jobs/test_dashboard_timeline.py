"""A job's timeline from its real audit trail: a worker dies mid-stage, the sweeper takes the lease back,
another worker runs the stage again; the timeline shows both attempts, the expiry and the recovery."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from config.settings import Settings
from hosting import audit
from hosting.dashboard.recovery import recoveries
from hosting.dashboard.timeline import build_timeline
from hosting.db.models import Job, Stage, utcnow
from hosting.jobs import lifecycle
from hosting.jobs.control import stages
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.sweeper import sweep
from hosting.runtime import Runtime


def test_a_lease_expiry_and_the_sweepers_recovery_are_on_the_timeline(db, planning_id, tmp_path):
    rt = Runtime(Settings(home=tmp_path, database_url=db.url))
    with rt.db.transaction() as session:
        job, _ = enqueue(session, JobRequest("create_base", planning_id, {"time_grid": {}}))
    with rt.db.transaction() as session:
        lifecycle.claim(session, job.id, "instantiate", "host:1:dead", lease_s=30, max_deliveries=5)
    with rt.db.transaction() as session:  # the worker was killed: its lease runs out
        session.execute(update(Stage).where(Stage.job_id == job.id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert sweep(rt, lambda job_id, stage: None).requeued == [(job.id, "instantiate")]
    with rt.db.transaction() as session:
        second = lifecycle.claim(session, job.id, "instantiate", "host:2:alive", lease_s=30, max_deliveries=5)
    assert isinstance(second, lifecycle.Claim)
    with rt.db.transaction() as session:
        job_row = session.get(Job, job.id)
        assert job_row is not None
        timeline = build_timeline(job_row, stages(session, job.id), audit.trail(session, job.id))
    bars, marks = timeline.lane("instantiate")
    runs = [(b.outcome, b.actor) for b in bars if b.kind == "run"]
    assert runs == [("lease expired", "host:1:dead"), ("running", "host:2:alive")]
    assert [b.outcome for b in bars if b.kind == "queue"] == ["waited", "waited"]  # first wait, then the recovery
    assert [m.label for m in marks] == ["lease expired; the sweeper re-queued it"]
    assert all(0 <= b.left <= 100 and b.width > 0 for b in bars)
    assert timeline.lane("publish") == ([], [])
    with rt.db.transaction() as session:
        lost = {row.name: row for row in recoveries(session, utcnow() - timedelta(hours=1))}
    assert lost["instantiate"].samples == 1 and lost["instantiate"].meets is True
    assert lost["publish"].samples == 0 and lost["publish"].meets is None
