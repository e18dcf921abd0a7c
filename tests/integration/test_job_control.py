"""Operator decisions on real workers: cancel a queued or a running job; nothing of it stays."""

from __future__ import annotations

import shutil
import time

import pytest

from hosting.audit import trail
from hosting.db.models import BaseRecord, Planning, Stage
from hosting.fsck import fsck
from hphost_samples.generator import generate_sample
from tests.support.hphost_stack import HOSTING, embedded_stack
from tests.support.poll import wait_until

pytestmark = pytest.mark.timeout(300)
GRID = {"first_monday": "2026-08-31", "weeks": 30, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 8, "sequence_minutes": 60, "steps_per_sequence": 2}


@pytest.fixture
def stack(tmp_path):
    built = embedded_stack(tmp_path / "home")
    built.create_hosting(HOSTING)
    yield built
    built.close()
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture(scope="module")
def big_sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "big.HHYP"
    generate_sample(path, hosting_number=HOSTING, preset="university", students=6000, seed=2)
    return path


@pytest.fixture(scope="module")
def university_sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "university.HHYP"
    # Twice the university (200,000 courses): publish takes seconds, so a cancel has time to land in it.
    generate_sample(path, hosting_number=HOSTING, preset="university", students=50_000, photos=3_000, seed=1)
    return path


def test_cancelling_a_queued_job_removes_its_upload_at_once(stack, big_sample):
    planning = stack.new_planning()
    job = stack.client.enqueue("load_base", planning, hhyp=big_sample, dispatch=False)
    assert [i.key for i in stack.client.rt.store.list("incoming/")]
    view = stack.client.cancel(job.id)
    assert view.state == "cancelled" and [s.state for s in view.stages] == ["cancelled"] * 3
    assert list(stack.client.rt.store.list("")) == []
    with stack.client.rt.db.transaction() as session:
        assert session.get(BaseRecord, job.id).state == "failed"
        assert [e.action for e in trail(session, job.id)][-2:] == ["job.cancelled", "job.discarded"]
    assert fsck(stack.client.rt).clean
    # The planning is free again.
    assert stack.client.enqueue("create_base", planning, time_grid=GRID, dispatch=False).state == "queued"


def test_cancelling_a_running_load_stops_it_and_the_old_base_keeps_serving(stack, big_sample):
    planning = stack.new_planning()
    stack.start_workers(1, concurrency=2)
    served = stack.client.wait(stack.client.enqueue("create_base", planning, time_grid=GRID).id, timeout_s=60)
    job = stack.client.enqueue("load_base", planning, hhyp=big_sample)

    def busy() -> bool:
        stages = stack.client.get(job.id).stages
        return any(s.state == "running" and s.name in ("instantiate", "publish") for s in stages)

    assert wait_until(busy, timeout_s=60, poll_s=0.05), stack.client.get(job.id)
    assert stack.client.cancel(job.id).state in ("running", "cancelled")
    view = stack.client.wait(job.id, timeout_s=60)
    assert view.state == "cancelled"
    rt = stack.client.rt
    assert wait_until(lambda: not _leftovers(rt, job.id), timeout_s=60), _leftovers(rt, job.id)
    with rt.db.transaction() as session:
        assert session.get(Planning, planning).current_base_id == served.id
        assert session.get(BaseRecord, served.id).state == "in_service"
    assert fsck(rt).clean


def _leftovers(rt, job_id: str) -> list[str]:
    """What of a cancelled job is still there (its cleanup, or the sweeper's, removes it all)."""
    try:
        left = [info.key for prefix in (f"bases/{job_id}/", "incoming/") for info in rt.store.list(prefix)]
    except FileNotFoundError:  # the local store's listing met an object the cleanup was removing
        return ["(an object removed while listed)"]
    if rt.basedbs.exists(job_id) or job_id in rt.basedbs.list_ids():
        left.append(f"base database {job_id}")
    return left


def _publish_row(stack, job_id: str) -> Stage:
    with stack.client.rt.db.transaction() as session:
        return session.query(Stage).filter_by(job_id=job_id, name="publish").one()


def test_a_cancel_during_publish_stops_it_at_its_next_checkpoint(stack, university_sample):
    planning = stack.new_planning()
    stack.start_workers(1, concurrency=2)
    job = stack.client.enqueue("load_base", planning, hhyp=university_sample)
    deadline = time.monotonic() + 180
    while not (row := _publish_row(stack, job.id)).progress_done:  # publish is building the Espaces
        assert time.monotonic() < deadline and row.state in ("pending", "queued", "running"), row.state
        time.sleep(0.05)
    stack.client.cancel(job.id)
    # Publish takes about 3 s of a quiet machine here: the cancel lands while courses are read or owners
    # written (progress counts courses read, so it may be whole), and the stage stops without its marker.
    view = stack.client.wait(job.id, timeout_s=8, poll_s=0.1)
    assert view.state == "cancelled"
    assert _publish_row(stack, job.id).state == "cancelled"
    rt = stack.client.rt
    assert wait_until(lambda: not _leftovers(rt, job.id), timeout_s=60), _leftovers(rt, job.id)
    with rt.db.transaction() as session:
        assert session.get(Planning, planning).current_base_id is None
    assert fsck(rt).clean
