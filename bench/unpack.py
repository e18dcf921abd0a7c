"""Unpack throughput: hphost's verified unpack to S3 vs a bare boto3 upload of the same entries.

    .venv/bin/python bench/unpack.py [--students 25000]

Starts moto's S3 server on a port of its own, generates a university sample,
then in separate processes (so peak RSS is each one's own):
- raw: every entry read with zipfile and uploaded with boto3's upload_fileobj, no checks;
- hphost: HhypReader.stream (every FORMATS.md check, sizes, SHA-256, rows) into S3 as the unpack
  stage does it (ParallelPuts: small entries stored by a bounded pool, large ones streamed).
Prints MB/s of each, the ratio hphost/raw, and peak RSS. moto keeps objects in
memory and tops out near 100 MiB/s on loopback: the ratio is what to read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hosting.store.s3 import S3Store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HPHOST_TEST_MOTO_PORT", "25100")


def _store(endpoint: str, bucket: str) -> S3Store:
    from config.settings import Settings
    from hosting.store.s3 import S3Store

    return S3Store.from_settings(Settings(home=tempfile.gettempdir(), store_url=f"s3://{bucket}",
                                          s3_endpoint_url=endpoint, s3_access_key_id="bench",
                                          s3_secret_access_key="bench"))


def run_raw(path: str, endpoint: str, bucket: str) -> dict:
    store = _store(endpoint, bucket)
    started, total = time.perf_counter(), 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                store.client.upload_fileobj(member, bucket, f"raw/{info.filename}")
            total += info.file_size
    return {"seconds": time.perf_counter() - started, "bytes": total}


def run_hphost(path: str, endpoint: str, bucket: str) -> dict:
    from config.settings import Settings
    from hosting.formats.hhyp.reader import HhypReader
    from hosting.store.parallel import ParallelPuts

    store = _store(endpoint, bucket)
    workers = Settings(home=tempfile.gettempdir()).unpack_put_workers
    started = time.perf_counter()
    with HhypReader(path) as reader, ParallelPuts(store, workers=workers) as puts:  # as the unpack stage does
        summary = reader.stream(lambda key, stream, size: puts.put(f"ours/{key}", stream, size))
        puts.wait()
    return {"seconds": time.perf_counter() - started, "bytes": summary.bytes}


def child(kind: str, path: str, endpoint: str, bucket: str) -> None:
    result = (run_raw if kind == "raw" else run_hphost)(path, endpoint, bucket)
    from bench.rss import peak_rss_mb

    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=None)
    args = parser.parse_args()
    from hphost_samples.generator import generate_sample
    from tests.support.loopback import make_server

    work = Path(tempfile.mkdtemp(prefix="hphost-bench-unpack-"))
    sample = work / "university.HHYP"
    generate_sample(sample, hosting_number="123456789012", preset="university", students=args.students, seed=1)
    moto = make_server("moto", work)
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        _store(moto.url, bucket).ensure_bucket()
        results = {}
        for kind in ("raw", "hphost"):
            out = subprocess.run([sys.executable, __file__, "--child", kind, str(sample), moto.url, bucket],
                                 check=True, capture_output=True, text=True).stdout
            results[kind] = json.loads(out.strip().splitlines()[-1])
    finally:
        moto.stop()
    for kind, r in results.items():
        print(f"{kind:7} {r['bytes'] / r['seconds'] / 1e6:7.1f} MB/s  {r['seconds']:6.2f} s  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
    ratio = results["raw"]["seconds"] / results["hphost"]["seconds"]
    print(f"ratio hphost/raw throughput: {ratio:.2f}x  (archive {sample.stat().st_size / 1e6:.1f} MB, "
          f"{results['hphost']['bytes'] / 1e6:.1f} MB unpacked)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
