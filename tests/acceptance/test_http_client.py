"""The Python client over HTTP against a real ``hphost serve`` and a real worker: a URL and a token only.

An enqueue whose answer is lost on the way back is sent again with the same Idempotency-Key (one job); the
wait follows the events stream, or long-polls where a proxy refuses the stream.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import httpx2
import pytest

from hosting.runtime import Runtime
from hosting.tokens import Role, TokenKind, issue
from hphost_client import ApiError, Client
from tests.support.api_server import ApiServer
from tests.support.hphost_stack import HOSTING, SAMPLES, embedded_stack

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]


class Flaky(httpx2.BaseTransport):
    """The network between client and server: loses the first enqueue's answer, may refuse event streams."""

    def __init__(self) -> None:
        self.inner = httpx2.HTTPTransport()
        self.enqueues = 0
        self.refuse_streams = False
        self.streams = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.refuse_streams and request.url.path.endswith("/events"):
            return httpx2.Response(502, request=request, text="Bad Gateway")
        response = self.inner.handle_request(request)
        self.streams += request.url.path.endswith("/events") and response.status_code == 200
        if request.method == "POST" and request.url.path.endswith("/jobs"):
            self.enqueues += 1
            if self.enqueues == 1:  # the server made the job; its answer never arrives
                response.read()
                response.close()
                raise httpx2.ReadError("connection reset by peer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("client")
    stack = embedded_stack(home)
    planning = stack.new_planning()
    rt = Runtime(stack.settings())
    with rt.db.transaction() as session:
        token = issue(session, rt.token_key, kind=TokenKind.SERVICE, hosting_number=HOSTING, role=Role.WRITER,
                      ttl=None, actor="test")[1]
    rt.db.dispose()
    server = ApiServer(stack.env, home / "logs" / "serve.log").start()
    stack.start_workers(1, concurrency=2)
    yield server, token, planning
    server.stop()
    stack.close()
    shutil.rmtree(home, ignore_errors=True)


def test_a_service_loads_a_base_with_a_url_and_a_token(served):
    server, token, planning = served
    network = Flaky()
    with Client(server.url, token, transport=network) as client:
        checked = client.check(client.upload(SAMPLES / "small.HHYP")["id"])
        assert checked["ok"] and checked["summary"]["hosting_number"] == HOSTING
        job = client.enqueue(planning, "load_base", hhyp=SAMPLES / "small.HHYP", profils=SAMPLES / "small.profils")
        assert network.enqueues == 2  # sent again after the lost answer, with the same key
        assert [listed.id for listed in client.list(planning=planning)] == [job.id]
        done = client.wait(job.id, timeout_s=240)
        assert done.state == "succeeded", done.error
        assert network.streams >= 1  # followed by its events
        assert any(row["action"] == "job.succeeded" for row in client.audit(job.id))
        revealed = client.credentials(job.id)
        assert revealed
        with pytest.raises(ApiError) as gone:
            client.credentials(job.id)
        assert (gone.value.status, gone.value.code) == (410, "CREDENTIALS_GONE")


def test_wait_long_polls_where_the_stream_is_refused_and_refusals_keep_their_code(served):
    server, token, planning = served
    network = Flaky()
    network.enqueues = 1  # no answer lost here
    network.refuse_streams = True
    with Client(server.url, token, transport=network) as client:
        grid = {"first_monday": "2026-08-31", "weeks": 4, "working_days": ["mon", "tue"], "day_start": "08:00",
                "sequences_per_day": 4, "sequence_minutes": 60, "steps_per_sequence": 2}
        job = client.enqueue(planning, "create_base", grid=grid)
        assert client.wait(job.id, timeout_s=240).state == "succeeded"
        assert network.streams == 0  # by long polls
        with pytest.raises(ApiError) as missing:
            client.get("0" * 32)
        assert (missing.value.status, missing.value.code) == (404, "NOT_FOUND")
    with Client(server.url, "hph_0000000000000000." + "A" * 43) as stranger, pytest.raises(ApiError) as refused:
        stranger.list()
    assert refused.value.code == "UNAUTHENTICATED"


def test_the_cli_job_commands_go_to_the_remote_server(served, tmp_path):
    server, token, planning = served
    env = {**os.environ, "HPHOST_API_URL": server.url, "HPHOST_API_TOKEN": token,
           "HPHOST_HOME": str(tmp_path / "no-installation-here")}

    def hphost(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "console", *args, "--json"], env=env, capture_output=True,
                              text=True, check=False, timeout=120)
        return json.loads(done.stdout)

    loaded = hphost("profils", "assign", planning, str(SAMPLES / "small.profils"), "--wait")
    assert loaded["ok"] and loaded["job"]["state"] == "succeeded", loaded
    job_id = loaded["job"]["id"]
    assert job_id in [job["id"] for job in hphost("jobs", "list", "--planning", planning)["jobs"]]
    assert hphost("jobs", "show", job_id)["job"]["stages"]
    assert any(row["action"] == "job.succeeded" for row in hphost("audit", job_id)["audit"])
    missing = hphost("jobs", "show", "0" * 32)
    assert (missing["ok"], missing["code"]) == (False, "NOT_FOUND")
    assert not (tmp_path / "no-installation-here").exists()  # no local database was opened
