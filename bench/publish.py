"""Publish time: hphost's read-model build vs a raw pass over the same base, in the same run.

    .venv/bin/python bench/publish.py [--students 25000] [--keep DIR]

Builds the university sample's base (SQLite, the embedded default) straight from the generator's
rows, then in separate processes (so peak RSS is each one's own), against a local store:
- hphost: ``build_read_models``, what the publish stage does between its marker checks;
- raw: every course row of the base read (``SELECT data``, no parsing) and the same number of bytes
  written to the same store as one object.
Prints the seconds (wall and CPU: on a shared machine the CPU time is the steadier) of each, the
ratios hphost/raw, and each process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASE_ID = "bench"
_CHUNK = 1 << 20


def make_base(work: Path, students: int | None) -> None:
    from hosting.basedb.base import stored
    from hosting.basedb.sqlite import SqliteBases
    from hosting.timegrid import TimeGrid
    from hphost_samples.generator import SAMPLE_GRID, preset_shape
    from hphost_samples.institution import Institution

    institution = Institution(preset_shape("university", students), TimeGrid.from_dict(SAMPLE_GRID), 1)
    tables = [(t, getattr(institution, t)()) for t in ("subjects", "teachers", "rooms", "groups", "students",
                                                        "courses")]
    SqliteBases(work / "bases").build(BASE_ID, {"time_grid": SAMPLE_GRID, "base_name": "bench"}, stored(tables))


def run_hphost(work: Path) -> dict:
    from hosting.basedb.sqlite import SqliteBases
    from hosting.espaces import build_read_models
    from hosting.store.local import LocalStore

    store = LocalStore(work / "objects")
    started, cpu = time.perf_counter(), time.process_time()
    marker = build_read_models(SqliteBases(work / "bases"), BASE_ID, store)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    written = sum(info.size_bytes for info in store.list(f"bases/{BASE_ID}/espaces/"))
    return {"seconds": seconds, "cpu_seconds": cpu, "bytes": written,
            "courses": marker["espaces"]["secretariat"]["records"]}


def run_raw(work: Path, size: int) -> dict:
    from hosting.store.local import LocalStore

    store = LocalStore(work / "objects")
    started, cpu = time.perf_counter(), time.process_time()
    with sqlite3.connect(work / "bases" / f"{BASE_ID}.sqlite") as conn, tempfile.TemporaryFile() as out:
        read = sum(len(data) for (data,) in conn.execute('SELECT data FROM "courses" ORDER BY id'))
        block = b"x" * _CHUNK
        for left in range(size, 0, -_CHUNK):
            out.write(block[:min(left, _CHUNK)])
        out.seek(0)
        store.put_stream("raw/publish.bin", out, size)
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu, "bytes": size,
            "read": read}


def child(kind: str, work: str, size: str) -> None:
    from bench.rss import peak_rss_mb

    result = run_hphost(Path(work)) if kind == "hphost" else run_raw(Path(work), int(size))
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def _run_child(kind: str, work: Path, size: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(work), str(size)],
                         check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=None)
    parser.add_argument("--keep", default=None, help="work directory to use and keep (made if missing)")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="hphost-bench-publish-"))
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "bases" / f"{BASE_ID}.sqlite").exists():
        make_base(work, args.students)
    hphost = _run_child("hphost", work, 0)
    raw = _run_child("raw", work, hphost["bytes"])
    for kind, r in (("raw", raw), ("hphost", hphost)):
        print(f"{kind:7} {r['seconds']:6.2f} s  (CPU {r['cpu_seconds']:5.2f} s)  {r['bytes'] / 1e6:7.1f} MB written  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
    print(f"ratio hphost/raw time: {hphost['seconds'] / raw['seconds']:.2f}x, CPU "
          f"{hphost['cpu_seconds'] / raw['cpu_seconds']:.2f}x  ({hphost['courses']:,} courses)")
    if not args.keep:
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        os.environ.setdefault("PYTHONHASHSEED", "0")
        child(*sys.argv[2:5])
    else:
        main()
