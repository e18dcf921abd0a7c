"""Browser fixtures: Debian's headless Chromium driven by Playwright, a real `hphost serve`, real workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from hosting.dashboard.operators import create_operator
from tests.support.hphost_stack import Stack, running, server_stack
from tests.support.poll import wait_until

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/install-system-deps); never Playwright's download


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def stack(redis_server, postgres_server, s3_fault_proxy, tmp_path) -> Iterator[Stack]:
    built = server_stack("browser", tmp_path, broker_url=redis_server.url, postgres_url=postgres_server.url,
                         s3_endpoint=s3_fault_proxy.url)
    with running(built, tmp_path):
        yield built
        s3_fault_proxy.error_rate = 0.0


@pytest.fixture
def passwords(stack) -> dict[str, str]:
    with stack.client.rt.db.transaction() as session:
        return {name: create_operator(session, name, role, actor="test")
                for name, role in (("ops", "operator"), ("watcher", "viewer"))}


@pytest.fixture
def served(stack, tmp_path) -> Iterator[str]:
    """``hphost serve`` on a port of its own; its base URL."""
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "console", "serve", "--port", str(port)],
                            env={**os.environ, **stack.env}, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx2.get(base + "/v1/health", timeout=2).status_code == 200
        except httpx2.HTTPError:
            return proc.poll() is not None  # (a dead server: the assertion below says so)

    assert wait_until(up, timeout_s=60, poll_s=0.2) and proc.poll() is None, (tmp_path / "serve.log").read_text()
    yield base
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
    sys.stderr.write((tmp_path / "serve.log").read_text(errors="replace")[-6000:])  # shown when a test fails


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/install-system-deps installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: HPHOST_SCREENSHOTS (docs/screenshots, committed), else the test's folder."""
    folder = Path(os.environ.get("HPHOST_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
