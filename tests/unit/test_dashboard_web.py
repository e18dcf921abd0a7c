"""The dashboard on SQLite: login, sessions, CSRF, roles, and every page rendering a failed job."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from hosting.dashboard.operators import create_operator
from hosting.db.models import AuditEvent, Job, Stage
from hosting.errors import StorageError
from hosting.jobs.enqueue import JobRequest, enqueue
from hosting.jobs.lifecycle import Claim, claim, fail_job
from hosting.plannings import PlanningSettings, create_hosting, create_planning
from hosting.runtime import Runtime
from web.app import create_app
from web.dashboard.auth import COOKIE

HOSTING = "123456789012"


@pytest.fixture
def rt(tmp_path, db):
    return Runtime(Settings(home=tmp_path, database_url=str(db.engine.url)))


@pytest.fixture
def passwords(db):
    with db.transaction() as session:
        return {role: create_operator(session, role, role, actor="test") for role in ("viewer", "operator")}


@pytest.fixture
def failed_job(db):
    with db.transaction() as session:
        create_hosting(session, HOSTING, actor="test")
        planning = create_planning(session, HOSTING, PlanningSettings(
            name="EDT", domain="edt.example.edu", controller_domain="ctl.example.edu"), actor="test")
        job, _ = enqueue(session, JobRequest(kind="create_base", planning=planning.id, params={
            "time_grid": {"weeks": 1}, "secret_password": "hunter2"}))
    with db.transaction() as session:
        claimed = claim(session, job.id, "instantiate", owner="host:1:abc", lease_s=30, max_deliveries=3)
        assert isinstance(claimed, Claim)
    with db.transaction() as session:
        refused = StorageError(operation="put", key="k", reason="denied", where={"key": "k"})
        fail_job(session, job.id, refused, stage=session.get(Stage, claimed.stage_id), actor="host:1:abc")
    return job.id


def browser(rt) -> TestClient:
    return TestClient(create_app(rt), raise_server_exceptions=False, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def log_in(client: TestClient, name: str, password: str):
    token = csrf_of(client.get("/dashboard/login").text)
    return client.post("/dashboard/login", data={"name": name, "password": password, "csrf": token,
                                                 "next": "/dashboard/jobs"})


def test_a_page_asks_to_log_in_and_a_login_opens_it(rt, passwords):
    client = browser(rt)
    answer = client.get("/dashboard/jobs")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/dashboard/login?next=")
    refused = log_in(client, "operator", "wrong")
    assert refused.status_code == 401 and "LOGIN_REFUSED" in refused.text
    answer = log_in(client, "operator", passwords["operator"])
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/jobs"
    cookie = answer.headers["set-cookie"]
    assert COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/dashboard/jobs").status_code == 200


def test_a_login_without_the_csrf_token_is_refused(rt, passwords):
    client = browser(rt)
    client.get("/dashboard/login")
    answer = client.post("/dashboard/login", data={"name": "operator", "password": passwords["operator"]})
    assert answer.status_code == 403 and answer.json()["code"] == "CSRF_REFUSED"


def test_a_forged_cookie_is_no_session(rt, passwords):
    client = browser(rt)
    client.cookies.set(COOKIE, "eyJvcCI6Im9wZXJhdG9yIn0.forged.sig", path="/dashboard")
    assert client.get("/dashboard/").status_code == 303


def test_pages_show_a_failed_job_its_group_and_a_redacted_spec(rt, passwords, failed_job):
    client = browser(rt)
    log_in(client, "viewer", passwords["viewer"])
    dry_run = "/dashboard/failures/retry?code=STORAGE_ERROR&stage=instantiate"
    for path in ("/dashboard/", "/dashboard/jobs", "/dashboard/failures", "/dashboard/workers", "/dashboard/recovery",
                 f"/dashboard/jobs/{failed_job}", "/dashboard/jobs?state=failed&q=EDT",
                 f"/dashboard/jobs?q={failed_job[:8]}", dry_run):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
    job_page = client.get(f"/dashboard/jobs/{failed_job}").text
    assert "hunter2" not in job_page and "***" in job_page
    assert "outcome-failed" in job_page  # the failed attempt's bar
    assert "STORAGE_ERROR" in client.get("/dashboard/failures").text
    assert failed_job[:12] in client.get(f"/dashboard/jobs?q={failed_job[:8]}").text
    assert 'id="eligible">1<' in client.get(dry_run).text


def test_a_viewer_sees_no_button_and_its_forged_posts_are_refused(rt, passwords, failed_job, db):
    client = browser(rt)
    log_in(client, "viewer", passwords["viewer"])
    page = client.get(f"/dashboard/jobs/{failed_job}").text
    assert "retry-job" not in page and "cancel-job" not in page
    assert "retry this group" not in client.get("/dashboard/failures").text
    token = csrf_of(page)
    no_token = client.post(f"/dashboard/jobs/{failed_job}/cancel", data={"reason": "forged"})
    assert no_token.status_code == 403 and no_token.json()["code"] == "CSRF_REFUSED"
    with_token = client.post(f"/dashboard/jobs/{failed_job}/cancel", data={"reason": "forged", "csrf": token})
    assert with_token.status_code == 403 and with_token.json()["code"] == "OPERATOR_ROLE"
    with db.transaction() as session:
        assert session.get(Job, failed_job).state == "failed"


def test_an_operator_cancels_with_a_reason_audited_under_its_name(rt, passwords, failed_job, db):
    client = browser(rt)
    log_in(client, "operator", passwords["operator"])
    token = csrf_of(client.get(f"/dashboard/jobs/{failed_job}").text)
    no_reason = client.post(f"/dashboard/jobs/{failed_job}/cancel", data={"csrf": token})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "INVALID_INPUT"
    answer = client.post(f"/dashboard/jobs/{failed_job}/cancel", data={"csrf": token, "reason": "customer asked"})
    assert answer.status_code == 303, answer.text
    with db.transaction() as session:
        assert session.get(Job, failed_job).state == "cancelled"
        rows = session.query(AuditEvent).filter_by(job_id=failed_job, action="operator.cancel").all()
        assert [(r.actor, r.data["reason"]) for r in rows] == [("operator:operator", "customer asked")]


def test_logout_ends_the_session(rt, passwords):
    client = browser(rt)
    log_in(client, "operator", passwords["operator"])
    token = csrf_of(client.get("/dashboard/").text)
    assert client.post("/dashboard/logout", data={"csrf": token}).status_code == 303
    assert client.get("/dashboard/").status_code == 303


def test_static_files_ship_in_the_package_and_nothing_else_is_served(rt):
    client = browser(rt)
    assert client.get("/dashboard/static/dashboard.js").status_code == 200
    assert client.get("/dashboard/static/dashboard.css").headers["content-type"].startswith("text/css")
    assert client.get("/dashboard/static/..%2Fauth.py").status_code == 404


METRICS = {"hphost_jobs", "hphost_stage_duration_seconds", "hphost_queue_latency_seconds", "hphost_queue_depth",
           "hphost_stage_deliveries", "hphost_stage_retries", "hphost_lease_expiries", "hphost_sweeper_recoveries",
           "hphost_sweeper_redispatches", "hphost_audit_chain_verified_timestamp_seconds", "hphost_audit_chain_ok",
           "hphost_stuck_stages"}


def test_metrics_parse_and_count_the_failed_job(rt, failed_job):
    from prometheus_client.parser import text_string_to_metric_families

    answer = browser(rt).get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert METRICS <= set(families)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("hphost_jobs_total", (("kind", "create_base"), ("outcome", "failed")))] == 1
    assert samples[("hphost_stage_deliveries_total", (("stage", "instantiate"),))] == 1
    assert samples[("hphost_stage_duration_seconds_count", (("outcome", "failed"), ("stage", "instantiate")))] == 1
    assert all("hosting" not in labels and "job" not in str(labels) for _, labels in samples)


def test_an_edited_audit_row_is_named_on_the_dashboard(rt, passwords, failed_job, db):
    from sqlalchemy import text

    client = browser(rt)
    log_in(client, "operator", passwords["operator"])
    assert "Never verified" in client.get("/dashboard/").text
    with db.engine.begin() as conn:
        target = conn.execute(text("SELECT id FROM audit_events WHERE action = 'job.failed'")).scalar_one()
        conn.execute(text("UPDATE audit_events SET actor = 'nobody' WHERE id = :id"), {"id": target})
    token = csrf_of(client.get("/dashboard/").text)
    assert client.post("/dashboard/audit/verify", data={"csrf": token}).status_code == 303
    shown = client.get("/dashboard/").text
    assert f"BROKEN at row {target}" in shown and "edited" in shown
    assert "hphost_audit_chain_ok 0.0" in client.get("/metrics").text


def test_the_pages_of_one_hosting_show_its_jobs_only(rt, passwords, failed_job):
    client = browser(rt)
    log_in(client, "viewer", passwords["viewer"])
    assert "STORAGE_ERROR" in client.get(f"/dashboard/failures?hosting={HOSTING}").text
    other = client.get("/dashboard/failures?hosting=999999999999").text
    assert "STORAGE_ERROR" not in other and "no failed job" in other
    assert "create_base" not in client.get("/dashboard/?hosting=999999999999").text
    assert "create_base" in client.get(f"/dashboard/?hosting={HOSTING}").text
    dry = "/dashboard/failures/retry?code=STORAGE_ERROR&stage=instantiate&hosting="
    assert 'id="eligible">0<' in client.get(dry + "999999999999").text
    assert 'id="eligible">1<' in client.get(dry + HOSTING).text
