"""A job as the API shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Job:
    """A job as ``GET /v1/jobs/{id}`` shows it (``data`` is the whole answer)."""

    id: str
    kind: str
    planning_id: str
    state: str
    final: bool
    version: str
    error: dict[str, Any] | None
    stages: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Job:
        return cls(data["id"], data["kind"], data["planning_id"], data["state"], bool(data["final"]),
                   str(data.get("version", "")), data.get("error"), list(data.get("stages") or []), data)
