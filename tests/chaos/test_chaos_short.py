"""Crash safety, short form (the long form is bench/chaos.py): real workers SIGKILLed mid-job,
the broker restarted, S3 failing; every job ends, nothing is applied twice, nothing is left behind."""

from __future__ import annotations

import shutil

import pytest

from hphost_samples.generator import generate_sample
from tests.chaos.harness import HOSTING, Trial
from tests.support.hphost_stack import embedded_stack, server_stack

pytestmark = [pytest.mark.servers, pytest.mark.chaos, pytest.mark.timeout(420)]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chaos-sample")
    hhyp, profils = folder / "chaos.HHYP", folder / "chaos.profils"
    generate_sample(hhyp, hosting_number=HOSTING, preset="university", students=3000, seed=7,
                    profils_path=profils)
    return hhyp, profils


def test_sigkill_workers_on_redis_loses_nothing(redis_server, postgres_server, moto_server, sample, tmp_path):
    stack = server_stack("redis", tmp_path, broker_url=redis_server.url, postgres_url=postgres_server.url,
                         s3_endpoint=moto_server.url)
    stack.start_workers(2, concurrency=1)
    try:
        result = Trial(stack, *sample, seed=11, jobs=3, faults=("kill", "kill_child"), ordered=True,
                       kill_stage="unpack").run()
    finally:
        stack.close()
    print(result.row())
    assert result.ok, result.row() | {"details": result.duplicates + result.mismatches + result.served_gaps}
    assert result.succeeded == result.jobs  # kills are recoverable faults: every job succeeds
    assert result.recovery_times(), "no kill interrupted a running stage"
    assert all(t <= 30 for t in result.recovery_times())


def test_sigkill_on_the_embedded_filesystem_transport_is_recovered_by_the_sweeper(sample, tmp_path):
    stack = embedded_stack(tmp_path)
    stack.start_workers(2, concurrency=1)
    try:
        result = Trial(stack, *sample, seed=5, jobs=3, faults=("kill",), ordered=True, kill_stage="instantiate").run()
    finally:
        stack.close()
        shutil.rmtree(tmp_path, ignore_errors=True)
    print(result.row())
    assert result.ok, result.row()
    assert result.succeeded == result.jobs
    assert result.recovery_times(), "no kill interrupted a running stage"


def test_rabbitmq_restart_and_s3_faults(rabbitmq_server, postgres_server, moto_server, s3_fault_proxy,
                                        sample, tmp_path):
    stack = server_stack("rabbitmq", tmp_path, broker_url=rabbitmq_server.url, postgres_url=postgres_server.url,
                         s3_endpoint=s3_fault_proxy.url)
    stack.start_workers(2, concurrency=1)
    faults_before = s3_fault_proxy.faults
    try:
        result = Trial(stack, *sample, seed=3, jobs=2, faults=("broker", "kill"), ordered=True,
                       kill_stage="instantiate", proxy=s3_fault_proxy, s3_error_rate=0.2,
                       servers={"broker": rabbitmq_server}).run()
    finally:
        s3_fault_proxy.error_rate = 0.0
        stack.close()
    print(result.row())
    assert result.ok, result.row()
    assert result.succeeded == result.jobs
    assert result.recovery_times(), "no kill interrupted a running stage"
    assert s3_fault_proxy.faults > faults_before, "S3 never failed"
