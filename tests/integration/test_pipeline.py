"""The three console actions as Celery jobs on real workers, on each stack.

embedded: filesystem broker + SQLite + local store; redis and rabbitmq: the
broker named, PostgreSQL (control DB and base schemas) and S3 (moto over HTTP).
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hosting.audit import trail
from hosting.db.models import Assignment, BaseRecord, ControllerUser, Planning, Profile, Publication, SealedSecret
from hosting.formats.hhyp.reader import HhypReader
from hosting.formats.hhyp.writer import HhypWriter, write_hhyp
from hosting.jobs.control import stages
from hosting.jobs.enqueue import JobRequest, enqueue
from hphost_samples.generator import generate_sample
from tasks.dispatch import dispatch
from tests.support.hphost_stack import HOSTING, SAMPLES, running, stack_of

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]

GRID = {"first_monday": "2026-08-31", "weeks": 40, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 10, "sequence_minutes": 60, "steps_per_sequence": 2}


@pytest.fixture(scope="module", params=["embedded", "redis", "rabbitmq"])
def stack(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(request.param)
    with running(stack_of(request.param, home, request), home) as built:
        yield built


def test_create_base_goes_into_service_with_its_grid(stack):
    planning = stack.new_planning()
    job = stack.client.wait(stack.client.enqueue("create_base", planning, time_grid=GRID).id, timeout_s=120)
    assert job.state == "succeeded", job.error
    with stack.client.rt.db.transaction() as session:
        base = session.get(BaseRecord, session.get(Planning, planning).current_base_id)
        assert (base.id, base.state, base.time_grid["weeks"]) == (job.id, "in_service", 40)
        assert set(session.get(Publication, base.id).espaces) >= {"teachers", "students"}
    assert stack.client.rt.basedbs.meta(job.id)["time_grid"]["steps_per_sequence"] == 2
    if stack.name == "embedded":  # the transport's exchange tables live in the home, not in the working directory
        assert list((stack.client.rt.settings.broker_folder / "control").glob("*.exchange"))


def test_load_base_with_profils_is_complete_and_in_service(stack):
    planning = stack.new_planning()
    job = stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP",
                               profils=SAMPLES / "small.profils")
    job = stack.client.wait(job.id, timeout_s=180)
    assert job.state == "succeeded", job.error
    with zipfile.ZipFile(SAMPLES / "small.HHYP") as archive:
        manifest_bytes = archive.read("manifest.json")
        annexes = {info.filename: hashlib.sha256(archive.read(info)).hexdigest()
                   for info in archive.infolist() if info.filename.startswith("annexes/")}
    manifest = json.loads(manifest_bytes)
    assert stack.client.rt.basedbs.counts(job.id) == manifest["tables"]
    store = stack.client.rt.store
    assert store.get_bytes(f"bases/{job.id}/manifest.json") == manifest_bytes  # kept as the customer sent it
    for path, digest in annexes.items():
        assert hashlib.sha256(store.get_bytes(f"bases/{job.id}/{path}")).hexdigest() == digest
    profils = json.loads((SAMPLES / "small.profils").read_text())
    with stack.client.rt.db.transaction() as session:
        assert session.get(Planning, planning).current_base_id == job.id
        assert session.get(BaseRecord, job.id).row_counts == manifest["tables"]
        logins = set(session.scalars(select(ControllerUser.login).where(ControllerUser.hosting_number == HOSTING)))
        assert {u["login"] for u in profils["users"]} <= logins
        assert _assignments(session, planning) == sum(len(u["profiles"]) for u in profils["users"])


def _assignments(session, planning_id: str) -> int:
    profile_ids = select(Profile.id).where(Profile.planning_id == planning_id)
    return session.scalar(select(func.count()).select_from(Assignment).where(Assignment.profile_id.in_(profile_ids)))


def _controller_state(stack, planning_id: str):
    with stack.client.rt.db.transaction() as session:
        users = sorted(session.execute(select(ControllerUser.login, ControllerUser.status, ControllerUser.password_hash)
                                       .where(ControllerUser.hosting_number == HOSTING)))
        profiles = sorted(session.execute(select(Profile.name, Profile.rights)
                                          .where(Profile.planning_id == planning_id)), key=str)
        return users, profiles, _assignments(session, planning_id)


def test_assign_profils_twice_gives_the_same_state(stack):
    planning = stack.new_planning()
    first = stack.client.wait(stack.client.enqueue("assign_profils", planning,
                                                   profils=SAMPLES / "small.profils").id, timeout_s=120)
    assert first.state == "succeeded", first.error
    once = _controller_state(stack, planning)
    second = stack.client.wait(stack.client.enqueue("assign_profils", planning,
                                                    profils=SAMPLES / "small.profils").id, timeout_s=120)
    assert second.state == "succeeded", second.error
    assert _controller_state(stack, planning) == once
    assert second.stages[0].result["users_created"] == 0
    with stack.client.rt.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SealedSecret)
                              .where(SealedSecret.job_id == second.id)) == 0


def test_wrong_hosting_number_fails_and_leaves_the_previous_base_serving(stack, tmp_path):
    planning = stack.new_planning()
    served = stack.client.wait(stack.client.enqueue("create_base", planning, time_grid=GRID).id, timeout_s=120)
    assert served.state == "succeeded"
    other = tmp_path / "other.HHYP"
    generate_sample(other, hosting_number="999999999999", preset="small", seed=3)
    job = stack.client.wait(enqueue_unchecked(stack, "load_base", planning, hhyp=other), timeout_s=120)
    assert (job.state, job.error["code"]) == ("failed", "HHYP_WRONG_HOSTING_NUMBER")
    assert job.error["where"]
    uploads_deleted(stack)  # a refused file is not kept
    store = stack.client.rt.store
    assert list(store.list(f"bases/{job.id}/")) == []
    assert not stack.client.rt.basedbs.exists(job.id)
    assert job.id not in stack.client.rt.basedbs.list_ids()
    with stack.client.rt.db.transaction() as session:
        assert session.get(Planning, planning).current_base_id == served.id
        assert session.get(BaseRecord, served.id).state == "in_service"
        assert session.get(BaseRecord, job.id).state == "failed"
        assert session.get(Publication, job.id) is None


def enqueue_unchecked(stack, kind: str, planning: str, **files: Path) -> str:
    """A job whose inputs were stored without the console's checks at the door: the workers check them."""
    client = stack.client
    params = {f"{name}_key": client.upload(path, suffix=name) for name, path in files.items()}
    with client.rt.db.transaction() as session:
        job, _ = enqueue(session, JobRequest(kind=kind, planning=planning, params=params))
        first, job_id = stages(session, job.id)[0].name, job.id
    dispatch(job_id, first, settings=client.rt.settings)
    return job_id


