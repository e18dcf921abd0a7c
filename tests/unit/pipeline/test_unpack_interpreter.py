"""A stage leaves the interpreter's process-wide settings alone: a worker's heartbeat threads share them."""

from __future__ import annotations

import gc
import sys
import threading
from pathlib import Path

import pytest

from config.settings import Settings
from hosting.formats.hhyp.reader import READ_AHEAD_FROM_BYTES, HhypReader
from hosting.formats.speed import YOUNG_THRESHOLD
from hosting.jobs.lifecycle import Claim
from hosting.pipeline.context import StageContext
from hosting.pipeline.unpack import unpack
from hosting.runtime import Runtime
from hphost_samples.generator import generate_sample

HOSTING = "123456789012"
Seen = set[tuple[float, tuple[int, ...]]]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "university.HHYP"
    generate_sample(path, hosting_number=HOSTING, preset="university", students=6000, seed=5)
    return path


def interpreter_settings() -> tuple[float, tuple[int, ...]]:
    return sys.getswitchinterval(), gc.get_threshold()


class Watch:
    """The settings as another thread of the process (a heartbeat) sees them, sampled until stopped."""

    def __init__(self) -> None:
        self.seen: Seen = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.0005):
            self.seen.add(interpreter_settings())

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_the_unpack_stage_never_changes_the_gc_threshold_or_the_switch_interval(sample, tmp_path):
    rt = Runtime(Settings(home=tmp_path / "home"))
    rt.store.put_bytes("incoming/u.HHYP", sample.read_bytes())
    claim = Claim(job_id="j1", stage="unpack", stage_id=1, owner="test:1", kind="load_base", planning_id="p1",
                  hosting_number=HOSTING, base_id="b1", params={"hhyp_key": "incoming/u.HHYP"},
                  attempts=0, deliveries=1)
    in_stage: Seen = set()
    ctx = StageContext(claim=claim, settings=rt.settings, db=rt.db, store=rt.store, basedbs=rt.basedbs,
                       progress=lambda done, total: in_stage.add(interpreter_settings()))
    before = interpreter_settings()
    with Watch() as watch:
        outcome = unpack(ctx)
    assert outcome.result["entries"] > 100 and not outcome.skipped
    assert in_stage == {before} and watch.seen == {before}


def test_hhyp_check_tunes_the_interpreter_while_it_reads_and_restores_it(sample):
    with HhypReader(sample) as reader:
        directory = reader._directory
        assert any(directory.entry(i).compressed_bytes >= READ_AHEAD_FROM_BYTES for i in range(len(directory)))
    before = interpreter_settings()
    with Watch() as watch, HhypReader(sample, tune_interpreter=True) as reader:
        reader.check()
    assert interpreter_settings() == before
    assert any(threshold[0] >= YOUNG_THRESHOLD for _, threshold in watch.seen)
    assert any(interval < before[0] for interval, _ in watch.seen)
