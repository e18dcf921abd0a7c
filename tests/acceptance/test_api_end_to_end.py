"""The HTTP API end to end: a real ``hphost serve`` and real workers, as the hosting console drives them.

Console login (first with the invoice, then without), the school sample and its .profils uploaded
(POST /v1/uploads), ``load_base`` enqueued twice with one Idempotency-Key (one job), the SSE stream followed
to ``succeeded``, the audit read, the credentials revealed once; then another hosting's console locked out
after 5 failures. On the embedded default and on PostgreSQL + Redis + moto S3."""

from __future__ import annotations

import hashlib
import json

import httpx2
import pytest
from sqlalchemy import select

from hosting.db.models import AuditEvent
from hosting.plannings import create_hosting
from tests.support.api_server import ApiServer
from tests.support.hphost_stack import HOSTING, SAMPLES, running, stack_of

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]
INVOICE = "4242424242"


@pytest.fixture(params=["embedded", "redis"])
def stack(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"api-{request.param}")
    built = stack_of("embedded" if request.param == "embedded" else "redis", home, request)
    server = ApiServer(built.env, home / "logs" / "serve.log").start()
    with running(built, home, hosting=None):  # the test makes it, for its password
        yield built, server
        server.stop()


def _upload(http: httpx2.Client, kind: str, name: str) -> str:
    """POST /v1/uploads: the file's bytes streamed to the store; its id."""
    with (SAMPLES / name).open("rb") as source:
        answer = http.post("/v1/uploads", params={"kind": kind}, content=source.read())
    assert answer.status_code == 201, answer.text
    assert answer.json()["sha256"] == hashlib.sha256((SAMPLES / name).read_bytes()).hexdigest()
    return str(answer.json()["id"])


def _follow(http: httpx2.Client, job_id: str) -> tuple[list[dict], dict]:
    """The audit events and the last job event of the job's SSE stream, read to its end."""
    audits, last, event = [], {}, ""
    with http.stream("GET", f"/v1/jobs/{job_id}/events", timeout=httpx2.Timeout(10, read=300)) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "audit":
                audits.append(json.loads(line.removeprefix("data: ")))
            elif line.startswith("data: ") and event == "job":
                last = json.loads(line.removeprefix("data: "))
    return audits, last


def test_the_console_loads_a_base_over_http(stack):
    built, server = stack
    with built.client.rt.db.transaction() as session:
        password = create_hosting(session, HOSTING, actor="test")
    with httpx2.Client(base_url=server.url, timeout=30) as anonymous:
        session_token, session_id = _console_login(anonymous, password)
    with httpx2.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {session_token}"}) as http:
        job_id, revealed = _load_base(http, session_id)
    with httpx2.Client(base_url=server.url, timeout=30) as anonymous:
        _locked_out(built, anonymous)
    logs = server.log_path.read_text(errors="replace") + built.worker_logs()
    for secret in (password, INVOICE, session_token.split(".", 1)[1], *revealed.values()):
        assert secret not in logs


def _locked_out(built, anonymous: httpx2.Client) -> None:
    """Five failures, then the right password is refused too (429 LOGIN_LOCKED, Retry-After); all audited."""
    other = "210987654321"
    with built.client.rt.db.transaction() as session:
        password = create_hosting(session, other, actor="test")
    attempt = {"hosting_number": other, "invoice_number": INVOICE}
    for _ in range(5):
        assert anonymous.post("/v1/login", json=attempt | {"password": "nope"}).status_code == 401
    right = anonymous.post("/v1/login", json=attempt | {"password": password})
    assert right.status_code == 429 and right.json()["code"] == "LOGIN_LOCKED" and right.headers["retry-after"]
    with built.client.rt.db.transaction() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.hosting_number == other,
                                                             AuditEvent.action.like("security.%"))
                                    .order_by(AuditEvent.id)))
    assert [r.action for r in rows] == ["security.login_refused"] * 5 + ["security.login_locked"]
    assert {r.data["source"] for r in rows} == {"127.0.0.1"}


def _console_login(anonymous: httpx2.Client, password: str) -> tuple[str, str]:
    assert anonymous.post("/v1/login", json={"hosting_number": HOSTING, "password": password}).status_code == 401
    first = anonymous.post("/v1/login", json={"hosting_number": HOSTING, "password": password,
                                              "invoice_number": INVOICE})
    assert first.status_code == 200, first.text
    later = anonymous.post("/v1/login", json={"hosting_number": HOSTING, "password": password})
    assert later.status_code == 200, later.text
    return later.json()["token"], later.json()["session_id"]


def _load_base(http: httpx2.Client, session_id: str) -> tuple[str, dict[str, str]]:
    planning = http.post("/v1/plannings", json={"name": "Lycée E2E", "domain": "edt.e2e.example.edu",
                                                "controller_domain": "ctl.e2e.example.edu"})
    assert planning.status_code == 201, planning.text
    body = {"kind": "load_base", "hhyp_upload": _upload(http, "hhyp", "small.HHYP"),
            "profils_upload": _upload(http, "profils", "small.profils")}
    path, key = f"/v1/plannings/{planning.json()['id']}/jobs", {"Idempotency-Key": "console-click-1"}
    job = http.post(path, json=body, headers=key)
    assert job.status_code == 202, job.text
    again = http.post(path, json=body, headers=key)
    assert again.status_code == 202 and again.json()["id"] == job.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    audits, last = _follow(http, job.json()["id"])
    assert last["state"] == "succeeded", last
    assert [s["state"] for s in last["stages"]] == ["succeeded"] * 4
    trail = http.get(f"/v1/jobs/{job.json()['id']}/audit").json()["events"]
    assert [row["id"] for row in trail[:len(audits)]] == [row["id"] for row in audits]
    queued = next(row for row in trail if row["action"] == "job.queued")
    assert queued["actor"] == f"console:{session_id}"
    assert queued["data"]["source"] == "127.0.0.1" and queued["data"]["request_id"]
    assert {"stage.succeeded", "job.succeeded"} <= {row["action"] for row in trail}
    revealed = http.post(f"/v1/jobs/{job.json()['id']}/credentials")
    assert revealed.status_code == 200 and revealed.json()["credentials"], revealed.text
    gone = http.post(f"/v1/jobs/{job.json()['id']}/credentials")
    assert gone.status_code == 410 and gone.json()["code"] == "CREDENTIALS_GONE"
    in_service = http.get(f"/v1/plannings/{planning.json()['id']}/base").json()
    assert in_service["base"]["id"] == job.json()["base_id"] and in_service["publication"]["espaces"]
    return job.json()["id"], revealed.json()["credentials"]
