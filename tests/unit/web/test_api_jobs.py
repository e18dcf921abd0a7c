"""Plannings and jobs over HTTP (SQLite, no worker): create, configure, enqueue with Idempotency-Key, list, act."""

from __future__ import annotations

import threading

from hosting import idempotency
from hosting.db.models import IdempotencyRecord, SealedSecret, utcnow
from hosting.sealing import Sealer, secret_key
from tests.unit.web.conftest import GRID, HOSTING_A, make_planning


def _create_base(api, planning_id, key=None, who="A:writer", grid=GRID):
    headers = api.as_(who) | ({"Idempotency-Key": key} if key else {})
    return api.http.post(f"/v1/plannings/{planning_id}/jobs", json={"kind": "create_base", "grid": grid},
                         headers=headers)


def test_plannings_are_created_configured_and_read_with_the_cli_codes(api):
    planning_id = make_planning(api, "A:writer", "Lycée A", "a")
    changed = api.http.patch(f"/v1/plannings/{planning_id}", json={"time_zone": "Europe/Berlin"},
                             headers=api.as_("A:writer"))
    assert changed.status_code == 200 and changed.json()["time_zone"] == "Europe/Berlin"
    refused = api.http.patch(f"/v1/plannings/{planning_id}", json={"domain": "127.0.0.1"}, headers=api.as_("A:writer"))
    assert refused.status_code == 422 and refused.json()["code"] == "INVALID_INPUT"
    assert refused.json()["where"] == {"field": "domain"}
    taken = api.http.post("/v1/plannings", json={"name": "Lycée A", "controller_domain": "c2.example.org",
                                                 "domain": "w2.example.org"}, headers=api.as_("A:writer"))
    assert taken.status_code == 409 and taken.json()["code"] == "PLANNING_NAME_TAKEN"
    reader = api.http.patch(f"/v1/plannings/{planning_id}", json={"name": "x"}, headers=api.as_("A:reader"))
    assert reader.status_code == 403 and reader.json()["code"] == "READ_ONLY_TOKEN"
    base = api.http.get(f"/v1/plannings/{planning_id}/base", headers=api.as_("A:reader")).json()
    assert base == {"planning_id": planning_id, "base": None, "publication": None}
    listed = api.http.get("/v1/plannings", headers=api.as_("A:reader")).json()["plannings"]
    assert [p["hosting_number"] for p in listed] == [HOSTING_A]


def test_the_same_idempotency_key_and_body_replay_the_first_answer(api):
    planning_id = make_planning(api, "A:writer", "P", "p")
    first = _create_base(api, planning_id, key="click-1")
    assert first.status_code == 202, first.text
    again = _create_base(api, planning_id, key="click-1")
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    by_operator = _create_base(api, planning_id, key="click-1", who="operator")  # keys are the hosting's
    assert by_operator.status_code == 202 and by_operator.json()["id"] == first.json()["id"]
    assert again.headers["location"] == f"/v1/jobs/{first.json()['id']}"
    other = _create_base(api, planning_id, key="click-1", grid=GRID | {"weeks": 40})
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_MISMATCH"
    busy = _create_base(api, planning_id, key="click-2")
    assert busy.status_code == 409 and busy.json()["code"] == "PLANNING_BUSY"
    assert busy.json()["where"]["active_job_url"] == f"/v1/jobs/{first.json()['id']}"
    assert first.json()["id"] in busy.headers["link"]
    # A refused request frees its key: the same key goes through once the planning is free.
    assert api.http.post(f"/v1/jobs/{first.json()['id']}/cancel", headers=api.as_("A:writer")).status_code == 200
    assert _create_base(api, planning_id, key="click-2").status_code == 202


