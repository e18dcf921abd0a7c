"""The job kinds and their stages (each stage's queue is in config/celery.py)."""

from __future__ import annotations

# Where a job that is not a base job keeps its output: ``<root>/<job-id>/``.
EXPORTS_ROOT, BACKUPS_ROOT, RESTORES_ROOT = "exports", "backups", "restores"
RESTORE_STAGES = ("decrypt", "unpack", "instantiate", "publish", "assign")


def stages_of(kind: str, params: dict) -> tuple[str, ...]:
    """The stages a job of ``kind`` runs, in order."""
    if kind == "create_base":
        return ("instantiate", "publish")
    if kind == "load_base":
        tail = ("assign",) if params.get("profils_key") else ()
        return ("unpack", "instantiate", "publish", *tail)
    if kind == "assign_profils":
        return ("assign",)
    if kind in KIND_STAGES:
        return KIND_STAGES[kind]
    raise ValueError(f"unknown job kind {kind!r}")


# A base's life after its first day (docs/lifecycle.md).
KIND_STAGES = {
    "export_base": ("export",),
    "backup_base": ("backup",),
    "restore_base": RESTORE_STAGES,
    "change_grid": ("derive", "instantiate", "publish"),
}
JOB_KINDS = ("create_base", "load_base", "assign_profils", *KIND_STAGES)
BASE_KINDS = ("create_base", "load_base", "restore_base", "change_grid")
BASE_SOURCE = {"create_base": "empty", "load_base": "hhyp", "restore_base": "backup", "change_grid": "grid"}


def base_prefix(base_id: str) -> str:
    """Where every object of a base lives; deterministic from the job id."""
    return f"bases/{base_id}/"


def job_prefix(root: str, job_id: str) -> str:
    """Where a job's own output lives (an export, a backup, a decrypted backup)."""
    return f"{root}/{job_id}/"


RESTORED_INPUTS = {"hhyp_key": "base.HHYP", "profils_key": "users.profils"}


def input_key(kind: str, job_id: str, params: dict, name: str) -> str:
    """Where a stage reads its input: the upload named in ``params``, or a restore's decrypted backup."""
    if kind == "restore_base":
        return job_prefix(RESTORES_ROOT, job_id) + RESTORED_INPUTS[name]
    return params[name]
