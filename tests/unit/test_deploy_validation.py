"""The deployment files pass their offline validators: kubernetes-validate (bundled schemas, strict), the
Compose Specification's JSON Schema, systemd-analyze verify (where installed); and say what hphost needs."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from config.celery import STAGE_QUEUES, WORKER_STOP_GRACE_S

DEPLOY = Path(__file__).parents[2] / "deploy"
KUBE = DEPLOY / "kubernetes"
K8S_VERSION = "1.30.0"  # the oldest minor still supported upstream when this was written


def manifests() -> list[dict[str, Any]]:
    return [doc for path in sorted(KUBE.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


@pytest.mark.parametrize("doc", manifests(), ids=lambda doc: f"{doc['kind']}/{doc['metadata']['name']}")
def test_each_kubernetes_manifest_passes_kubernetes_validate_strict(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kubernetes_validate_refuses_a_misspelt_field() -> None:
    doc = copy.deepcopy(by_kind("Deployment")["hphost-worker-io"])
    doc["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def _worker_queues(deployment: dict[str, Any]) -> list[str]:
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    return command[command.index("--queues") + 1].split(",")


def test_one_worker_deployment_per_queue_pool_covers_every_queue_once() -> None:
    workers = {name: d for name, d in by_kind("Deployment").items() if name.startswith("hphost-worker-")}
    queues = [queue for deployment in workers.values() for queue in _worker_queues(deployment)]
    assert sorted(queues) == sorted(STAGE_QUEUES)
    budgets = {tuple(sorted(budget["spec"]["selector"]["matchLabels"].items()))
               for budget in by_kind("PodDisruptionBudget").values()}
    for deployment in workers.values():
        assert tuple(sorted(deployment["spec"]["selector"]["matchLabels"].items())) in budgets


def test_workers_are_probed_without_the_broker_and_given_the_grace() -> None:
    alive_file = by_kind("ConfigMap")["hphost-config"]["data"]["HPHOST_WORKER_ALIVE_FILE"]
    for name, deployment in by_kind("Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
        if not name.startswith("hphost-worker-"):
            continue
        assert pod["terminationGracePeriodSeconds"] == WORKER_STOP_GRACE_S
        probe = " ".join(container["livenessProbe"]["exec"]["command"])
        assert alive_file in probe and "celery" not in probe and "inspect" not in probe


def test_the_api_serves_its_health_endpoint_behind_a_service() -> None:
    api = by_kind("Deployment")["hphost-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["command"] == ["hphost", "serve", "--host", "0.0.0.0", "--port", "8080"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/v1/health"
    assert by_kind("Service")["hphost-api"]["spec"]["selector"] == by_kind("Deployment")["hphost-api"]["spec"][
        "selector"]["matchLabels"]
    assert by_kind("Job")["hphost-setup-0-1-0"]["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "hphost", "setup"]


def test_s3_checksums_are_explicit_in_every_deployment_file() -> None:
    config = by_kind("ConfigMap")["hphost-config"]["data"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["x-hphost-env"]
    for env in (config, compose):
        assert env["HPHOST_S3_REQUEST_CHECKSUM_CALCULATION"] == "when_required"
        assert env["HPHOST_S3_RESPONSE_CHECKSUM_VALIDATION"] == "when_required"


def compose_validator() -> jsonschema.Draft7Validator:
    # The schema names draft-07 by a URL jsonschema does not know (no trailing '#'): say it here.
    return jsonschema.Draft7Validator(json.loads((Path(__file__).parent / "deploy_schemas" / "compose-spec.json")
                                                 .read_text()))


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    compose_validator().validate(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def test_the_compose_schema_refuses_a_misspelt_service_key() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    compose["services"]["worker-io"]["stop_grace"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        compose_validator().validate(compose)


def _verify(units: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True,
                          timeout=60)


def _units_installed_at(folder: Path) -> list[Path]:
    """The units, with the install path of hphost pointing at a stub in ``folder`` (verify checks it runs)."""
    stub = folder / "hphost"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        target = folder / unit.name.replace("@.service", "@io.service")
        target.write_text(unit.read_text().replace("/opt/hphost/.venv/bin/hphost", str(stub)))
        units.append(target)
    return units


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    units = _units_installed_at(tmp_path)
    result = _verify(units)
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")
    worker = next(unit for unit in units if unit.name.startswith("hphost-worker@"))
    worker.write_text(worker.read_text().replace("KillMode=", "KilMode="))
    assert "Unknown key 'KilMode'" in _verify([worker]).stderr
