"""The ASGI application's frame: problem+json refusals, request ids, OpenAPI; on SQLite, no server."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from config.settings import Settings
from hosting.errors import NotFound
from hosting.runtime import Runtime
from web.app import create_app
from web.problems import MEDIA_TYPE, Problem


@pytest.fixture
def client(tmp_path, db):
    settings = Settings(home=tmp_path, database_url=str(db.engine.url))
    app = create_app(Runtime(settings))
    probe = APIRouter()

    @probe.get("/probe/missing")
    def missing() -> None:
        raise NotFound(kind="planning", ident="x", where={"planning": "x"})

    @probe.get("/probe/locked")
    def locked() -> None:
        raise Problem(429, "LOGIN_LOCKED", "Too many failed logins.", headers={"Retry-After": "900"})

    @probe.get("/probe/crash")
    def crash() -> None:
        raise RuntimeError("SELECT password FROM secrets")

    @probe.get("/probe/number/{n}")
    def number(n: int) -> dict:
        return {"n": n}

    app.include_router(probe)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_answers_from_the_control_database(client):
    answer = client.get("/v1/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_a_domain_refusal_is_problem_json_with_its_code_and_place(client):
    answer = client.get("/probe/missing")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == MEDIA_TYPE
    body = answer.json()
    assert body["code"] == "NOT_FOUND" and body["type"] == "urn:hphost:error:NOT_FOUND"
    assert body["where"] == {"planning": "x"} and body["detail"] == "planning x does not exist."


def test_a_web_refusal_keeps_its_headers(client):
    answer = client.get("/probe/locked")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "900"
    assert answer.json()["code"] == "LOGIN_LOCKED"


def test_an_unexpected_error_is_500_without_its_message_and_with_the_request_id(client):
    answer = client.get("/probe/crash", headers={"X-Request-ID": "req-12345678"})
    assert answer.status_code == 500
    assert "SELECT" not in answer.text and "Traceback" not in answer.text
    assert answer.json()["request_id"] == "req-12345678" == answer.headers["x-request-id"]


def test_bad_parameters_and_unknown_routes_are_problems_too(client):
    bad = client.get("/probe/number/abc")
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_INPUT"
    assert bad.json()["where"] == {"field": "path.n"}
    unknown = client.get("/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["code"] == "NOT_FOUND"


def test_a_request_without_a_sane_id_gets_one(client):
    answer = client.get("/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(answer.headers["x-request-id"]) == 32


def test_openapi_is_served_under_v1(client):
    spec = client.get("/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1") and "/v1/health" in spec["paths"]
