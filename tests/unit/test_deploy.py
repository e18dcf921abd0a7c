"""The deployment files give a worker the grace config/celery.py counts on, and send SIGTERM to it alone."""

from __future__ import annotations

import configparser
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
