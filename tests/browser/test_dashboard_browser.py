"""The dashboard in a real browser against `hphost serve` and a real worker (PostgreSQL, Redis, S3).

An operator logs in, watches a job go from queued to succeeded without reloading, sees a failed job's group
in Failures, dry-runs and confirms its retry, and sees the job succeed; a viewer finds no action and its
forged POSTs are refused; logout ends the session.
"""

from __future__ import annotations

import re

import httpx2
import pytest
from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

from hosting.audit_chain import verify
from hosting.jobs import lifecycle
from tasks.dispatch import dispatch
from tests.support.hphost_stack import SAMPLES
from tests.unit.test_dashboard_web import METRICS

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]
GRID = {"first_monday": "2026-08-31", "weeks": 10, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 8, "sequence_minutes": 60, "steps_per_sequence": 1}
WIDTHS = (1280, 390)


def log_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(base + "/dashboard/")
    expect(page).to_have_url(re.compile(r".*/dashboard/login.*"))
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("#login")
    expect(page.locator("header .who")).to_contain_text(name)


def shoot(page: Page, shots, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def check_metrics(base: str) -> None:
    """/metrics after real jobs ran on PostgreSQL: every family, parsed by prometheus-client's parser."""
    families = {f.name: f for f in text_string_to_metric_families(httpx2.get(base + "/metrics").text)}
    assert METRICS <= set(families), set(families)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("hphost_stage_retries_total", (("code", "STORAGE_UNAVAILABLE"), ("stage", "unpack")))] >= 1
    assert samples[("hphost_jobs_total", (("kind", "load_base"), ("outcome", "succeeded")))] == 1
    assert samples[("hphost_stage_duration_seconds_count", (("outcome", "succeeded"), ("stage", "publish")))] == 2


def test_an_operator_watches_live_and_retries_a_failure_group(stack, served, passwords, chromium, s3_fault_proxy,
                                                              shots):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, served, "ops", passwords["ops"])

    # Queued -> succeeded, live: the page is never reloaded (a marker set on it survives).
    job = stack.client.enqueue("create_base", stack.new_planning(), time_grid=GRID, dispatch=False)
    page.goto(f"{served}/dashboard/jobs/{job.id}")
    expect(page.locator("#job-state")).to_have_text("queued")
    page.evaluate("window.__same_page = true")
    expect(page.locator("#live-state.on")).to_have_count(1, timeout=10_000)
    dispatch(job.id, "instantiate", settings=stack.settings())
    expect(page.locator("#job-state")).to_have_text("succeeded", timeout=60_000)
    assert page.evaluate("window.__same_page") is True
    expect(page.locator("#timeline .track .bar.run.outcome-succeeded")).to_have_count(2)

    # A job failing on S3 appears in Failures; its group is dry-run, then retried as one batch.
    failing = stack.client.enqueue("load_base", stack.new_planning(), hhyp=SAMPLES / "small.HHYP", dispatch=False)
    s3_fault_proxy.error_rate = 1.0  # (after the upload)
    dispatch(failing.id, "unpack", settings=stack.settings())
    assert stack.client.wait(failing.id, timeout_s=240).state == "failed"
    s3_fault_proxy.error_rate = 0.0
    page.goto(f"{served}/dashboard/failures")
    group = page.locator("tr.group", has=page.locator(f"a[href$='{failing.id}']"))
    expect(group).to_have_count(1)
    shoot(page, shots, "failures")
    group.locator("a.retry-group").click()
    expect(page.locator("#eligible")).to_have_text("1")
    page.fill("input[name=reason]", "S3 is back")
    page.click("#confirm-retry")
    expect(page.locator("#retried")).to_have_text("1")
    page.click("a.batch-job")
    expect(page.locator("#job-state")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#timeline .track .bar.run.outcome-retried")).not_to_have_count(0)
    expect(page.locator("#audit")).to_contain_text("operator.retry")
    expect(page.locator("#audit")).to_contain_text("operator:ops")
    shoot(page, shots, "job-timeline")
    page.goto(f"{served}/dashboard/")
    shoot(page, shots, "overview")

    check_metrics(served)
    with stack.client.rt.db.transaction() as session:  # rows sealed by the workers' and the server's commits
        report = verify(session)
    assert report.ok and report.rows > 30, report

    page.click("#logout")
    expect(page).to_have_url(re.compile(r".*/dashboard/login.*"))
    page.goto(f"{served}/dashboard/jobs")
    expect(page).to_have_url(re.compile(r".*/dashboard/login.*"))


def test_a_viewer_finds_no_action_and_its_forged_posts_are_refused(stack, served, passwords, chromium):
    job = stack.client.enqueue("create_base", stack.new_planning(), time_grid=GRID, dispatch=False)
    stack.client.cancel(job.id)
    page = chromium.new_page()
    log_in(page, served, "watcher", passwords["watcher"])
    page.goto(f"{served}/dashboard/jobs/{job.id}")
    expect(page.locator("#job-state")).to_have_text("cancelled")
    expect(page.locator("#retry-job, #cancel-job, form.action")).to_have_count(0)
    page.goto(f"{served}/dashboard/failures")
    expect(page.locator("a.retry-group")).to_have_count(0)
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    no_token = page.request.post(f"{served}/dashboard/jobs/{job.id}/retry", form={"reason": "forged"})
    assert (no_token.status, no_token.json()["code"]) == (403, "CSRF_REFUSED")
    forged = page.request.post(f"{served}/dashboard/failures/retry",
                               form={"csrf": token or "", "reason": "forged", "code": "X", "stage": "unpack"})
    assert (forged.status, forged.json()["code"]) == (403, "OPERATOR_ROLE")


def test_an_operator_cancels_a_running_job_and_sees_it_end_live(stack, served, passwords, chromium):
    """A stage held by a worker that then died: the cancel is asked, and the sweeper finishes it on the lease."""
    job = stack.client.enqueue("create_base", stack.new_planning(), time_grid=GRID, dispatch=False)
    with stack.client.rt.db.transaction() as session:  # a worker claims it, then is never heard of again
        claimed = lifecycle.claim(session, job.id, "instantiate", "gone:1:x", lease_s=6, max_deliveries=3)
    assert isinstance(claimed, lifecycle.Claim)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, served, "ops", passwords["ops"])
    page.goto(f"{served}/dashboard/jobs/{job.id}")
    expect(page.locator("#job-state")).to_have_text("running")
    page.fill("form.action:has(#cancel-job) input[name=reason]", "wrong grid")
    page.click("#cancel-job")
    expect(page.locator("#live")).to_contain_text("cancel requested")
    expect(page.locator("#job-state")).to_have_text("cancelled", timeout=60_000)
    expect(page.locator("#timeline .track .bar.run.outcome-cancelled, #timeline .track .bar.run.outcome-lease-expired")
           ).not_to_have_count(0)
    expect(page.locator("#audit")).to_contain_text("operator.cancel")
