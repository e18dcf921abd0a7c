"""Settings read from the environment: the format limits, and a bad value refused by its name."""

from __future__ import annotations

import pytest

from config.settings import Settings, get_settings
from hosting.errors import InvalidSetting
from hosting.formats.limits import DEFAULT_LIMITS, GiB, Limits, MiB


def test_the_default_limits_are_those_of_formats_md() -> None:
    assert Settings().limits == DEFAULT_LIMITS == Limits(
        max_entries=200_000, max_total_bytes=20 * GiB, max_entry_bytes=2 * GiB, max_ratio=200,
        ratio_from_bytes=1 * MiB, max_manifest_bytes=64 * MiB, max_line_bytes=1 * MiB, max_name_bytes=255,
        max_profils_bytes=64 * MiB)


def test_each_limit_is_read_from_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPHOST_LIMITS__MAX_ENTRIES", "300000")
    monkeypatch.setenv("HPHOST_LIMITS__MAX_LINE_BYTES", "4194304")
    assert Settings().limits == Limits(max_entries=300_000, max_line_bytes=4 * MiB)


@pytest.mark.parametrize("value", [0, -1, True, 2.5])
def test_a_limit_is_a_whole_number_of_at_least_one(value: object) -> None:
    with pytest.raises(ValueError, match="max_ratio"):
        Limits(max_ratio=value)  # type: ignore[arg-type]


@pytest.fixture
def fresh_settings():
    get_settings.cache_clear()
    yield get_settings
    get_settings.cache_clear()


@pytest.mark.parametrize(("name", "value", "setting"), [
    ("HPHOST_LIMITS__MAX_RATIO", "many", "HPHOST_LIMITS__MAX_RATIO"),
    ("HPHOST_LIMITS__MAX_RATIO", "0", "HPHOST_LIMITS"),
    ("HPHOST_LEASE_S", "s3cr3t-value", "HPHOST_LEASE_S"),
])
def test_a_bad_setting_is_refused_by_its_name_never_its_value(fresh_settings, monkeypatch: pytest.MonkeyPatch,
                                                               name: str, value: str, setting: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidSetting) as refused:
        fresh_settings()
    assert refused.value.where == {"setting": setting}
    assert value not in str(refused.value)