def test_a_refused_profils_is_deleted_by_the_worker(stack, tmp_path):
    planning = stack.new_planning()
    document = json.loads((SAMPLES / "small.profils").read_text(encoding="utf-8"))
    document["users"][2]["password"] = "Secret-42"
    bad = tmp_path / "bad.profils"
    bad.write_text(json.dumps(document), encoding="utf-8")
    job = stack.client.wait(enqueue_unchecked(stack, "assign_profils", planning, profils=bad), timeout_s=120)
    assert (job.state, job.error["code"], job.error["where"]) == (
        "failed", "PROFILS_CLEAR_PASSWORD", {"field": "users[2].password"})
    uploads_deleted(stack)


def uploads_deleted(stack) -> None:
    deadline = time.monotonic() + 60  # the failure's cleanup follows the failure
    while list(stack.client.rt.store.list("incoming/")):
        assert time.monotonic() < deadline, list(stack.client.rt.store.list("incoming/"))
        time.sleep(0.2)


def test_the_workers_apply_the_limits_the_operator_set(stack, tmp_path):
    # The stack's workers run with HPHOST_LIMITS__MAX_ENTRIES=5000: a base valid by the default limits is refused.
    planning = stack.new_planning()
    many = tmp_path / "many.HHYP"
    with HhypWriter(many, hosting_number=HOSTING, base_name="many", time_grid=GRID) as writer:
        for index in range(5_000):
            writer.add_file(f"annexes/documents/{index:05d}.pdf", b"%PDF-1.4\n", compress=False)
    with HhypReader(many, expected_hosting_number=HOSTING) as reader:
        assert reader.check().entries == 5_000
    job = stack.client.wait(enqueue_unchecked(stack, "load_base", planning, hhyp=many), timeout_s=120)
    assert (job.state, job.error["code"]) == ("failed", "HHYP_TOO_MANY_ENTRIES")
    assert list(stack.client.rt.store.list(f"bases/{job.id}/")) == []


