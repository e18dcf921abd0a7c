"""Load → export → load on generated bases, through the real unpack and instantiate stages and the export
writer: the export of a file hphost's writer made is that file byte for byte, and loads back identical."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.settings import Settings
from hosting.basedb.sqlite import SqliteBases
from hosting.exporting import write_base_hhyp
from hosting.formats.hhyp.writer import HhypWriter
from hosting.jobs.lifecycle import Claim
from hosting.pipeline.context import StageContext
from hosting.pipeline.instantiate import instantiate
from hosting.pipeline.unpack import unpack
from hosting.store.local import LocalStore

HOSTING = "123456789012"
GRID: dict[str, Any] = {"first_monday": "2026-08-31", "weeks": 10, "working_days": ["mon", "tue", "wed"],
                        "day_start": "08:00", "sequences_per_day": 4, "sequence_minutes": 60, "steps_per_sequence": 2}
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)


@st.composite
def bases(draw: st.DrawFn) -> dict[str, Any]:
    """A valid base: a few rows per table with every optional field sometimes there, annexes, a grid."""
    ids = lambda prefix, n: [f"{prefix}{k}" for k in range(n)]  # noqa: E731
    subjects, teachers, rooms = ids("S", draw(st.integers(1, 4))), ids("T", draw(st.integers(1, 4))), ids("R", 3)
    groups = ids("G", draw(st.integers(1, 4)))
    annexes = {f"annexes/documents/d{k}.pdf": draw(st.binary(max_size=300)) for k in range(draw(st.integers(0, 3)))}
    stored = {path for path in annexes if draw(st.booleans())}
    docs = sorted(annexes)

    def maybe(row: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
        return {**row, name: value} if draw(st.booleans()) else row

    tables = {
        "subjects": [{"id": s, "code": draw(text), "name": draw(text)} for s in subjects],
        "teachers": [maybe({"id": t, "last_name": draw(text), "first_name": draw(text)}, "email", "t@x.fr")
                     for t in teachers],
        "rooms": [maybe({"id": r, "name": draw(text)}, "capacity", draw(st.integers(0, 500))) for r in rooms],
        "groups": [maybe({"id": g, "name": draw(text), "kind": "td"}, "parent", groups[0]) if k else
                   {"id": g, "name": draw(text), "kind": "promotion"} for k, g in enumerate(groups)],
        "students": [{"id": f"E{k}", "last_name": draw(text), "first_name": draw(text),
                      "groups": draw(st.lists(st.sampled_from(groups), max_size=2, unique=True))}
                     for k in range(draw(st.integers(0, 5)))],
        "courses": [_course(draw, k, subjects, teachers, rooms, groups, docs) for k in range(draw(st.integers(0, 8)))],
    }
    order = draw(st.permutations(list(tables)))
    return {"tables": {name: tables[name] for name in order}, "annexes": annexes, "stored": stored,
            "base_name": draw(text).replace("/", "-").replace("\\", "-")}


def _course(draw: Any, k: int, subjects: list[str], teachers: list[str], rooms: list[str],
            groups: list[str], docs: list[str]) -> dict[str, Any]:
    duration = draw(st.integers(1, 4))
    row: dict[str, Any] = {"id": f"C{k:03d}", "subject": draw(st.sampled_from(subjects)),
                           "teachers": draw(st.lists(st.sampled_from(teachers), max_size=2, unique=True)),
                           "groups": draw(st.lists(st.sampled_from(groups), max_size=2, unique=True)),
                           "rooms": draw(st.lists(st.sampled_from(rooms), max_size=1, unique=True)),
                           "duration_steps": duration}
    if draw(st.booleans()):
        row["placement"] = {"day": draw(st.sampled_from(GRID["working_days"])),
                            "start_step": draw(st.integers(0, 8 - duration)),
                            "weeks": draw(st.lists(st.integers(1, 10), min_size=1, max_size=4, unique=True))}
    if docs and draw(st.booleans()):
        row["documents"] = [draw(st.sampled_from(docs))]
    return row


def _write(path: Path, base: dict[str, Any]) -> None:
    with HhypWriter(path, hosting_number=HOSTING, base_name=base["base_name"], time_grid=GRID,
                    generated_at=dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)) as writer:
        for table, rows in base["tables"].items():
            writer.add_table(table, rows)
        for annex, data in base["annexes"].items():
            writer.add_file(annex, data, compress=annex not in base["stored"])


def _load(home: Path, hhyp: bytes, base_id: str) -> tuple[LocalStore, SqliteBases]:
    """The unpack and instantiate stages, run as a worker runs them (without the control database)."""
    store, basedbs = LocalStore(home / "objects"), SqliteBases(home / "bases")
    store.put_bytes(f"incoming/{base_id}.HHYP", hhyp)
    claim = Claim(job_id=base_id, stage="unpack", stage_id=1, owner="t", kind="load_base", planning_id="p",
                  hosting_number=HOSTING, base_id=base_id, params={"hhyp_key": f"incoming/{base_id}.HHYP"},
                  attempts=0, deliveries=1)
    ctx = StageContext(claim=claim, settings=Settings(home=home), db=None, store=store,  # type: ignore[arg-type]
                       basedbs=basedbs)
    unpack(ctx)
    instantiate(ctx)
    return store, basedbs


def _export(store: LocalStore, basedbs: SqliteBases, base_id: str) -> bytes:
    out = io.BytesIO()
    write_base_hhyp(out, store, basedbs, base_id, hosting_number=HOSTING)
    return out.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bases())
def test_load_export_load_is_identical_and_the_export_byte_for_byte(base: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        _write(home / "in.HHYP", base)
        original = (home / "in.HHYP").read_bytes()
        store, basedbs = _load(home, original, "first")
        exported = _export(store, basedbs, "first")
        assert exported == original
        store, basedbs = _load(home, exported, "second")
        for table in base["tables"]:
            assert list(basedbs.rows("second", table)) == list(basedbs.rows("first", table)) == base["tables"][table]
        for annex, data in base["annexes"].items():
            assert store.get_bytes(f"bases/second/{annex}") == data
