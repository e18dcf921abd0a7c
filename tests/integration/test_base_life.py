"""A base's life after its first day on real workers: export, backup, restore, grid change.

embedded: filesystem broker + SQLite + local store; redis: PostgreSQL (jsonb base schemas) and S3 (moto).
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile

import pytest
from sqlalchemy import select

from hosting.audit import trail
from hosting.db.models import Assignment, ControllerUser, Planning, Profile
from hosting.errors import HphostError
from hphost_samples.generator import generate_sample
from tests.support.hphost_stack import HOSTING, running, stack_of

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]


@pytest.fixture(scope="module", params=["embedded", "redis"])
def stack(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(request.param)
    with running(stack_of(request.param, home, request), home) as built:
        yield built


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Two different bases (A and B) written by hphost's writer, each with its users."""
    folder = tmp_path_factory.mktemp("samples")
    for name, seed in (("A", 1), ("B", 2)):
        generate_sample(folder / f"{name}.HHYP", hosting_number=HOSTING, preset="small", seed=seed,
                        profils_path=folder / f"{name}.profils")
    return folder


def _load(stack, planning, hhyp, profils=None):
    job = stack.client.wait(stack.client.enqueue("load_base", planning, hhyp=hhyp, profils=profils).id,
                            timeout_s=180)
    assert job.state == "succeeded", job.error
    return job


def _served(stack, planning):
    with stack.client.rt.db.transaction() as session:
        return session.get(Planning, planning).current_base_id


def _content(stack, base_id):
    """Every row of the base (load order) and the SHA-256 of every annex."""
    rt = stack.client.rt
    rows = {table: list(rt.basedbs.rows(base_id, table)) for table in rt.basedbs.counts(base_id)}
    prefix = f"bases/{base_id}/annexes/"
    annexes = {info.key.removeprefix(prefix): hashlib.sha256(rt.store.get_bytes(info.key)).hexdigest()
               for info in rt.store.list(prefix)}
    return rows, annexes


def _users(stack, planning):
    with stack.client.rt.db.transaction() as session:
        return sorted(session.execute(
            select(ControllerUser.login, Profile.name).join(Assignment, Assignment.user_id == ControllerUser.id)
            .join(Profile, Profile.id == Assignment.profile_id).where(Profile.planning_id == planning)))


def test_export_is_byte_for_byte_and_loads_back_identical(stack, samples, tmp_path):
    planning = stack.new_planning()
    loaded = _load(stack, planning, samples / "A.HHYP", samples / "A.profils")
    job = stack.client.wait(stack.client.export_base(planning).id, timeout_s=180)
    assert job.state == "succeeded", job.error
    out, users = tmp_path / "export.HHYP", tmp_path / "export.profils"
    stack.client.download_export(job.id, out, users)
    assert out.read_bytes() == (samples / "A.HHYP").read_bytes()  # a file of hphost's writer: byte for byte
    again = stack.new_planning()
    reloaded = _load(stack, again, out, users)
    assert _content(stack, reloaded.id) == _content(stack, loaded.id)
    assert _users(stack, again) == _users(stack, planning)


def test_restore_drill_puts_back_rows_annexes_and_users(stack, samples):
    planning = stack.new_planning()
    base_a = _load(stack, planning, samples / "A.HHYP", samples / "A.profils")
    users_a = _users(stack, planning)
    backup = stack.client.wait(stack.client.backup(planning).id, timeout_s=180)
    assert backup.state == "succeeded", backup.error
    listed = stack.client.backups(planning)
    assert [row["id"] for row in listed] == [backup.id] and listed[0]["state"] == "verified"
    _load(stack, planning, samples / "B.HHYP", samples / "B.profils")
    assert _users(stack, planning) != users_a
    restore = stack.client.wait(stack.client.restore(planning, backup.id[:12]).id, timeout_s=240)
    assert restore.state == "succeeded", restore.error
    assert _served(stack, planning) == restore.id
    assert _content(stack, restore.id) == _content(stack, base_a.id)
    assert _users(stack, planning) == users_a
    with stack.client.rt.db.transaction() as session:
        actions = {(event.job_id, event.action) for job in (base_a.id, backup.id, restore.id)
                   for event in trail(session, job)}
    assert {(base_a.id, "job.succeeded"), (backup.id, "job.succeeded"), (restore.id, "job.succeeded"),
            (restore.id, "base.in_service")} <= actions
    assert not list(stack.client.rt.store.list(f"restores/{restore.id}/"))  # the clear copy is gone


