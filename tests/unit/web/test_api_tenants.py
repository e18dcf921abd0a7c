"""The tenant wall, every route: hosting A's tokens on hosting B's resources get the answer of nothing at all.

Every route of /v1 with a resource in its path is in ``MATRIX`` (a test fails for a route that is not); each
answers A exactly as it answers an id that never existed (404 NOT_FOUND), B's resources stay untouched, and
A's lists show none of B's. The operator's token sees both.
"""

from __future__ import annotations

import re
import uuid

import pytest

from hosting.db.models import SealedSecret
from hosting.sealing import Sealer, secret_key
from tests.unit.web.conftest import GRID, HOSTING_A, HOSTING_B, make_planning, upload

# (method, route) -> JSON body (None: none); {planning}, {job}, {upload} are B's or a fresh id.
MATRIX: dict[tuple[str, str], dict | None] = {
    ("GET", "/v1/plannings/{planning_id}"): None,
    ("PATCH", "/v1/plannings/{planning_id}"): {"name": "taken over"},
    ("GET", "/v1/plannings/{planning_id}/base"): None,
    ("POST", "/v1/plannings/{planning_id}/jobs"): {"kind": "create_base", "grid": GRID},
    ("GET", "/v1/jobs/{job_id}"): None,
    ("GET", "/v1/jobs/{job_id}/audit"): None,
    ("GET", "/v1/jobs/{job_id}/events"): None,
    ("POST", "/v1/jobs/{job_id}/cancel"): None,
    ("POST", "/v1/jobs/{job_id}/retry"): None,
    ("POST", "/v1/jobs/{job_id}/credentials"): None,
    ("GET", "/v1/uploads/{upload_id}"): None,
    ("DELETE", "/v1/uploads/{upload_id}"): None,
    ("POST", "/v1/uploads/{upload_id}/complete"): None,
    ("POST", "/v1/uploads/{upload_id}/check"): None,
}
_PARAM = re.compile(r"\{(\w+)\}")


@pytest.fixture
def hosting_b(api):
    """B's planning, a finished job of it with a sealed credential, and an upload."""
    planning_id = make_planning(api, "B:writer", "Secret B", "secret-b")
    job = api.http.post(f"/v1/plannings/{planning_id}/jobs", json={"kind": "create_base", "grid": GRID},
                        headers=api.as_("B:writer")).json()
    api.http.post(f"/v1/jobs/{job['id']}/cancel", headers=api.as_("B:writer"))
    with api.rt.db.transaction() as session:
        session.add(SealedSecret(job_id=job["id"], hosting_number=HOSTING_B, subject="user:b",
                                 sealed=Sealer(secret_key(api.rt.settings)).seal("pw-of-b")))
    return {"planning_id": planning_id, "job_id": job["id"], "upload_id": upload(api, HOSTING_B, "hhyp", b"PK")}


def _api_routes(api) -> set[tuple[str, str]]:
    """Every (method, path) of the served OpenAPI that names a resource (FastAPI nests included routers)."""
    paths = api.http.app.openapi()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() if _PARAM.search(path)
            for method in operations}


def test_every_route_with_a_resource_is_in_the_matrix(api):
    routes = _api_routes(api)
    assert len(routes) >= len(MATRIX) and sorted(routes - set(MATRIX)) == []


def _call(api, who, method, route, ids, body):
    path = _PARAM.sub(lambda m: ids[m[1]], route)
    return api.http.request(method, path, json=body, headers=api.as_(who))


def _shape(answer, ids) -> tuple[int, str]:
    text = answer.text
    for ident in ids.values():
        text = text.replace(ident, "<id>")
    return answer.status_code, re.sub(r'"request_id":"[0-9a-f]+"', "", text)


@pytest.mark.parametrize(("method", "route"), sorted(MATRIX))
def test_another_hosting_s_resource_answers_as_nothing_at_all(api, hosting_b, method, route):
    body = MATRIX[(method, route)]
    nothing = {name: uuid.uuid4().hex for name in hosting_b}
    for who in ("A:writer", "A:reader") if method == "GET" else ("A:writer",):
        theirs = _call(api, who, method, route, hosting_b, body)
        assert theirs.status_code == 404 and theirs.json()["code"] == "NOT_FOUND", (who, theirs.text)
        assert _shape(theirs, hosting_b) == _shape(_call(api, who, method, route, nothing, body), nothing)
        for secret in ("Secret B", "secret-b", HOSTING_B, "pw-of-b"):
            assert secret not in theirs.text
    owner = _call(api, "operator" if method == "GET" else "B:reader", "GET", "/v1/jobs/{job_id}", hosting_b, None)
    assert owner.json()["state"] == "cancelled"  # untouched
    assert _call(api, "B:reader", "GET", "/v1/plannings/{planning_id}", hosting_b, None).json()["name"] == "Secret B"
    assert _call(api, "B:reader", "GET", "/v1/uploads/{upload_id}", hosting_b, None).status_code == 200


def test_lists_show_only_the_caller_s_hosting(api, hosting_b):
    mine = make_planning(api, "A:writer", "Mine", "mine")
    api.http.post(f"/v1/plannings/{mine}/jobs", json={"kind": "create_base", "grid": GRID}, headers=api.as_("A:writer"))
    for who in ("A:reader", "A:writer"):
        plannings = api.http.get("/v1/plannings", headers=api.as_(who)).json()["plannings"]
        assert [p["id"] for p in plannings] == [mine]
        assert api.http.get(f"/v1/plannings?hosting_number={HOSTING_B}", headers=api.as_(who)).json()["plannings"] == []
        jobs = api.http.get("/v1/jobs", headers=api.as_(who)).json()["jobs"]
        assert {j["hosting_number"] for j in jobs} == {HOSTING_A}
        filtered = api.http.get(f"/v1/jobs?planning_id={hosting_b['planning_id']}", headers=api.as_(who))
        assert filtered.json()["jobs"] == []
    everything = api.http.get("/v1/jobs", headers=api.as_("operator")).json()["jobs"]
    assert {j["hosting_number"] for j in everything} == {HOSTING_A, HOSTING_B}


def test_a_hosting_token_cannot_create_in_another_hosting(api):
    body = {"name": "x", "controller_domain": "c.example.net", "domain": "w.example.net", "hosting_number": HOSTING_B}
    answer = api.http.post("/v1/plannings", json=body, headers=api.as_("A:writer"))
    assert answer.status_code == 422 and answer.json()["where"] == {"field": "hosting_number"}
    by_operator = api.http.post("/v1/plannings", json=body, headers=api.as_("operator"))
    assert by_operator.status_code == 201 and by_operator.json()["hosting_number"] == HOSTING_B
