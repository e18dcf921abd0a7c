"""Idempotency keys are scoped by hosting and bound to the request they first named (its fingerprint)."""

from __future__ import annotations

import pytest

from hosting.db.models import Job
from hosting.jobs.enqueue import IdempotencyKeyReused, JobRequest, enqueue
from hosting.plannings import PlanningSettings, create_hosting, create_planning

OTHER = "210987654321"
SHA_A, SHA_B = "a" * 64, "b" * 64


def _load(db, planning: str, *, key: str = "click-1", upload: str = "incoming/1/base.HHYP", sha: str = SHA_A,
          kind: str = "load_base", **params):
    name = "profils_key" if kind == "assign_profils" else "hhyp_key"
    request = JobRequest(kind=kind, planning=planning, params={name: upload, **params}, idempotency_key=key,
                         input_sha256={name: sha})
    with db.transaction() as session:
        job, created = enqueue(session, request)
        return job.id, created


@pytest.fixture
def other_planning(db, planning_id) -> str:
    with db.transaction() as session:
        create_hosting(session, OTHER, actor="test")
        return create_planning(session, OTHER, PlanningSettings(
            name="Q", domain="q.example.edu", controller_domain="ctl.q.example.edu"), actor="test").id


def test_the_same_request_again_is_the_same_job_whatever_its_upload_key(db, planning_id):
    first, created = _load(db, planning_id)
    again, created_again = _load(db, planning_id, upload="incoming/2/base.HHYP")
    assert (again, created, created_again) == (first, True, False)
    with db.transaction() as session:
        job = session.get(Job, first)
        assert job.hosting_number == "123456789012" and len(job.request_hash) == 64


@pytest.mark.parametrize("change", [
    {"sha": SHA_B},  # another file under the same key: silently the first job, before
    {"base_name": "Autre"},
    {"kind": "assign_profils"},
])
def test_the_same_key_for_another_request_is_refused(db, planning_id, change):
    _load(db, planning_id)
    with pytest.raises(IdempotencyKeyReused) as caught:
        _load(db, planning_id, **change)
    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert caught.value.where == {"idempotency_key": "click-1"}


def test_two_hostings_use_the_same_key_independently(db, planning_id, other_planning):
    mine, created = _load(db, planning_id)
    theirs, created_theirs = _load(db, other_planning, sha=SHA_B)
    assert created and created_theirs and mine != theirs
    assert _load(db, other_planning, sha=SHA_B) == (theirs, False)
