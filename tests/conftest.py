"""Session fixtures: real servers on loopback, started only by the tests that use them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.support.loopback import make_server

SERVERS_ROOT = Path(tempfile.gettempdir()) / f"hphost-test-servers-{os.getuid()}"


def _server(request: pytest.FixtureRequest, name: str):
    SERVERS_ROOT.mkdir(parents=True, exist_ok=True)
    server = make_server(name, SERVERS_ROOT)
    request.addfinalizer(server.stop)
    return server


@pytest.fixture(scope="session")
def redis_server(request):
    return _server(request, "redis")


@pytest.fixture(scope="session")
def postgres_server(request):
    return _server(request, "postgres")


@pytest.fixture(scope="session")
def rabbitmq_server(request):
    return _server(request, "rabbitmq")


@pytest.fixture(scope="session")
def moto_server(request):
    return _server(request, "moto")


@pytest.fixture
def s3_fault_proxy(moto_server):
    """A fault-injecting proxy in front of the test S3 server; faults off until a test sets them."""
    from tests.support.faultproxy import FaultProxy

    proxy = FaultProxy(moto_server.url).start()
    yield proxy
    proxy.stop()
