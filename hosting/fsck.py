"""fsck: cross-check the control DB, object storage and the base databases.

Reports orphans (objects or base databases no live job accounts for) and
inconsistencies (a base in service whose data is missing, a stuck job...).
With ``repair``, orphans are removed; inconsistencies are only reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from hosting import uploads
from hosting.db.models import Backup, BaseRecord, Job, Planning, Publication, Stage
from hosting.espaces import missing_objects
from hosting.jobs.kinds import BACKUPS_ROOT, EXPORTS_ROOT, RESTORES_ROOT
from hosting.jobs.states import ACTIVE_JOB_STATES, BaseState, JobState, StageState
from hosting.pipeline.markers import PUBLISHED
from hosting.pipeline.registry import STAGES
from hosting.runtime import Runtime


@dataclass
class FsckReport:
    orphan_objects: list[str] = field(default_factory=list)
    orphan_base_dbs: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    repaired: int = 0

    @property
    def clean(self) -> bool:
        return not (self.orphan_objects or self.orphan_base_dbs or self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {"clean": self.clean, "orphan_objects": self.orphan_objects,
                "orphan_base_dbs": self.orphan_base_dbs, "problems": self.problems, "repaired": self.repaired}


def fsck(rt: Runtime, *, repair: bool = False) -> FsckReport:
    report = FsckReport()
    with rt.db.transaction() as session:
        jobs = {job.id: job for job in session.scalars(select(Job))}
        bases = {base.id: base for base in session.scalars(select(BaseRecord))}
        plannings = list(session.scalars(select(Planning)))
        running = list(session.scalars(select(Stage).where(Stage.state == StageState.RUNNING)))
        published = set(session.scalars(select(Publication.base_id)))
        queued_jobs = set(session.scalars(
            select(Stage.job_id).where(Stage.state.in_((StageState.QUEUED, StageState.RUNNING)))))
        upload_keys, upload_problems = uploads.live_keys(session)
        verified = set(session.scalars(select(Backup.id).where(Backup.state == "verified")))
    live_bases = {b.id for b in bases.values() if _keeps_outputs(b, jobs.get(b.job_id))}
    # A succeeded job's uploads are deleted by its worker, or by the sweeper once its worker died.
    inputs = {key for job in jobs.values()
              if job.discarded_at is None and (job.state != JobState.SUCCEEDED or job.cleaned_at is None)
              for key in (job.params.get("hhyp_key"), job.params.get("profils_key")) if key}
    _check_objects(rt, report, live_bases, inputs | upload_keys, _job_outputs(jobs, verified))
    report.problems.extend(upload_problems)
    report.orphan_base_dbs = sorted(set(rt.basedbs.list_ids()) - live_bases)
    _check_consistency(rt, report, jobs, bases, plannings, running, queued_jobs)
    _check_publications(rt, report, bases, published)
    if repair:
        for key in report.orphan_objects:
            rt.store.delete(key)
        for base_id in report.orphan_base_dbs:
            rt.basedbs.drop(base_id)
        report.repaired = len(report.orphan_objects) + len(report.orphan_base_dbs)
    return report


def _keeps_outputs(base: BaseRecord, job: Job | None) -> bool:
    """Outputs are accounted for while the base serves, may serve, or waits for a retry."""
    if job is None:
        return False
    if base.state in (BaseState.IN_SERVICE, BaseState.RETIRED, BaseState.READY):
        return True
    return job.discarded_at is None and job.state in (*ACTIVE_JOB_STATES, JobState.FAILED)


def _job_outputs(jobs: dict[str, Job], verified: set[str]) -> set[tuple[str, str]]:
    """``(root, job id)`` of the outputs kept: exports until discarded, verified backups and those a live
    backup job is making, a restore's clear copy until the restore is cleaned (docs/lifecycle.md)."""
    kept = {(BACKUPS_ROOT, ident) for ident in verified}
    for job in jobs.values():
        if job.discarded_at is not None:
            continue
        if job.kind == "export_base":
            kept.add((EXPORTS_ROOT, job.id))
        elif job.kind == "backup_base" and job.state != JobState.SUCCEEDED:
            kept.add((BACKUPS_ROOT, job.id))
        elif job.kind == "restore_base" and (job.state != JobState.SUCCEEDED or job.cleaned_at is None):
            kept.add((RESTORES_ROOT, job.id))
    return kept


def _check_objects(rt: Runtime, report: FsckReport, live_bases: set[str], inputs: set[str],
                   job_outputs: set[tuple[str, str]]) -> None:
    for info in rt.store.list(""):
        parts = info.key.split("/")
        if parts[0] == "bases" and len(parts) > 2 and parts[1] in live_bases:
            continue
        if len(parts) > 2 and (parts[0], parts[1]) in job_outputs:
            continue
        if parts[0] == "incoming" and info.key in inputs:
            continue
        report.orphan_objects.append(info.key)


def _check_publications(rt: Runtime, report: FsckReport, bases: dict[str, BaseRecord], published: set[str]) -> None:
    """A served base's publication names whole objects (the marker and every object and index it lists)."""
    for base in bases.values():
        if base.state == BaseState.IN_SERVICE and base.id in published:
            missing = missing_objects(rt.store, base.id, PUBLISHED)
            if missing:
                report.problems.append({"kind": "publication_objects_missing", "base_id": base.id, "keys": missing})


def _check_consistency(rt: Runtime, report: FsckReport, jobs: dict[str, Job], bases: dict[str, BaseRecord],
                       plannings: list[Planning], running: list[Stage], queued_jobs: set[str]) -> None:
    serving = {b.planning_id: b.id for b in bases.values() if b.state == BaseState.IN_SERVICE}
    for planning in plannings:
        if planning.current_base_id != serving.get(planning.id):
            report.problems.append({"kind": "current_base_mismatch", "planning_id": planning.id})
    for base in bases.values():
        if base.state != BaseState.IN_SERVICE:
            continue
        if not rt.basedbs.exists(base.id):
            report.problems.append({"kind": "base_db_missing", "base_id": base.id})
        if base.source in ("hhyp", "backup", "grid") and not STAGES["unpack"].committed(rt.store, rt.basedbs, base.id):
            report.problems.append({"kind": "base_objects_missing", "base_id": base.id})
    for job in jobs.values():
        if job.state in ACTIVE_JOB_STATES and job.id not in queued_jobs:
            report.problems.append({"kind": "job_stuck", "job_id": job.id, "state": job.state})
        if job.state == JobState.SUCCEEDED and job.base_id and bases[job.base_id].state not in (
                BaseState.IN_SERVICE, BaseState.RETIRED):
            report.problems.append({"kind": "succeeded_base_not_served", "job_id": job.id})
    for stage in running:
        if jobs[stage.job_id].state not in ACTIVE_JOB_STATES:
            report.problems.append({"kind": "stage_running_in_final_job", "job_id": stage.job_id,
                                    "stage": stage.name})
