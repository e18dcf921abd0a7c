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
