"""The deployment files give a worker the grace config/celery.py counts on, and send SIGTERM to it alone."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import yaml

from config.celery import WORKER_STOP_GRACE_S
from config.settings import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"


def test_the_grace_covers_the_soft_shutdown_and_the_teardown() -> None:
    assert WORKER_STOP_GRACE_S >= Settings().worker_soft_shutdown_s + 15


def test_systemd_signals_the_main_process_and_waits_the_grace() -> None:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(DEPLOY / "systemd" / "hphost-worker@.service")
    service = unit["Service"]
    assert (service["KillMode"], service["KillSignal"]) == ("mixed", "SIGTERM")
    assert int(service["TimeoutStopSec"]) == WORKER_STOP_GRACE_S
    assert service["ExecStart"].split()[:2] == ["/opt/hphost/.venv/bin/hphost", "worker"]


def test_compose_workers_get_sigterm_and_the_grace() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name in ("worker-io", "worker-db"):
        service = compose["services"][name]
        assert service["command"][:2] == ["hphost", "worker"]
        assert (service["stop_signal"], service["stop_grace_period"]) == ("SIGTERM", f"{WORKER_STOP_GRACE_S}s")
        assert service["init"] is True


def test_the_api_is_a_service_of_its_own_behind_the_proxy() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    api = compose["services"]["api"]
    assert api["command"][:2] == ["hphost", "serve"] and "ports" not in api  # reached through the proxy only
    assert api["depends_on"]["setup"] == {"condition": "service_completed_successfully"}
    proxy = compose["services"]["proxy"]
    mounted = {volume.split(":")[0] for volume in proxy["volumes"]}
    assert {"./nginx/hphost.conf", "./nginx/upstream-compose.conf"} <= mounted
    for name in ("hphost.conf", "upstream-compose.conf"):
        assert (DEPLOY / "nginx" / name).is_file()
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(DEPLOY / "systemd" / "hphost-api@.service")
    assert unit["Service"]["ExecStart"].split()[:2] == ["/opt/hphost/.venv/bin/hphost", "serve"]
    assert "--port %i" in unit["Service"]["ExecStart"]


def test_the_proxy_takes_the_largest_upload_and_keeps_event_streams_open() -> None:
    conf = (DEPLOY / "nginx" / "hphost.conf").read_text()
    size = re.search(r"client_max_body_size (\d+)([kmg]?);", conf)
    assert size is not None
    unit = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[size.group(2)]
    assert int(size.group(1)) * unit >= Settings().upload_max_bytes
    assert "ssl_certificate " in conf and "listen 443 ssl" in conf
    events = conf[conf.index("/events$"):]
    events = events[: events.index("}")]
    assert "proxy_buffering off" in events and "proxy_read_timeout 1h" in events
    uploads = conf[conf.index("location = /v1/uploads"):]
    assert "proxy_request_buffering off" in uploads[: uploads.index("}")]
