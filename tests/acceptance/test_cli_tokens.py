"""hphost token create|list|revoke: printed once, listed without its secret, refused by the API once revoked."""

from __future__ import annotations

import json
import os

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from hosting.runtime import Runtime
from tests.acceptance.test_cli_jobs import hphost
from web.app import create_app

pytestmark = pytest.mark.timeout(300)
HOSTING = "123456789012"


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "HPHOST_HOME": str(tmp_path / "home")}


def test_a_token_is_shown_once_listed_without_its_secret_and_revoked(env, tmp_path):
    hphost(env, "hosting", "create", HOSTING)
    made = json.loads(hphost(env, "token", "create", "--hosting", HOSTING, "--role", "reader", "--json").stdout)
    assert made["role"] == "reader" and made["token"].startswith("hph_")
    listed = hphost(env, "token", "list", "--json").stdout
    assert made["id"] in listed and made["token"].split(".", 1)[1] not in listed
    with TestClient(create_app(Runtime(Settings(home=tmp_path / "home")))) as http:
        headers = {"Authorization": f"Bearer {made['token']}"}
        assert http.get("/v1/me", headers=headers).json()["hosting_number"] == HOSTING
        hphost(env, "token", "revoke", made["id"])
        assert http.get("/v1/me", headers=headers).status_code == 401


def test_a_token_needs_a_hosting_or_operator_and_a_known_role(env):
    hphost(env, "hosting", "create", HOSTING)
    for args in ((), ("--hosting", HOSTING, "--operator"), ("--hosting", HOSTING, "--role", "operator"),
                 ("--hosting", HOSTING, "--expires", "forever")):
        done = hphost(env, "token", "create", *args, "--json", check=False)
        assert done.returncode == 2 and json.loads(done.stdout)["code"] == "INVALID_INPUT", args
    assert json.loads(hphost(env, "token", "create", "--operator", "--json").stdout)["hosting_number"] is None
