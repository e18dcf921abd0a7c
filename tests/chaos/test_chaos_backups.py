"""Workers SIGKILLed while nightly backups and restores run: no partial backup is ever listed as verified,
one backup per planning and night, every restore ends with the backup's base in service."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from hosting.backups import service
from hosting.backups.schedule import tick
from hosting.db.models import Backup, BackupRun, BaseRecord, Planning
from hosting.fsck import fsck
from hphost_samples.generator import generate_sample
from tasks.dispatch import dispatch
from tests.chaos.harness import HOSTING, Trial
from tests.support.hphost_stack import server_stack
from tests.support.poll import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.chaos, pytest.mark.timeout(600)]
NIGHT = dt.datetime(2027, 3, 14, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chaos-backup-sample")
    hhyp, profils = folder / "chaos.HHYP", folder / "chaos.profils"
    generate_sample(hhyp, hosting_number=HOSTING, preset="university", students=3000, seed=9,
                    profils_path=profils)
    return hhyp, profils


def _runs_done(stack) -> bool:
    rt = stack.client.rt
    tick(rt, now=NIGHT, owner="chaos-beat", ring=lambda job, stage: dispatch(job, stage, settings=rt.settings))
    with rt.db.transaction() as session:
        return {run.state for run in session.scalars(select(BackupRun))} == {"done"}


def test_sigkill_during_backups_and_restores(redis_server, postgres_server, moto_server, sample, tmp_path):
    stack = server_stack("redis", tmp_path, broker_url=redis_server.url, postgres_url=postgres_server.url,
                         s3_endpoint=moto_server.url)
    stack.start_workers(2, concurrency=1)
    try:
        plannings = [stack.new_planning() for _ in range(2)]
        loads = [stack.client.enqueue("load_base", p, hhyp=sample[0], profils=sample[1]).id for p in plannings]
        assert all(stack.client.wait(j, timeout_s=240).state == "succeeded" for j in loads)
        backups = Trial(stack, *sample, seed=13, faults=("kill", "kill_child"), ordered=True, kill_stage="backup")
        assert backups.faults_during(lambda: wait_until(lambda: _runs_done(stack), timeout_s=300, poll_s=1.0))
        rt = stack.client.rt
        with rt.db.transaction() as session:
            rows = list(session.scalars(select(Backup)))
            verified = sorted((b.planning_id, b.night) for b in rows if b.state == "verified")
        assert verified == sorted((p, "2027-03-14") for p in plannings)  # one per planning and night
        assert len(rows) == 2  # a half-made backup was never recorded
        assert {info.key.split("/")[1] for info in rt.store.list("backups/")} == {b.id for b in rows}
        for row in rows:
            assert service.verify(rt, row.id)["rows"]["courses"] > 0
        assert [s for s in backups.recovered() if s > 30] == []
        assert any(stage == "backup" for kill in backups.kills for _job, stage in kill.victims), backups.kills

        served: list[str] = []
        stop = threading.Event()
        thread = threading.Thread(target=_watch, args=(stack, plannings, served, stop))
        thread.start()
        restores = Trial(stack, *sample, seed=17, faults=("kill", "kill_child"), ordered=True, kill_stage="unpack")
        backup_of = {row.planning_id: row.id for row in rows}
        try:
            ids = [stack.client.restore(p, backup_of[p]).id for p in plannings]
            jobs = restores.faults_during(lambda: [stack.client.wait(j, timeout_s=300) for j in ids])
        finally:
            stop.set()
            thread.join()
        assert [job.state for job in jobs] == ["succeeded", "succeeded"], [job.error for job in jobs]
        assert served == [] and restores.kills
        for job in jobs:
            assert restores.matches_archive(job.id) == []
        assert wait_until(lambda: fsck(rt).clean, timeout_s=30), fsck(rt).as_dict()
    finally:
        stack.close()


def _watch(stack, plannings, gaps, stop) -> None:
    """A reader during the restores: each planning always has a base in service."""
    query = (select(Planning.id, BaseRecord.state).outerjoin(BaseRecord, BaseRecord.id == Planning.current_base_id)
             .where(Planning.id.in_(plannings)))
    while not stop.wait(0.3):
        with stack.client.rt.db.transaction() as session:
            gaps += [p for p, state in session.execute(query) if state != "in_service"]
