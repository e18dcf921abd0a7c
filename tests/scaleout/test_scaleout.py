"""Scale-out rehearsal: three worker machines and a servers' machine as network namespaces, one cut mid-run.

m1 and m2 run unpack and publish, m3 instantiate and assign (I/O apart from database work); each has
its own HPHOST_HOME and TMPDIR, and its own host name (so each stage's audit row says which machine
ran it). Loads are enqueued, a machine is unplugged (``ip link set … down``) while they run and
plugged back later: every job succeeds, no stage succeeded twice, fsck is clean, and jobs whose stages
ran on different machines prove that no stage read a file of another machine's disk.
Short form in the test command; ``HPHOST_SCALEOUT_LONG=1``: 10 loads, a cut on each machine in turn.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from console.client import Client
from hosting.db.models import AuditEvent, Stage
from hosting.fsck import fsck
from hosting.runtime import Runtime, set_up
from hphost_samples.generator import generate_sample
from tests.scaleout.machines import ServersMachine, machine_worker
from tests.scaleout.netns import Network, available
from tests.support.hphost_stack import FAST
from tests.support.poll import wait_until

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900),
              pytest.mark.skipif(available() is not None, reason=str(available()))]

LONG = os.environ.get("HPHOST_SCALEOUT_LONG") == "1"
MACHINES = {"m1": ("unpack", "publish"), "m2": ("unpack", "publish"), "m3": ("instantiate", "profils")}


@pytest.fixture
def cluster():
    port = int(os.environ.get("HPHOST_TEST_POSTGRES_PORT", "15433"))
    tag = f"{port % 1000:03d}"
    root = Path(tempfile.gettempdir()) / f"hphost-scaleout-{tag}"  # 0755: postgres reads its data dir there
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(mode=0o755, parents=True)
    network = Network(tag, subnet=100 + port % 100, machines=list(MACHINES))
    servers = ServersMachine(network, root)
    workers = []
    try:
        network.create()
        servers.start()
        env = {**servers.env(), **FAST, "HPHOST_LOG_LEVEL": "INFO"}
        settings = Settings(**{k.removeprefix("HPHOST_").lower(): v for k, v in env.items()
                               if "__" not in k})  # type: ignore[arg-type]
        runtime = Runtime(settings)
        set_up(runtime)  # what `hphost setup` does, once, from any machine
        runtime.db.dispose()
        workers = [machine_worker(network, name, root, env, queues) for name, queues in MACHINES.items()]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready(180)
        client = Client(settings, actor="scaleout")
        yield network, client, root
        client.close()
    finally:
        for worker in workers:
            worker.stop(timeout_s=10)
        servers.stop()
        network.remove()


def _loads(client: Client, root: Path, count: int) -> list[str]:
    """``count`` load_base jobs with their .profils, one hosting each (sample users are per hosting)."""
    from hosting.plannings import PlanningSettings, create_hosting, create_planning

    jobs = []
    for index in range(count):
        hosting = f"77{index:010d}"
        hhyp, profils = root / f"load-{index}.HHYP", root / f"load-{index}.profils"
        generate_sample(hhyp, hosting_number=hosting, preset="small", seed=index, profils_path=profils)
        with client.rt.db.transaction() as session:
            create_hosting(session, hosting, actor="test")
            planning = create_planning(session, hosting, PlanningSettings(
                name=f"P{index}", domain=f"p{index}.edt.example.edu", controller_domain=f"ctl{index}.example.edu",
                associate_net=True), actor="test").id
        jobs.append(client.enqueue("load_base", planning, hhyp=hhyp, profils=profils).id)
    return jobs


def _audit(client: Client, job_ids: list[str]) -> list[AuditEvent]:
    with client.rt.db.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.job_id.in_(job_ids))))


def _running_on(client: Client, machine: str) -> bool:
    with client.rt.db.transaction() as session:
        return session.scalar(select(Stage.id).where(Stage.state == "running",
                                                     Stage.lease_owner.startswith(f"{machine}:")).limit(1)) is not None


def _cut_while_running(network: Network, client: Client, machine: str, down_s: float) -> None:
    """Unplug ``machine`` while it runs a stage (or after a minute without one), keep it down, plug it back."""
    wait_until(lambda: _running_on(client, machine), timeout_s=60, poll_s=0.05)
    network.cut(machine, up=False)
    time.sleep(down_s)  # the outage itself: a span of time, not a condition to wait for
    network.cut(machine, up=True)


def test_loads_survive_a_machine_cut_off_mid_run(cluster):
    network, client, root = cluster
    count, cuts = (10, list(MACHINES)) if LONG else (3, ["m1"])
    jobs = _loads(client, root, count)
    for machine in cuts:
        _cut_while_running(network, client, machine, down_s=12)
    assert wait_until(lambda: all(client.get(job).state in ("succeeded", "failed", "cancelled") for job in jobs),
                      timeout_s=600, poll_s=1), "jobs still running 10 minutes after the last cut"
    views = [client.get(job) for job in jobs]
    assert [(v.id, v.state, v.error) for v in views if v.state != "succeeded"] == []
    events = _audit(client, jobs)
    done = Counter((e.job_id, e.stage) for e in events if e.action in ("stage.succeeded", "stage.skipped"))
    assert set(done.values()) == {1} and len(done) == 4 * count  # every stage once, none twice
    # (a stage whose machine was cut after its output was whole is skipped, "already done", by the next one)
    machines_of = {(e.job_id, e.stage): e.actor.split(":")[0] + ("*" if e.action == "stage.skipped" else "")
                   for e in events if e.action in ("stage.succeeded", "stage.skipped")}
    assert {machine.rstrip("*") for machine in machines_of.values()} <= set(MACHINES)
    for job in jobs:  # unpack wrote to S3 on m1 or m2; instantiate read it on m3: no disk in common
        assert machines_of[(job, "unpack")].rstrip("*") in ("m1", "m2")
        assert machines_of[(job, "instantiate")].rstrip("*") == "m3"
    report = fsck(client.rt)
    assert report.clean, report.as_dict()
    _table(views, machines_of, events)


def _table(views, machines_of, events) -> None:
    """The rehearsal's table, printed for the closing note (pytest -s)."""
    lost = Counter(e.job_id for e in events if e.action == "stage.lease_expired")
    print("\njob          state      unpack instantiate publish assign  leases expired  (*: skipped, already done)")
    for view in views:
        where = [machines_of.get((view.id, stage), "-") for stage in ("unpack", "instantiate", "publish", "assign")]
        print(f"{view.id[:12]} {view.state:10} " + " ".join(f"{m:6}" for m in where) + f"  {lost[view.id]}")
