"""The process-wide settings the reader tunes are restored by the last user out, not the first."""

from __future__ import annotations

import gc
import sys

import pytest

from hosting.formats.speed import SWITCH_INTERVAL_S, YOUNG_THRESHOLD, ProcessWide, fewer_collections, read_ahead


def test_the_last_user_out_restores_the_saved_value() -> None:
    value = [1]
    setting = ProcessWide(lambda: value[0], lambda new: value.__setitem__(0, new), lambda saved: saved + 10)
    with setting.held():
        assert value == [11]
        with setting.held():
            assert value == [11]  # tuned from the saved value once, not again from the tuned one
        assert value == [11]
    assert value == [1]


def test_fewer_collections_raises_the_young_threshold_while_held() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
    assert gc.get_threshold() == before


def test_read_ahead_shortens_the_switch_interval_while_it_runs() -> None:
    before = sys.getswitchinterval()
    stream = read_ahead(iter([b"a", b"b"]))
    assert next(stream) == b"a"
    assert sys.getswitchinterval() == pytest.approx(min(SWITCH_INTERVAL_S, before))  # held in microseconds
    assert list(stream) == [b"b"]
    assert sys.getswitchinterval() == pytest.approx(before)
