"""The API on SQLite, in process: two hostings, each with a writer and a reader token, and the operator's."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from hosting.plannings import create_hosting
from hosting.runtime import Runtime
from hosting.tokens import Role, TokenKind, issue
from web.app import create_app

HOSTING_A, HOSTING_B = "100000000001", "200000000002"


@dataclass
class Api:
    http: TestClient
    rt: Runtime
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # "A:writer", "B:reader", "operator"

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def api(tmp_path, db):
    rt = Runtime(Settings(home=tmp_path, database_url=str(db.engine.url)))
    found = Api(TestClient(create_app(rt), raise_server_exceptions=False), rt)
    with rt.db.transaction() as session:
        for label, number in (("A", HOSTING_A), ("B", HOSTING_B)):
            found.passwords[label] = create_hosting(session, number, actor="test")
            for role in (Role.READER, Role.WRITER):
                token = issue(session, rt.token_key, kind=TokenKind.SERVICE, hosting_number=number, role=role,
                              ttl=None, actor="test")[1]
                found.tokens[f"{label}:{role}"] = token
        found.tokens["operator"] = issue(session, rt.token_key, kind=TokenKind.SERVICE, hosting_number=None,
                                         role=Role.OPERATOR, ttl=None, actor="test")[1]
    with found.http:
        yield found


GRID = {"first_monday": "2026-08-31", "weeks": 44, "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "day_start": "08:00", "sequences_per_day": 10, "sequence_minutes": 60, "steps_per_sequence": 4}


def upload(api, hosting_number: str, kind: str, data: bytes) -> str:
    """An upload through the uploads' domain service (what POST /v1/uploads does); its id."""
    from hosting.uploads import receive

    chunks = [data, b""]
    return receive(api.rt, hosting_number, kind, lambda: chunks.pop(0), actor="test").id


def make_planning(api, who: str, name: str, label: str) -> str:
    body = {"name": name, "controller_domain": f"ctl-{label}.example.org", "domain": f"www-{label}.example.org"}
    answer = api.http.post("/v1/plannings", json=body, headers=api.as_(who))
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]
