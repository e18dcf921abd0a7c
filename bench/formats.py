"""How fast ``HhypReader.check`` is next to a bare read of the same archive, and how much memory each takes.

    .venv/bin/python bench/formats.py [--preset university] [--students N] [--scales 1,4] [--repeat 3]
                                      [--fixed-annexes] [--entries N] [--json]

For each scale it generates the sample in a temporary directory, then runs,
each in its own subprocess (so peak RSS is the run's own):

* ``raw``: every entry read with zipfile and hashed with SHA-256, nothing checked;
* ``parse``: the same, and every line of ``base/*.jsonl`` parsed by msgspec
  (each row's values skipped as raw JSON), nothing checked: a reference
  point, the least any checker that parses the rows with msgspec must spend;
* ``check``: ``HhypReader(path).check()``, every rule of FORMATS.md; it also
  counts the batches of rows the native scanner proved valid (``_rowscan.c``)
  and those it left to the Python paths (a valid sample should leave none);
* ``check, Python paths only``: the same with the native scanner turned off,
  as on a machine that could not build it.

Throughput is uncompressed bytes per second; the ratio is check / raw (and
parse / raw, the best ratio a msgspec-based checker could reach in one thread).

Each run's CPU seconds are printed too (every thread's, and for ``check`` its
main thread's: the read-ahead thread inflates and hashes beside it). They give
the *ceiling*: the best check / raw ratio this machine's cores allow for that
much CPU work, however well it overlaps, ``raw_s / max(check_cpu / cores,
check_main_cpu)``. A ratio below the ceiling is lost overlap; the ceiling
itself moves only by spending less CPU.

``--entries N`` also measures an archive of N tiny entries with long names and
no table (the default limit is 200,000 entries): what a file within the
limits can cost in memory, which follows the number of entries, not the bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOSTING = "123456789012"


def measure_raw(path: str, *, parse: bool = False) -> dict[str, float]:
    import hashlib
    import zipfile

    import msgspec

    rows = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode_lines
    started, cpu, size = time.perf_counter(), time.process_time(), 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            digest, table, rest = hashlib.sha256(), parse and info.filename.endswith(".jsonl"), b""
            with archive.open(info) as entry:
                while block := entry.read(1 << 20):
                    digest.update(block)
                    size += len(block)
                    if table:
                        lines, rest = (rest + block).rpartition(b"\n")[::2]
                        rows(lines)
            if rest:
                rows(rest)
    return {"seconds": time.perf_counter() - started, "bytes": size, "cpu_s": time.process_time() - cpu}


def measure_check(path: str, *, native: bool = True) -> dict[str, float]:
    from hosting.formats.hhyp.reader import HhypReader
    from hosting.formats.rows import native as scanner
    from hosting.formats.rows import tables

    tables.NATIVE = native and scanner.AVAILABLE
    batches = {"accepted": 0, "refused": 0}
    scan = scanner.NativeRows.ids

    def counted(self: scanner.NativeRows, region: bytes) -> scanner.ScannedIds | None:
        result = scan(self, region)
        batches["refused" if result is None else "accepted"] += 1
        return result

    scanner.NativeRows.ids = counted  # type: ignore[method-assign]
    started, cpu, main_cpu = time.perf_counter(), time.process_time(), time.thread_time()
    with HhypReader(path, expected_hosting_number=HOSTING, tune_interpreter=True) as reader:  # as hhyp check
        summary = reader.check()
        manifest_bytes = reader.manifest.size_bytes
    return {"seconds": time.perf_counter() - started, "bytes": summary.bytes + manifest_bytes,
            "cpu_s": time.process_time() - cpu, "main_cpu_s": time.thread_time() - main_cpu,
            "native_accepted": batches["accepted"], "native_refused": batches["refused"]}


def in_subprocess(mode: str, path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--measure", mode, str(path)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def best_of(mode: str, path: Path, repeat: int) -> dict[str, float]:
    runs = [in_subprocess(mode, path) for _ in range(repeat)]
    fastest = min(runs, key=lambda run: run["seconds"])
    return {**fastest, "peak_rss_mb": max(run["peak_rss_mb"] for run in runs)}


def bench(preset: str, students: int | None, repeat: int, folder: Path, photos: int | None) -> dict[str, object]:
    from hphost_samples.generator import generate_sample

    path = folder / f"{preset}-{students or 'preset'}.HHYP"
    started = time.perf_counter()
    sample = generate_sample(path, hosting_number=HOSTING, preset=preset, students=students, photos=photos)
    generated_s = time.perf_counter() - started
    raw, parse, check, python = (best_of(mode, path, repeat) for mode in ("raw", "parse", "check", "check-python"))
    mbps = {name: run["bytes"] / run["seconds"] / 1e6 for name, run in (("raw", raw), ("parse", parse),
                                                                        ("check", check), ("python", python))}
    cores = len(os.sched_getaffinity(0))
    ceiling = raw["seconds"] / max(check["cpu_s"] / cores, check["main_cpu_s"])
    return {"preset": preset, "students": sample.rows["students"], "courses": sample.rows["courses"],
            "entries": sample.photos + sample.documents + len(sample.rows) + 1,
            "archive_mb": round(sample.hhyp_bytes / 1e6, 1), "uncompressed_mb": round(check["bytes"] / 1e6, 1),
            "generate_s": round(generated_s, 2),
            "raw_mb_s": round(mbps["raw"], 1), "parse_mb_s": round(mbps["parse"], 1),
            "check_mb_s": round(mbps["check"], 1),
            "ratio": round(mbps["check"] / mbps["raw"], 2), "parse_ratio": round(mbps["parse"] / mbps["raw"], 2),
            "raw_s": round(raw["seconds"], 3), "parse_s": round(parse["seconds"], 3),
            "check_s": round(check["seconds"], 3),
            "raw_cpu_s": round(raw["cpu_s"], 3), "parse_cpu_s": round(parse["cpu_s"], 3),
            "check_cpu_s": round(check["cpu_s"], 3), "check_main_cpu_s": round(check["main_cpu_s"], 3),
            "cores": cores, "ceiling": round(ceiling, 2),
            "raw_peak_rss_mb": round(raw["peak_rss_mb"], 1), "parse_peak_rss_mb": round(parse["peak_rss_mb"], 1),
            "check_peak_rss_mb": round(check["peak_rss_mb"], 1),
            "native_batches": check["native_accepted"], "native_refused": check["native_refused"],
            "python_mb_s": round(mbps["python"], 1), "python_s": round(python["seconds"], 3),
            "python_ratio": round(mbps["python"] / mbps["raw"], 2),
            "python_cpu_s": round(python["cpu_s"], 3), "python_peak_rss_mb": round(python["peak_rss_mb"], 1)}


def bench_entries(count: int, repeat: int, folder: Path) -> dict[str, object]:
    from hosting.formats.hhyp.writer import HhypWriter
    from hphost_samples.generator import SAMPLE_GRID

    path = folder / f"entries-{count}.HHYP"
    with HhypWriter(path, hosting_number=HOSTING, base_name="entries", time_grid=SAMPLE_GRID) as writer:
        for index in range(count):
            writer.add_file(f"annexes/documents/{index:07d}-a-document-name-of-typical-length.pdf", b"%PDF-1.4\n",
                            compress=False)
    raw, check = best_of("raw", path, repeat), best_of("check", path, repeat)
    return {"entries": count + 1, "archive_mb": round(path.stat().st_size / 1e6, 1),
            "raw_s": round(raw["seconds"], 3), "check_s": round(check["seconds"], 3),
            "raw_peak_rss_mb": round(raw["peak_rss_mb"], 1), "check_peak_rss_mb": round(check["peak_rss_mb"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="university", choices=("small", "school", "university"))
    parser.add_argument("--students", type=int, default=None, help="Students at scale 1 (default: the preset's).")
    parser.add_argument("--scales", default="1", help="Comma-separated multiples of the students, e.g. 1,4.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each measure; the fastest is kept.")
    parser.add_argument("--fixed-annexes", action="store_true",
                        help="Keep the preset's number of photos at every scale (rows grow, entries do not).")
    parser.add_argument("--entries", type=int, default=None,
                        help="Also measure an archive of this many tiny entries and no table (memory at the limit).")
    parser.add_argument("--json", action="store_true", help="One JSON object per scale.")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        mode, path = args.measure
        if mode.startswith("check"):
            result = measure_check(path, native=mode == "check")
        else:
            result = measure_raw(path, parse=mode == "parse")
        from bench.rss import peak_rss_mb

        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    from hphost_samples.generator import preset_shape

    shape = preset_shape(args.preset, args.students)
    photos = shape.photos if args.fixed_annexes else None
    with tempfile.TemporaryDirectory(prefix="hphost-bench-") as folder:
        for scale in (int(text) for text in args.scales.split(",")):
            report = bench(args.preset, shape.students * scale, args.repeat, Path(folder), photos)
            print(json.dumps(report) if args.json else _human(scale, report), flush=True)
        if args.entries:
            report = bench_entries(args.entries, args.repeat, Path(folder))
            print(json.dumps(report) if args.json else
                  f"{report['entries']:,} tiny entries, {report['archive_mb']} MB archive: "
                  f"raw {report['raw_s']:.3f} s, peak RSS {report['raw_peak_rss_mb']} MB; "
                  f"check {report['check_s']:.3f} s, peak RSS {report['check_peak_rss_mb']} MB", flush=True)


def _human(scale: int, report: dict[str, object]) -> str:
    return (f"{report['preset']} x{scale}: {report['students']:,} students, {report['courses']:,} courses, "
            f"{report['entries']:,} entries, "
            f"{report['archive_mb']} MB archive ({report['uncompressed_mb']} MB uncompressed), "
            f"generated in {report['generate_s']} s\n"
            f"  raw   (zipfile + sha256): {report['raw_mb_s']:8.1f} MB/s  {report['raw_s']:.3f} s  "
            f"CPU {report['raw_cpu_s']:.3f} s  peak RSS {report['raw_peak_rss_mb']} MB\n"
            f"  parse (raw + msgspec)   : {report['parse_mb_s']:8.1f} MB/s  {report['parse_s']:.3f} s  "
            f"CPU {report['parse_cpu_s']:.3f} s  peak RSS {report['parse_peak_rss_mb']} MB\n"
            f"  check (HhypReader)      : {report['check_mb_s']:8.1f} MB/s  {report['check_s']:.3f} s  "
            f"CPU {report['check_cpu_s']:.3f} s (main thread {report['check_main_cpu_s']:.3f} s)  "
            f"peak RSS {report['check_peak_rss_mb']} MB\n"
            f"  check, Python paths only: {report['python_mb_s']:8.1f} MB/s  {report['python_s']:.3f} s  "
            f"CPU {report['python_cpu_s']:.3f} s  peak RSS {report['python_peak_rss_mb']} MB  "
            f"(ratio {report['python_ratio']})\n"
            f"  native scanner: {report['native_batches']} batches proved valid, {report['native_refused']} read "
            f"again in Python\n"
            f"  ratio check/raw: {report['ratio']}  (parse/raw: {report['parse_ratio']}; "
            f"ceiling at this CPU cost on {report['cores']} cores: {report['ceiling']})")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
