"""Who is calling: ``Authorization: Bearer <token>`` to a ``Caller``, and the tenant wall every route keeps.

A caller with a hosting sees that hosting's plannings, jobs, uploads and audit only; anything else is
``404 NOT_FOUND`` exactly as if it did not exist (never 403: no existence oracle). The operator's token
(``hosting=None``) sees every hosting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hosting.tokens import Bearer, Role, Unauthenticated, authenticate
from web.deps import RuntimeDep
from web.problems import Problem

_bearer = HTTPBearer(auto_error=False, description="A service token (hphost token create) or a console session "
                                                   "(POST /v1/login).")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="hphost"'}


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request."""

    hosting: str | None  # the hosting number it is walled in; None: the operator (every hosting)
    role: Role
    actor: str  # token:<id> or console:<session id>: the audit rows' actor
    source: str | None  # the client's address (the proxy's X-Forwarded-For when trusted)
    token_id: str

    @property
    def may_write(self) -> bool:
        return self.role in (Role.WRITER, Role.OPERATOR)

    def sees(self, hosting_number: str | None) -> bool:
        return self.hosting is None or (hosting_number is not None and hosting_number == self.hosting)

    @classmethod
    def of(cls, bearer: Bearer, source: str | None) -> Caller:
        return cls(bearer.hosting_number, bearer.role, bearer.actor, source, bearer.token_id)


def source_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def caller(request: Request, rt: RuntimeDep,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """The request's caller; ``401 UNAUTHENTICATED`` without a valid bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthenticated()
    try:
        with rt.db.transaction() as session:  # its own short transaction: a stream must not hold one open
            bearer = authenticate(session, rt.token_key, credentials.credentials)
    except Unauthenticated:
        raise _unauthenticated() from None
    return Caller.of(bearer, source_of(request))


def writer(found: Annotated[Caller, Depends(caller)]) -> Caller:
    """A caller that may act (``writer`` or ``operator``); a reader's token is ``403 READ_ONLY_TOKEN``."""
    if not found.may_write:
        raise Problem(403, "READ_ONLY_TOKEN", "This token may only read; acting needs a writer token.",
                      where={"role": str(found.role)})
    return found


def operator(found: Annotated[Caller, Depends(caller)]) -> Caller:
    """The operator (every hosting); any other caller is ``403 OPERATOR_ONLY``."""
    if found.role is not Role.OPERATOR:
        raise Problem(403, "OPERATOR_ONLY", "Only the operator's token may do this.", where={"role": str(found.role)})
    return found


def _unauthenticated() -> Problem:
    return Problem(401, Unauthenticated.code, Unauthenticated().message, headers=_CHALLENGE)


CallerDep = Annotated[Caller, Depends(caller)]
WriterDep = Annotated[Caller, Depends(writer)]
OperatorDep = Annotated[Caller, Depends(operator)]
