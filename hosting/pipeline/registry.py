"""The stages: what each one runs, the marker that commits its output, and how to discard that output.

What a stage produces is known here only: the runner runs it, the failure cleanup
discards the failed stage's output, a retry restarts at the first stage whose
output is not committed, and fsck checks a served base's outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hosting.basedb.base import BaseDatabases
from hosting.db.models import Job
from hosting.jobs.kinds import BACKUPS_ROOT, EXPORTS_ROOT, RESTORES_ROOT
from hosting.pipeline.assign import assign
from hosting.pipeline.backup import backup
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.derive import derive
from hosting.pipeline.export import export
from hosting.pipeline.instantiate import instantiate
from hosting.pipeline.markers import DONE, PUBLISHED, UNPACKED
from hosting.pipeline.publish import publish
from hosting.pipeline.restore import decrypt
from hosting.pipeline.unpack import unpack
from hosting.store.base import ObjectStore

ESPACES_PREFIX = "espaces/"


@dataclass(frozen=True)
class PipelineStage:
    """A stage with no output of its own outside the control DB (its effects commit with the stage row)."""

    name: str
    run: Callable[[StageContext], StageOutcome]

    def committed(self, store: ObjectStore, basedbs: BaseDatabases, base_id: str) -> bool:
        """Whether the stage's output is whole (a retry may start after it)."""
        return False

    def discard(self, store: ObjectStore, basedbs: BaseDatabases, base_id: str) -> dict[str, Any]:
        """Remove what the stage made (whole or half-made); what was removed, for the audit row."""
        return {}


@dataclass(frozen=True)
class ObjectsStage(PipelineStage):
    """A stage whose output is objects under ``<root>/<id>/<under>``, committed by ``marker`` written last.

    ``id`` is the base id (the job id of a base job, the job's own id for the others: ``owner_id``)."""

    marker: str = ""
    under: str = ""
    root: str = "bases"

    def committed(self, store: ObjectStore, basedbs: BaseDatabases, base_id: str) -> bool:
        return store.head(f"{self.root}/{base_id}/{self.marker}") is not None

    def discard(self, store: ObjectStore, basedbs: BaseDatabases, base_id: str) -> dict[str, Any]:
        return {"objects": store.delete_prefix(f"{self.root}/{base_id}/{self.under}")}


@dataclass(frozen=True)
class BaseDbStage(PipelineStage):
    """A stage whose output is the base database, committed by its rename under its final name."""

    def committed(self, store: ObjectStore, basedbs: BaseDatabases, base_id: str) -> bool:
        return basedbs.exists(base_id)

    def discard(self, store: ObjectStore, basedbs: BaseDatabases, base_id: str) -> dict[str, Any]:
        return {"base_db": basedbs.drop(base_id)}


STAGES: dict[str, PipelineStage] = {stage.name: stage for stage in (
    ObjectsStage("unpack", unpack, marker=UNPACKED),
    BaseDbStage("instantiate", instantiate),
    ObjectsStage("publish", publish, marker=PUBLISHED, under=ESPACES_PREFIX),
    PipelineStage("assign", assign),
    ObjectsStage("export", export, marker=DONE, root=EXPORTS_ROOT),
    ObjectsStage("backup", backup, marker=DONE, root=BACKUPS_ROOT),
    ObjectsStage("decrypt", decrypt, marker=DONE, root=RESTORES_ROOT),
    ObjectsStage("derive", derive, marker=UNPACKED),
)}


def output_present(store: ObjectStore, basedbs: BaseDatabases) -> Callable[[Job, str], bool]:
    """Whether a job's stage left its whole output (a retry restarts after it): under its base, else its own id."""
    return lambda job, stage: STAGES[stage].committed(store, basedbs, job.base_id or job.id)
