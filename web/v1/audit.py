"""``GET /v1/audit/verify``: the operator walks the audit's hash chain (as ``hphost audit verify``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hosting.audit_chain import record_verification, verify
from web.auth import OperatorDep
from web.deps import RuntimeDep

router = APIRouter(tags=["audit"])


class ChainVerdict(BaseModel):
    ok: bool
    rows: int = Field(description="Rows of the chain walked.")
    before_chain: int = Field(description="Rows older than the chain (written before it existed).")
    broken_id: int | None = Field(description="The first row edited, deleted before, or inserted by hand.")
    reason: str | None


@router.get("/audit/verify", response_model=ChainVerdict)
def verify_chain(rt: RuntimeDep, caller: OperatorDep) -> dict[str, Any]:
    """Walk the whole chain in order and name its first broken row; the verification is itself audited."""
    with rt.db.transaction() as session:
        report = verify(session)
        record_verification(session, report, actor=caller.actor)
    return report.as_dict()
