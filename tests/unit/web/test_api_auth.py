"""Bearer tokens and console login over HTTP: who may call, the lockout, and what the audit keeps."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hosting.db.models import ApiToken, AuditEvent
from hosting.tokens import Role, TokenKind, issue, revoke
from tests.unit.web.conftest import HOSTING_A, HOSTING_B

INVOICE = "1234567890"


def _login(api, number, password, invoice=None):
    body = {"hosting_number": number, "password": password} | ({"invoice_number": invoice} if invoice else {})
    return api.http.post("/v1/login", json=body)


def test_a_service_token_names_its_hosting_role_and_actor(api):
    answer = api.http.get("/v1/me", headers=api.as_("A:reader"))
    assert answer.status_code == 200
    assert answer.json()["hosting_number"] == HOSTING_A and answer.json()["role"] == "reader"
    assert answer.json()["actor"].startswith("token:")
    assert api.http.get("/v1/me", headers=api.as_("operator")).json()["hosting_number"] is None


def test_no_token_a_bad_one_an_expired_one_and_a_revoked_one_are_401(api):
    with api.rt.db.transaction() as session:
        expired = issue(session, api.rt.token_key, kind=TokenKind.SERVICE, hosting_number=HOSTING_A,
                        role=Role.WRITER, ttl=timedelta(seconds=-1), actor="test")[1]
        row, revoked = issue(session, api.rt.token_key, kind=TokenKind.SERVICE, hosting_number=HOSTING_A,
                             role=Role.WRITER, ttl=None, actor="test")
        revoke(session, row.id, actor="test")
    forged = api.tokens["A:writer"][:-4] + "AAAA"
    for headers in ({}, {"Authorization": "Basic eDp5"}, {"Authorization": f"Bearer {forged}"},
                    {"Authorization": f"Bearer {expired}"}, {"Authorization": f"Bearer {revoked}"}):
        answer = api.http.get("/v1/me", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["code"] == "UNAUTHENTICATED" and answer.headers["www-authenticate"].startswith("Bearer")


def test_only_a_hash_of_the_token_is_stored(api):
    with api.rt.db.transaction() as session:
        hashes = [row.secret_hash for row in session.scalars(select(ApiToken))]
    secrets = [token.split(".", 1)[1] for token in api.tokens.values()]
    assert hashes and not any(secret in stored for secret in secrets for stored in hashes)


def test_first_login_binds_the_invoice_then_logs_in_without_it(api):
    assert _login(api, HOSTING_A, api.passwords["A"]).status_code == 401  # unbound: the invoice is needed
    first = _login(api, HOSTING_A, api.passwords["A"], INVOICE)
    assert first.status_code == 200, first.text
    session_token = first.json()["token"]
    me = api.http.get("/v1/me", headers={"Authorization": f"Bearer {session_token}"}).json()
    assert me == {"hosting_number": HOSTING_A, "role": "writer", "actor": f"console:{first.json()['session_id']}"}
    assert _login(api, HOSTING_A, api.passwords["A"]).status_code == 200
    ended = api.http.post("/v1/logout", headers={"Authorization": f"Bearer {session_token}"})
    assert ended.status_code == 204
    assert api.http.get("/v1/me", headers={"Authorization": f"Bearer {session_token}"}).status_code == 401


def test_the_sixth_attempt_is_locked_even_with_the_right_password_and_every_attempt_is_audited(api):
    for _ in range(5):
        assert _login(api, HOSTING_B, "wrong password", INVOICE).json()["code"] == "BAD_CREDENTIALS"
    locked = _login(api, HOSTING_B, api.passwords["B"], INVOICE)
    assert locked.status_code == 429 and locked.json()["code"] == "LOGIN_LOCKED"
    assert int(locked.headers["retry-after"]) > 0
    with api.rt.db.transaction() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.hosting_number == HOSTING_B,
                                                             AuditEvent.action.like("security.%"))))
    assert [row.action for row in rows] == ["security.login_refused"] * 5 + ["security.login_locked"]
    assert all(row.data.get("source") == "testclient" and row.data.get("request_id") for row in rows)


def test_an_unknown_number_gets_the_same_answer_as_a_wrong_password(api):
    unknown = _login(api, "999999999999", "whatever", INVOICE)
    known = _login(api, HOSTING_A, "whatever", INVOICE)
    assert unknown.status_code == known.status_code == 401
    strip = ("instance", "request_id", "where")
    assert {k: v for k, v in unknown.json().items() if k not in strip} == \
        {k: v for k, v in known.json().items() if k not in strip}


def test_no_password_invoice_or_token_in_an_audit_row(api):
    _login(api, HOSTING_A, api.passwords["A"], INVOICE)
    _login(api, HOSTING_B, "wrong-password-xyz", "9999999999")
    with api.rt.db.transaction() as session:
        text = " ".join(f"{row.actor} {row.data}" for row in session.scalars(select(AuditEvent)))
    for secret in (api.passwords["A"], INVOICE, "wrong-password-xyz", "9999999999",
                   *[t.split(".", 1)[1] for t in api.tokens.values()]):
        assert secret not in text


def test_the_operator_verifies_the_audit_chain_over_http_and_sees_an_edited_row_named(api):
    from sqlalchemy import text

    for who in ("A:writer", "A:reader"):
        assert api.http.get("/v1/audit/verify", headers=api.as_(who)).json()["code"] == "OPERATOR_ONLY"
    intact = api.http.get("/v1/audit/verify", headers=api.as_("operator"))
    assert intact.status_code == 200 and intact.json()["ok"] is True and intact.json()["rows"] > 0
    with api.rt.db.transaction() as session:
        edited = session.scalar(select(AuditEvent.id).where(AuditEvent.chain_pos == 2))
        session.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE chain_pos = 2"))
    broken = api.http.get("/v1/audit/verify", headers=api.as_("operator")).json()
    assert broken["ok"] is False and broken["broken_id"] == edited and "edited" in broken["reason"]
    with api.rt.db.transaction() as session:
        verified = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.verified")
                                   .order_by(AuditEvent.id)).all()
    assert [row.actor.startswith("token:") for row in verified] == [True, True]