def test_a_refusal_quoting_a_nul_character_fails_the_job_cleanly(stack, tmp_path):
    # The unknown field's name is quoted in the refusal; PostgreSQL stores no U+0000 (found by a fuzz campaign).
    planning = stack.new_planning()
    hostile = tmp_path / "hostile.HHYP"
    tables = {"subjects": [{"id": "S1", "code": "M", "name": "Maths", "colour\u0000\x1b[2J": 1}]}
    write_hhyp(hostile, hosting_number=HOSTING, base_name="hostile", time_grid=GRID, tables=tables)
    job = stack.client.wait(stack.client.enqueue("load_base", planning, hhyp=hostile).id, timeout_s=120)
    assert (job.state, job.error["code"]) == ("failed", "HHYP_UNKNOWN_FIELD")
    assert job.error["where"] == {"entry": "base/subjects.jsonl", "line": 1, "field": "colour??[2J"}
    assert "\x00" not in job.error["message"] and "\x1b" not in job.error["message"]


def test_publish_is_skipped_and_audited_when_not_associated(stack):
    planning = stack.new_planning(net=False)
    job = stack.client.wait(stack.client.enqueue("create_base", planning, time_grid=GRID).id, timeout_s=120)
    assert job.state == "succeeded", job.error
    publish = next(s for s in job.stages if s.name == "publish")
    assert (publish.state, publish.result["skip_reason"]) == ("skipped", "not_associated")
    with stack.client.rt.db.transaction() as session:
        skips = [e for e in trail(session, job.id) if e.action == "stage.skipped"]
        assert [(e.stage, e.data["reason"]) for e in skips] == [("publish", "not_associated")]
        assert session.get(Publication, job.id) is None
    assert list(stack.client.rt.store.list(f"bases/{job.id}/espaces/")) == []


def test_audit_has_every_transition_and_logs_are_json_without_passwords(stack):
    planning = stack.new_planning()
    job = stack.client.wait(stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP",
                                                 profils=SAMPLES / "small.profils").id, timeout_s=180)
    assert job.state == "succeeded", job.error
    with stack.client.rt.db.transaction() as session:
        actions = [(e.action, e.stage) for e in trail(session, job.id)]
    expected: list[tuple[str, str | None]] = [("job.queued", None), ("job.running", None)]
    for stage, following in (("unpack", "instantiate"), ("instantiate", "publish"), ("publish", "assign"),
                             ("assign", None)):
        expected += [("stage.running", stage), ("stage.succeeded", stage)]
        if following:
            expected.append(("stage.queued", following))
    expected += [("base.in_service", None), ("job.succeeded", None)]
    assert [a for a in actions if a[0].split(".")[0] in ("job", "stage", "base")] == expected
    passwords = stack.client.credentials(job.id)
    assert stack.client.credentials(job.id) == {}  # shown once
    logs = stack.worker_logs()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    bound = [line for line in lines if line.get("job_id") == job.id]
    assert bound and all(line.get("planning_id") == planning for line in bound if "stage" in line)
    with stack.client.rt.db.transaction() as session:
        audit_text = json.dumps([e.data for e in trail(session, job.id)])
    for password in passwords.values():
        assert password not in logs and password not in audit_text
