"""The job kinds and their stages (each stage's queue is in config/celery.py)."""

from __future__ import annotations


def stages_of(kind: str, params: dict) -> tuple[str, ...]:
    """The stages a job of ``kind`` runs, in order."""
    if kind == "create_base":
        return ("instantiate", "publish")
    if kind == "load_base":
        tail = ("assign",) if params.get("profils_key") else ()
        return ("unpack", "instantiate", "publish", *tail)
    if kind == "assign_profils":
        return ("assign",)
    raise ValueError(f"unknown job kind {kind!r}")


JOB_KINDS = ("create_base", "load_base", "assign_profils")
BASE_KINDS = ("create_base", "load_base")


def base_prefix(base_id: str) -> str:
    """Where every object of a base lives; deterministic from the job id."""
    return f"bases/{base_id}/"
