"""deploy/monitoring: the alert rules and every Grafana query pass promtool, and name metrics /metrics serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).parents[2] / "deploy" / "monitoring"
SERVED = {"hphost_jobs_total", "hphost_stage_duration_seconds_bucket", "hphost_queue_latency_seconds",
          "hphost_queue_depth", "hphost_stage_deliveries_total", "hphost_stage_retries_total",
          "hphost_lease_expiries_total", "hphost_stuck_stages", "hphost_audit_chain_ok",
          "hphost_audit_chain_verified_timestamp_seconds"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: scripts/install-system-deps installs Debian's prometheus")
    return found


def test_the_alert_rules_pass_promtool():
    done = subprocess.run([promtool(), "check", "rules", str(MONITORING / "alerts.yml")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    alerts = {r["alert"] for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    assert {"HphostStuckStage", "HphostQueueLatencyHigh", "HphostFailureRateHigh", "HphostAuditChainBroken"} <= alerts


def test_every_grafana_query_is_valid_promql_on_served_metrics(tmp_path):
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 8
    rules = {"groups": [{"name": "grafana", "rules": [{"record": f"hphost:panel{i}", "expr": e}
                                                        for i, e in enumerate(exprs)]}]}
    (tmp_path / "panels.yml").write_text(yaml.safe_dump(rules))
    done = subprocess.run([promtool(), "check", "rules", str(tmp_path / "panels.yml")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    named = {m for e in exprs for m in re.findall(r"hphost_[a-z_]+", e)}
    assert named <= SERVED and SERVED <= named | {"hphost_jobs_total"}


def test_the_prometheus_config_passes_promtool():
    done = subprocess.run([promtool(), "check", "config", str(MONITORING / "prometheus.yml")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
