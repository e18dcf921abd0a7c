"""schemathesis against the OpenAPI that a real ``hphost serve`` serves: no 5xx, no answer that breaks the
schema, route by route and in stateful sequences (links inferred from the schema and from ``Location``).

Bounded: ``HPHOST_SCHEMA_EXAMPLES`` examples a route (default 25) and as many stateful scenarios.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from hosting.runtime import Runtime
from hosting.tokens import Role, TokenKind, issue
from tests.support.api_server import ApiServer
from tests.support.hphost_stack import HOSTING, embedded_stack

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]
EXAMPLES = int(os.environ.get("HPHOST_SCHEMA_EXAMPLES", "25"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# An event stream lasts as long as its job (no worker here: forever); logging out would revoke the test's token.
SKIPPED = r"/events$|/logout$"
SETTINGS = hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                               suppress_health_check=list(hypothesis.HealthCheck))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("schema")
    stack = embedded_stack(home)
    stack.new_planning()
    rt = Runtime(stack.settings())
    with rt.db.transaction() as session:
        token = issue(session, rt.token_key, kind=TokenKind.SERVICE, hosting_number=HOSTING, role=Role.WRITER,
                      ttl=None, actor="test")[1]
    rt.db.dispose()
    with ApiServer(stack.env, home / "logs" / "serve.log") as server:
        yield server, {"Authorization": f"Bearer {token}"}
    stack.close()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def api_schema(served):
    server, _auth = served
    return schemathesis.openapi.from_url(f"{server.url}/v1/openapi.json").exclude(path_regex=SKIPPED)


def test_every_route_answers_within_its_schema(api_schema, served):
    server, auth = served
    failures, answered = {}, set()
    for found in api_schema.get_all_operations():
        operation = found.ok()

        @hypothesis.given(case=operation.as_strategy())
        @SETTINGS
        def route(case: Any) -> None:
            response = case.call_and_validate(base_url=server.url, headers=auth, checks=CHECKS, timeout=90)
            if response.status_code < 300:
                answered.add(case.operation.label)

        try:
            route()
        except Exception as failure:  # every route is tried; all failures are told together
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}: {failure}" for label, failure in failures.items())
    assert {"GET /v1/jobs", "GET /v1/plannings", "POST /v1/uploads"} <= answered  # the token works


def test_sequences_of_calls_answer_within_the_schema(api_schema, served):
    server, auth = served

    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        calls = 0

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            Workflow.calls += 1
            return {"base_url": server.url, "headers": auth, "timeout": 90}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=auth)

    Workflow.run(settings=hypothesis.settings(SETTINGS, stateful_step_count=8))
    assert Workflow.calls >= EXAMPLES  # links were found: sequences ran