def test_a_key_still_in_flight_is_409(api):
    planning_id = make_planning(api, "A:writer", "P", "p")
    body = {"kind": "create_base", "grid": GRID, "hhyp_upload": None, "profils_upload": None, "base_name": None,
            "prune": False}
    path = f"/v1/plannings/{planning_id}/jobs"
    taken = idempotency.begin(api.rt.db, HOSTING_A, "slow", idempotency.fingerprint("POST", path, body),
                              ttl=idempotency.ABANDONED_AFTER * 1000)
    assert taken is None
    answer = _create_base(api, planning_id, key="slow")
    assert answer.status_code == 409 and answer.json()["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT"


def test_concurrent_requests_with_one_key_make_one_job(api):
    planning_id = make_planning(api, "A:writer", "P", "p")
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(_create_base(api, planning_id, key="k")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = {a.json()["id"] for a in answers if a.status_code == 202}
    assert len(ids) == 1 and all(a.status_code in (202, 409) for a in answers)
    assert all(a.json()["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT" for a in answers if a.status_code == 409)


def test_keys_expire_after_their_ttl(api):
    with api.rt.db.transaction() as session:
        session.add(IdempotencyRecord(scope=HOSTING_A, key="old", fingerprint="x", status=202, response={},
                                      created_at=utcnow(), expires_at=utcnow()))
    assert api.rt.settings.idempotency_ttl_s >= 86400
    planning_id = make_planning(api, "A:writer", "P", "p")
    assert _create_base(api, planning_id, key="old").status_code == 202


def test_list_pages_with_an_opaque_cursor_stable_under_inserts(api):
    ids = []
    for n in range(5):
        planning_id = make_planning(api, "A:writer", f"P{n}", f"p{n}")
        ids.append(_create_base(api, planning_id).json()["id"])
    page = api.http.get("/v1/jobs?limit=2&kind=create_base", headers=api.as_("A:reader")).json()
    seen = [job["id"] for job in page["jobs"]]
    make_planning(api, "A:writer", "late", "late")
    _create_base(api, make_planning(api, "A:writer", "later", "later"))  # a newer job: not in later pages
    while page["next"]:
        assert "kind=create_base" in page["next"]
        page = api.http.get(page["next"], headers=api.as_("A:reader")).json()
        seen += [job["id"] for job in page["jobs"]]
    assert seen == list(reversed(ids))
    bad = api.http.get("/v1/jobs?cursor=notacursor", headers=api.as_("A:reader"))
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_CURSOR"
    assert api.http.get("/v1/jobs?state=failed", headers=api.as_("A:reader")).json()["jobs"] == []


def test_long_poll_answers_at_once_on_a_new_version_and_waits_otherwise(api):
    job = _create_base(api, make_planning(api, "A:writer", "P", "p")).json()
    same = api.http.get(f"/v1/jobs/{job['id']}?wait=0.6&after={job['version']}", headers=api.as_("A:reader"))
    assert same.status_code == 200 and same.json()["version"] == job["version"]
    api.http.post(f"/v1/jobs/{job['id']}/cancel", headers=api.as_("A:writer"))
    changed = api.http.get(f"/v1/jobs/{job['id']}?wait=30&after={job['version']}", headers=api.as_("A:reader"))
    assert changed.json()["state"] == "cancelled" and changed.json()["version"] != job["version"]


def test_events_stream_the_audit_rows_and_end_with_the_job_and_resume_after_an_id(api):
    job = _create_base(api, make_planning(api, "A:writer", "P", "p")).json()
    api.http.post(f"/v1/jobs/{job['id']}/cancel", headers=api.as_("A:writer"))
    with api.http.stream("GET", f"/v1/jobs/{job['id']}/events", headers=api.as_("A:reader")) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    assert "event: audit" in text and "job.queued" in text and "job.cancelled" in text and "event: end" in text
    ids = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("id: ")]
    with api.http.stream("GET", f"/v1/jobs/{job['id']}/events",
                         headers=api.as_("A:reader") | {"Last-Event-ID": ids[0]}) as stream:
        resumed = "".join(stream.iter_text())
    assert "job.queued" not in resumed and "job.cancelled" in resumed


def test_credentials_are_revealed_once_then_410(api):
    job = _create_base(api, make_planning(api, "A:writer", "P", "p")).json()
    early = api.http.post(f"/v1/jobs/{job['id']}/credentials", headers=api.as_("A:writer"))
    assert early.status_code == 409 and early.json()["code"] == "JOB_ACTIVE"
    api.http.post(f"/v1/jobs/{job['id']}/cancel", headers=api.as_("A:writer"))
    with api.rt.db.transaction() as session:
        session.add(SealedSecret(job_id=job["id"], hosting_number=HOSTING_A, subject="user:jdupont",
                                 sealed=Sealer(secret_key(api.rt.settings)).seal("s3cret-Pass")))
    first = api.http.post(f"/v1/jobs/{job['id']}/credentials", headers=api.as_("A:writer"))
    assert first.status_code == 200 and first.json()["credentials"] == {"jdupont": "s3cret-Pass"}
    second = api.http.post(f"/v1/jobs/{job['id']}/credentials", headers=api.as_("A:writer"))
    assert second.status_code == 410 and second.json()["code"] == "CREDENTIALS_GONE"
    trail = api.http.get(f"/v1/jobs/{job['id']}/audit", headers=api.as_("A:reader")).json()["events"]
    revealed = [e for e in trail if e["action"] == "credentials.revealed"]
    assert len(revealed) == 1 and "s3cret-Pass" not in str(trail)
    assert revealed[0]["actor"].startswith("token:") and revealed[0]["data"]["request_id"]


def test_a_job_takes_its_uploads_once_and_only_its_hosting_s(api):
    from tests.unit.web.conftest import HOSTING_B, upload

    planning_id = make_planning(api, "A:writer", "P", "p")
    mine, theirs = upload(api, HOSTING_A, "hhyp", b"PK..."), upload(api, HOSTING_B, "hhyp", b"PK...")
    path = f"/v1/plannings/{planning_id}/jobs"
    other = api.http.post(path, json={"kind": "load_base", "hhyp_upload": theirs}, headers=api.as_("A:writer"))
    assert other.status_code == 404 and other.json()["code"] == "NOT_FOUND"
    wrong_kind = api.http.post(path, json={"kind": "assign_profils", "profils_upload": mine},
                               headers=api.as_("A:writer"))
    assert wrong_kind.status_code == 422 and wrong_kind.json()["code"] == "UPLOAD_WRONG_KIND"
    job = api.http.post(path, json={"kind": "load_base", "hhyp_upload": mine}, headers=api.as_("A:writer"))
    assert job.status_code == 202, job.text
    assert [s["name"] for s in job.json()["stages"]] == ["unpack", "instantiate", "publish"]
    api.http.post(f"/v1/jobs/{job.json()['id']}/cancel", headers=api.as_("A:writer"))
    again = api.http.post(path, json={"kind": "load_base", "hhyp_upload": mine}, headers=api.as_("A:writer"))
    assert again.status_code == 409 and again.json()["code"] == "UPLOAD_USED"


def test_every_action_of_the_api_is_an_audit_row_with_actor_request_id_and_source(api):
    from sqlalchemy import select

    from hosting.db.models import AuditEvent

    planning_id = make_planning(api, "A:writer", "P", "p")
    api.http.patch(f"/v1/plannings/{planning_id}", json={"time_zone": "Europe/Berlin"}, headers=api.as_("A:writer"))
    job = _create_base(api, planning_id, key="k1").json()
    api.http.post(f"/v1/jobs/{job['id']}/cancel", headers=api.as_("A:writer"))
    api.http.post(f"/v1/jobs/{job['id']}/credentials", headers=api.as_("A:writer"))
    api.http.post("/v1/logout", headers=api.as_("A:writer"))
    with api.rt.db.transaction() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.actor.like("token:%"))))
    assert {row.action for row in rows} == {"planning.created", "planning.configured", "job.queued",
                                           "job.cancelled", "job.discarded", "credentials.revealed", "token.revoked"}
    assert all(row.data["request_id"] and row.data["source"] == "testclient" for row in rows)


def test_a_failed_job_is_retried_from_its_failed_stage_once(api):
    from hosting.db.models import Job, Stage

    job = _create_base(api, make_planning(api, "A:writer", "P", "p")).json()
    with api.rt.db.transaction() as session:
        row = session.get(Job, job["id"])
        row.state, row.error_code, row.cleaned_at = "failed", "TRANSIENT_EXHAUSTED", utcnow()
        for stage in session.query(Stage).filter(Stage.job_id == job["id"]):
            stage.state = "failed" if stage.position == 0 else "pending"
    retried = api.http.post(f"/v1/jobs/{job['id']}/retry", headers=api.as_("A:writer"))
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "queued" and retried.json()["stages"][0]["state"] == "queued"
    again = api.http.post(f"/v1/jobs/{job['id']}/retry", headers=api.as_("A:writer"))
    assert again.status_code == 409 and again.json()["code"] == "JOB_FINAL"
