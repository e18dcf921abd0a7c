"""Session fixtures: real servers on loopback, started only by the tests that use them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.support.loopback import make_server

SERVERS_ROOT = Path(tempfile.gettempdir()) / f"hphost-test-servers-{os.getuid()}"


def _server_fixture(name: str):
    """The session fixture ``<name>_server``: that test server on loopback, started on first use."""

    @pytest.fixture(scope="session", name=f"{name}_server")
    def server(request: pytest.FixtureRequest):
        SERVERS_ROOT.mkdir(parents=True, exist_ok=True)
        started = make_server(name, SERVERS_ROOT)
        request.addfinalizer(started.stop)
        return started

    return server


redis_server = _server_fixture("redis")
postgres_server = _server_fixture("postgres")
rabbitmq_server = _server_fixture("rabbitmq")
moto_server = _server_fixture("moto")


@pytest.fixture
def s3_fault_proxy(moto_server):
    """A fault-injecting proxy in front of the test S3 server; faults off until a test sets them."""
    from tests.support.faultproxy import FaultProxy

    proxy = FaultProxy(moto_server.url).start()
    yield proxy
    proxy.stop()
