"""Transient S3 faults: retried until the job succeeds; past the cap, a clean failure."""

from __future__ import annotations

import pytest

from hosting.audit import trail
from hosting.db.models import BaseRecord, Planning, Publication
from hosting.jobs import control
from hosting.jobs.control import StaleJob
from hosting.store.s3 import S3Store
from tests.support.hphost_stack import SAMPLES, running, server_stack

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]


@pytest.fixture
def stack(redis_server, postgres_server, s3_fault_proxy, tmp_path):
    built = server_stack("redis", tmp_path, broker_url=redis_server.url, postgres_url=postgres_server.url,
                         s3_endpoint=s3_fault_proxy.url)
    with running(built, tmp_path):
        yield built
        s3_fault_proxy.error_rate = 0.0


def test_s3_failing_one_request_in_five_is_retried_and_the_job_succeeds(stack, s3_fault_proxy):
    planning = stack.new_planning()
    s3_fault_proxy.error_rate = 0.2
    job = stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP",
                               profils=SAMPLES / "small.profils")
    job = stack.client.wait(job.id, timeout_s=240)
    assert job.state == "succeeded", job.error
    assert s3_fault_proxy.faults > 0


def test_s3_always_failing_exhausts_retries_and_leaves_nothing(stack, s3_fault_proxy, moto_server):
    planning = stack.new_planning()
    job = stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP")  # upload before the outage
    s3_fault_proxy.error_rate = 1.0
    job = stack.client.wait(job.id, timeout_s=240)
    assert (job.state, job.error["code"]) == ("failed", "TRANSIENT_EXHAUSTED")
    assert "STORAGE_UNAVAILABLE" in job.error["message"]
    settings = stack.settings()
    with stack.client.rt.db.transaction() as session:
        retries = [e for e in trail(session, job.id) if e.action == "stage.retry"]
        assert len(retries) == settings.retry_max
        assert session.get(BaseRecord, job.id).state == "failed"
        assert session.get(Planning, planning).current_base_id is None
    s3_fault_proxy.error_rate = 0.0
    direct = S3Store.from_settings(settings.model_copy(update={"s3_endpoint_url": moto_server.url}))
    assert list(direct.list(f"bases/{job.id}/")) == []
    assert not stack.client.rt.basedbs.exists(job.id)


def test_a_failed_job_retried_after_the_outage_resumes_and_succeeds(stack, s3_fault_proxy):
    planning = stack.new_planning()
    job = stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP")
    s3_fault_proxy.error_rate = 1.0
    assert stack.client.wait(job.id, timeout_s=240).state == "failed"
    s3_fault_proxy.error_rate = 0.0
    stack.client.retry(job.id)
    view = stack.client.wait(job.id, timeout_s=120)
    assert view.state == "succeeded", view.error
    with stack.client.rt.db.transaction() as session:
        assert session.get(Planning, planning).current_base_id == job.id
        assert [e.data.get("from_stage") for e in trail(session, job.id) if e.action == "job.retried"] == ["unpack"]


def test_a_load_older_than_the_base_in_service_is_refused_a_retry_and_never_swaps(stack, s3_fault_proxy,
                                                                                   monkeypatch):
    planning = stack.new_planning()
    old = stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP")
    s3_fault_proxy.error_rate = 1.0  # a transient outage fails the first load
    assert stack.client.wait(old.id, timeout_s=240).state == "failed"
    s3_fault_proxy.error_rate = 0.0
    newer = stack.client.wait(stack.client.enqueue("load_base", planning, hhyp=SAMPLES / "small.HHYP").id,
                              timeout_s=120)
    assert newer.state == "succeeded", newer.error
    with pytest.raises(StaleJob) as refused:
        stack.client.retry(old.id)
    assert refused.value.code == "STALE_JOB" and refused.value.where["job_id"] == old.id
    assert stack.client.get(old.id).state == "failed"
    # The race: a retry that read the generation just before the newer load's swap committed.
    monkeypatch.setattr(control, "stale_job", lambda *args, **kwargs: None)
    stack.client.retry(old.id)
    view = stack.client.wait(old.id, timeout_s=120)
    assert (view.state, view.error["code"]) == ("failed", "STALE_JOB")
    assert "newer base went into service" in view.error["message"]
    rt = stack.client.rt
    with rt.db.transaction() as session:
        assert session.get(Planning, planning).current_base_id == newer.id
        assert session.get(BaseRecord, newer.id).state == "in_service"
        assert session.get(BaseRecord, old.id).state == "failed"
        assert session.get(Publication, old.id) is None
        assert session.get(Publication, newer.id) is not None
    assert list(rt.store.list(f"bases/{old.id}/")) == [] and not rt.basedbs.exists(old.id)