def test_backup_objects_hold_no_row_in_clear_and_verify_reads_them_back(stack, samples):
    planning = stack.new_planning()
    _load(stack, planning, samples / "A.HHYP", samples / "A.profils")
    backup = stack.client.wait(stack.client.backup(planning).id, timeout_s=180)
    assert backup.state == "succeeded", backup.error
    with zipfile.ZipFile(samples / "A.HHYP") as archive:
        texts = {line for info in archive.infolist() if info.filename.startswith("base/")
                 for line in archive.read(info).splitlines()}
    names = {json.loads(line).get("last_name") for line in texts} - {None}
    logins = {user["login"] for user in json.loads((samples / "A.profils").read_text())["users"]}
    store = stack.client.rt.store
    stored = [store.get_bytes(info.key) for info in store.list(f"backups/{backup.id}/")]
    assert len(stored) == 3  # the .HHYP, the .profils, the marker (digests and keys only)
    for data in stored:
        for clear in (*texts, *(n.encode() for n in names), *(login.encode() for login in logins)):
            assert clear not in data
    found = stack.client.verify_backup(backup.id)
    assert found["rows"]["courses"] == 60 and found["users"] == len(logins)


def test_a_grid_change_is_refused_then_accepted_then_undone(stack, samples):
    planning = stack.new_planning()
    loaded = _load(stack, planning, samples / "A.HHYP")
    grid = dict(stack.client.rt.basedbs.meta(loaded.id)["time_grid"])
    courses = list(stack.client.rt.basedbs.rows(loaded.id, "courses"))
    placed = {row["id"]: row["placement"] for row in courses if row.get("placement")}
    served, stop = set(), threading.Event()

    def poll() -> None:  # a reader during every job: some base always answers
        while not stop.wait(0.05):
            served.add(_served(stack, planning))

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        longer = {**grid, "weeks": grid["weeks"] + 4, "sequences_per_day": grid["sequences_per_day"] + 1}
        grown = stack.client.wait(stack.client.change_grid(planning, longer).id, timeout_s=180)
        assert grown.state == "succeeded", grown.error
        assert stack.client.rt.basedbs.meta(grown.id)["time_grid"]["weeks"] == grid["weeks"] + 4
        shrunk = {**longer, "sequences_per_day": 6}  # the afternoon goes
        steps = 6 * grid["steps_per_sequence"]
        failing = sorted(row["id"] for row in courses
                         if row.get("placement") and row["placement"]["start_step"] + row["duration_steps"] > steps)
        assert 0 < len(failing) < len(placed)
        with pytest.raises(HphostError) as refused:
            stack.client.change_grid(planning, shrunk)
        assert refused.value.code == "GRID_CHANGE_FAILS_COURSES"
        assert refused.value.where["count"] == len(failing) and refused.value.where["courses"][0] == failing[0]
        assert _served(stack, planning) == grown.id  # nothing changed
        accepted = stack.client.wait(stack.client.change_grid(planning, shrunk, accept_failures=True).id,
                                     timeout_s=180)
        assert accepted.state == "succeeded", accepted.error
        result = accepted.stages[0].result
        assert sorted(result["in_failure"]) == failing
        published = _published_courses(stack, accepted.id)
        assert published and not published & set(failing)
        back = stack.client.wait(stack.client.change_grid(planning, longer).id, timeout_s=180)
        assert back.state == "succeeded", back.error
        assert sorted(back.stages[0].result["restored"]) == failing
        again = {row["id"]: row.get("placement") for row in stack.client.rt.basedbs.rows(back.id, "courses")}
        assert all(again[cid] == placement for cid, placement in placed.items())
    finally:
        stop.set()
        poller.join()
    assert None not in served  # a base served throughout, the old one until each swap
    assert served <= {loaded.id, grown.id, accepted.id, back.id}


def _published_courses(stack, base_id):
    """Courses in the placed Espaces (teachers, students, rooms) of a base."""
    store, courses = stack.client.rt.store, set()
    for espace in ("teachers", "students", "guest"):
        for info in store.list(f"bases/{base_id}/espaces/{espace}"):
            for line in store.get_bytes(info.key).splitlines():
                courses |= {record["course"] for record in _records(json.loads(line))}
    return courses


def _records(item):
    if isinstance(item, dict) and "course" in item:
        return [item]
    values = item.values() if isinstance(item, dict) else item if isinstance(item, list) else []
    return [record for value in values for record in _records(value)]


def test_requests_without_a_base_in_service_are_refused(stack):
    planning = stack.new_planning()
    for request in (lambda: stack.client.export_base(planning), lambda: stack.client.backup(planning)):
        with pytest.raises(HphostError) as refused:
            request()
        assert refused.value.code == "NO_BASE_IN_SERVICE"


