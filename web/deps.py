"""What a route depends on: the process's runtime and one control-database session a request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hosting.runtime import Runtime, get_runtime


def runtime(request: Request) -> Runtime:
    """The application's runtime (``create_app(runtime=...)`` in tests; the process's otherwise)."""
    given = getattr(request.app.state, "runtime", None)
    return given if given is not None else get_runtime()


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def db_session(rt: RuntimeDep) -> Iterator[Session]:
    """A session in one transaction, committed when the route returns and rolled back when it raises."""
    with rt.db.transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]
