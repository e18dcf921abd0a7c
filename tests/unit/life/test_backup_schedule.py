"""The nightly schedule with a clock the test sets: one backup job per planning and night whatever the
number of beats, a missed night caught up once, and retention over a simulated year."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from config.settings import Settings
from hosting.backups.retention import Kept, apply_retention
from hosting.backups.schedule import tick
from hosting.db.migrate import upgrade
from hosting.db.models import Backup, BackupRun, Job, Planning
from hosting.jobs.states import JobState
from hosting.plannings import PlanningSettings, create_hosting, create_planning
from hosting.runtime import Runtime

HOSTING = "123456789012"
NIGHT = dt.datetime(2027, 1, 10, 2, 0, tzinfo=dt.UTC)  # after HPHOST_BACKUP_HOUR_UTC (1)


@pytest.fixture
def rt(tmp_path):
    runtime = Runtime(Settings(home=tmp_path))
    upgrade(runtime.db.engine)
    yield runtime
    runtime.db.dispose()


def _plannings(rt: Runtime, count: int) -> list[str]:
    with rt.db.transaction() as session:
        create_hosting(session, HOSTING, actor="test")
        ids = []
        for k in range(count):
            planning = create_planning(session, HOSTING, PlanningSettings(
                name=f"P{k}", domain=f"p{k}.example.edu", controller_domain="ctl.example.edu"), actor="test")
            planning.current_base_id = f"base{k}"  # a base in service (its content is not read here)
            ids.append(planning.id)
        return ids


def _jobs(rt: Runtime) -> list[tuple[str, str | None]]:
    with rt.db.transaction() as session:
        return sorted((job.planning_id, job.params.get("night"))
                      for job in session.scalars(select(Job).where(Job.kind == "backup_base")))


def _finish_jobs(rt: Runtime, state: JobState) -> None:
    with rt.db.transaction() as session:
        for job in session.scalars(select(Job).where(Job.state == JobState.QUEUED)):
            job.state = state


def test_two_beats_at_once_make_one_job_per_planning_and_night(rt):
    plannings = _plannings(rt, 3)
    rung: list[str] = []
    errors: list[BaseException] = []

    def beat(owner: str) -> None:
        try:
            for _ in range(4):
                tick(rt, now=NIGHT, owner=owner, ring=lambda job_id, stage: rung.append(job_id))
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    beats = [threading.Thread(target=beat, args=(f"beat{k}",)) for k in range(2)]
    for thread in beats:
        thread.start()
    for thread in beats:
        thread.join()
    assert errors == []
    assert _jobs(rt) == sorted((p, "2027-01-10") for p in plannings)
    assert len(rung) == 3  # each job's first stage rung once


def test_missed_nights_are_caught_up_once_and_a_failed_night_is_tried_again(rt):
    plannings = _plannings(rt, 2)
    ring = lambda job_id, stage: None  # noqa: E731
    tick(rt, now=NIGHT, owner="b", ring=ring)
    _finish_jobs(rt, JobState.SUCCEEDED)
    later = NIGHT + dt.timedelta(days=5)  # no beat ran for four nights
    for _ in range(3):
        tick(rt, now=later, owner="b", ring=ring)
    nights = [night or "" for _planning, night in _jobs(rt)]
    assert sorted(set(nights)) == ["2027-01-10", "2027-01-15"] and len(nights) == 4
    _finish_jobs(rt, JobState.FAILED)
    tick(rt, now=later, owner="b", ring=ring)  # settles the failure, and tries the night again
    assert [night for _planning, night in _jobs(rt)].count("2027-01-15") == 4
    with rt.db.transaction() as session:
        runs = {(r.planning_id, r.night): (r.state, r.attempts) for r in session.scalars(select(BackupRun))}
    assert runs[(plannings[0], "2027-01-15")] == ("enqueued", 2)


def _backup(rt: Runtime, planning_id: str, night: dt.date) -> str:
    ident = f"b{night:%Y%m%d}"
    with rt.db.transaction() as session:
        session.add(Backup(id=ident, planning_id=planning_id, hosting_number=HOSTING, base_id="base0", state="verified",
                           night=night.isoformat(), key_id="k1", objects={},
                           created_at=dt.datetime.combine(night, dt.time(2), dt.UTC)))
    rt.store.put_bytes(f"backups/{ident}/base.HHYP.enc", b"x")
    return ident


def _expected(today: dt.date, first: dt.date) -> set[str]:
    """By the calendar: the last 7 nights, the last night of the last 4 weeks and of the last 12 months."""
    days = {today - dt.timedelta(days=k) for k in range(7)}
    monday = today - dt.timedelta(days=today.weekday())
    days |= {min(monday - dt.timedelta(weeks=k) + dt.timedelta(days=6), today) for k in range(4)}
    for k in range(12):
        year, month = divmod(today.year * 12 + today.month - 1 - k, 12)
        following = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
        days.add(min(following - dt.timedelta(days=1), today))
    return {f"b{day:%Y%m%d}" for day in days if day >= first}


def test_retention_over_a_simulated_year_keeps_the_expected_set(rt):
    planning = _plannings(rt, 1)[0]
    first = dt.date(2027, 1, 1)
    for k in range(365):
        night = first + dt.timedelta(days=k)
        newest = _backup(rt, planning, night)
        apply_retention(rt, dt.datetime.combine(night, dt.time(3), dt.UTC), Kept(7, 4, 12))
        with rt.db.transaction() as session:
            kept = set(session.scalars(select(Backup.id).where(Backup.state == "verified")))
        assert newest in kept and kept == _expected(night, first), night
    objects = {info.key.split("/")[1] for info in rt.store.list("backups/")}
    assert objects == kept and len(kept) <= 7 + 4 + 12


def test_retention_never_deletes_the_last_verified_backup(rt):
    planning = _plannings(rt, 1)[0]
    last = _backup(rt, planning, dt.date(2025, 3, 1))
    apply_retention(rt, dt.datetime(2027, 6, 1, tzinfo=dt.UTC), Kept(1, 0, 0))
    with rt.db.transaction() as session:
        assert session.get(Backup, last).state == "verified"
        assert session.get(Planning, planning) is not None
