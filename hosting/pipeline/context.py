"""What a stage's domain function is given, and what it gives back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from config.settings import Settings
from hosting.basedb.base import BaseDatabases
from hosting.db.session import ControlDB
from hosting.errors import PermanentError
from hosting.jobs.lifecycle import Claim
from hosting.store.base import ObjectStore


class JobCancelled(PermanentError):
    """The job was cancelled by an operator."""

    code = "JOB_CANCELLED"


class LeaseLost(PermanentError):
    """This worker lost the stage's lease; another delivery owns it now."""

    code = "LEASE_LOST"


@dataclass
class StageContext:
    claim: Claim
    settings: Settings
    db: ControlDB
    store: ObjectStore
    basedbs: BaseDatabases
    # Set by the heartbeat thread; checked by the stage between units of work.
    cancelled: Callable[[], bool] = lambda: False
    lease_lost: Callable[[], bool] = lambda: False
    progress: Callable[[int, int], None] = lambda done, total: None

    def checkpoint(self) -> None:
        """Stop here if the job was cancelled or the stage was taken over."""
        if self.lease_lost():
            raise LeaseLost(where={"stage": self.claim.stage})
        if self.cancelled():
            raise JobCancelled(where={"job_id": self.claim.job_id})


@dataclass
class StageOutcome:
    """A stage's result. ``apply`` runs inside the transaction that records the
    stage as done, so control-DB effects and the stage's state commit together."""

    result: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False
    skip_reason: str | None = None
    apply: Callable[[Session], None] | None = None
