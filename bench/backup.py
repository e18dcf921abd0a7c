"""Backup and restore time of a base, as ratios to the load time of the same base in the same run.

    .venv/bin/python bench/backup.py [--preset university] [--students N] [--workers 1]

On the embedded stack (SQLite control DB and bases, local object store, filesystem broker) with real
``hphost worker`` processes: generates the sample (and its .profils), then times, from each job's
creation to its end as the control DB records them, ``load_base`` (with its .profils), ``backup_base``
(export, AES-GCM encryption, read back and checked) and ``restore_base`` (decrypt, unpack, instantiate,
publish, assign). Then exports the restored base and checks it is the sample byte for byte, and that the restored base
(the load of the backup's export) has the loaded base's rows and annexes. Goals (issue 22): backup ≤ 0.5×
the load, restore ≤ 1.1×.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.views import JobView
    from tests.support.hphost_stack import Stack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _seconds(stack: Stack, job_id: str) -> tuple[float, dict[str, float]]:
    """The job's seconds from creation to end, and each stage's from its (last) start to its end."""
    from sqlalchemy import select

    from hosting.db.models import Job, Stage

    with stack.client.rt.db.transaction() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.finished_at is not None
        stages = {s.name: round((s.finished_at - s.started_at).total_seconds(), 2) for s in session.scalars(
            select(Stage).where(Stage.job_id == job_id)) if s.started_at and s.finished_at}
        return (job.finished_at - job.created_at).total_seconds(), stages


def _wait(stack: Stack, job_id: str) -> JobView:
    """Until the job ends; SQLite may be locked a moment by a worker's long write: ask again."""
    from hosting.errors import DatabaseUnavailable

    while True:
        try:
            return stack.client.wait(job_id, timeout_s=3600, poll_s=1.0)
        except DatabaseUnavailable:
            time.sleep(1.0)


def _content(stack: Stack, base_id: str) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """Every row of the base and the SHA-256 of every annex."""
    rt = stack.client.rt
    rows = {table: list(rt.basedbs.rows(base_id, table)) for table in rt.basedbs.counts(base_id)}
    prefix = f"bases/{base_id}/annexes/"
    return rows, {info.key.removeprefix(prefix): hashlib.sha256(rt.store.get_bytes(info.key)).hexdigest()
                  for info in rt.store.list(prefix)}


def _run(stack: Stack, planning: str, sample: Path, profils: Path) -> dict[str, Any]:
    """Load, back up, restore (the restored base is the load of an export), export; times and checks."""
    times: dict[str, float] = {}
    ids: dict[str, str] = {}
    stages: dict[str, dict[str, float]] = {}
    for name, enqueue in (
        ("load", lambda: stack.client.enqueue("load_base", planning, hhyp=sample, profils=profils)),
        ("backup", lambda: stack.client.backup(planning)),
        ("restore", lambda: stack.client.restore(planning, ids["backup"])),
        ("export", lambda: stack.client.export_base(planning)),
    ):
        view = _wait(stack, enqueue().id)
        if view.state != "succeeded":
            raise SystemExit(f"{name} {view.state}: {view.error}")
        (times[name], stages[name]), ids[name] = _seconds(stack, view.id), view.id
    exported = sample.with_name("export.HHYP")
    stack.client.download_export(ids["export"], exported)
    loaded, restored = _content(stack, ids["load"]), _content(stack, ids["restore"])
    return {"load_s": round(times["load"], 2), "backup_s": round(times["backup"], 2),
            "restore_s": round(times["restore"], 2), "export_s": round(times["export"], 2),
            "backup_mb": round(sum(b["bytes"] for b in stack.client.backups(planning)) / 1e6, 1),
            "backup_ratio": round(times["backup"] / times["load"], 3),
            "restore_ratio": round(times["restore"] / times["load"], 3),
            "export_byte_for_byte": exported.read_bytes() == sample.read_bytes(),
            "restored_rows_and_annexes_identical": loaded == restored, "stages_s": stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="university")
    parser.add_argument("--students", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    from hphost_samples.generator import generate_sample
    from tests.support.hphost_stack import HOSTING, embedded_stack

    work = Path(tempfile.mkdtemp(prefix="hphost-bench-backup-"))
    sample, profils = work / "base.HHYP", work / "users.profils"
    generate_sample(sample, hosting_number=HOSTING, preset=args.preset, students=args.students, seed=1,
                    profils_path=profils)
    result: dict[str, Any] = {"preset": args.preset, "students": args.students,
                              "hhyp_mb": round(sample.stat().st_size / 1e6, 1)}
    stack = embedded_stack(work / "home")
    stack.env["HPHOST_LIMITS__MAX_ENTRIES"] = "200000"
    stack.env["HPHOST_LEASE_S"], stack.env["HPHOST_HEARTBEAT_S"] = "30", "5"
    try:
        stack.create_hosting(HOSTING)
        stack.start_workers(args.workers, concurrency=2)
        result.update(_run(stack, stack.new_planning(), sample, profils))
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))
    print(f"load {result['load_s']:.1f} s, backup {result['backup_s']:.1f} s ({result['backup_ratio']:.2f}x the "
          f"load, goal ≤ 0.5x), restore {result['restore_s']:.1f} s ({result['restore_ratio']:.2f}x, goal ≤ 1.1x)")


if __name__ == "__main__":
    main()
