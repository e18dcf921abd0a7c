"""The native scanner is optional: missing or stale, the reader takes the Python paths, and says so."""

from __future__ import annotations

import logging
import re
import types
from pathlib import Path

import pytest

from hosting.formats.hhyp.reader import HhypReader
from hosting.formats.rows import native
from hphost_samples.generator import generate_sample

HOSTING = "123456789012"
SOURCE = Path(native.__file__).with_name("_rowscan.c")


def test_the_scanner_versions_of_the_c_file_and_of_native_py_agree() -> None:
    declared = re.search(r"^#define ROWSCAN_VERSION (\d+)$", SOURCE.read_text(), re.MULTILINE)
    assert declared is not None and int(declared[1]) == native.SCANNER_VERSION


@pytest.mark.parametrize("version", [None, native.SCANNER_VERSION - 1, native.SCANNER_VERSION + 1])
def test_a_module_built_from_another_rowscan_c_is_not_used(version: int | None) -> None:
    stale = types.ModuleType("hosting.formats.rows._rowscan")
    if version is not None:
        stale.VERSION = version  # type: ignore[attr-defined]
    assert native.unusable(stale) == (
        f"stale build: compiled from another _rowscan.c (version {version}, this hphost needs "
        f"{native.SCANNER_VERSION}); reinstall hphost")
    current = types.ModuleType("hosting.formats.rows._rowscan")
    current.VERSION = native.SCANNER_VERSION  # type: ignore[attr-defined]
    assert native.unusable(current) is None


class _RefusingScanner:
    """A scanner whose module was built from an older file: the plans of this hphost are not its own."""

    def __init__(self, *_args: object) -> None:
        raise ValueError("a plan node does not fit its kind")


def test_a_scanner_that_refuses_its_plan_leaves_the_file_to_the_python_paths(tmp_path, monkeypatch, caplog):
    path = tmp_path / "school.HHYP"
    generate_sample(path, hosting_number=HOSTING, preset="school", students=600, seed=4)
    with HhypReader(path, expected_hosting_number=HOSTING) as reader:
        expected = reader.check().to_dict()
    stale = types.ModuleType("hosting.formats.rows._rowscan")
    for name in ("OBJECT", "STRING", "MEMBER", "INT", "ARRAY", "EMAIL"):
        setattr(stale, name, getattr(native._rowscan, name) if native._rowscan else len(name))
    stale.Scanner = _RefusingScanner  # type: ignore[attr-defined]
    monkeypatch.setattr(native, "_rowscan", stale)
    monkeypatch.setattr(native, "AVAILABLE", True)
    monkeypatch.setattr(native, "UNAVAILABLE_REASON", None)
    monkeypatch.setattr("hosting.formats.rows.tables.NATIVE", True)
    with caplog.at_level(logging.WARNING, logger="hphost.formats.native"):
        with HhypReader(path, expected_hosting_number=HOSTING) as reader:
            assert reader.check().to_dict() == expected  # (before: the ValueError escaped)
    assert native.describe() == ("no: the compiled module refused a plan "
                                 "(ValueError: a plan node does not fit its kind)")
    assert [r.getMessage() for r in caplog.records] == [
        "native scanner not used: the compiled module refused a plan (ValueError: a plan node does not fit its "
        "kind); tables take the Python paths"]  # once, not once a table
