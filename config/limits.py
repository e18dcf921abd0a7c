"""The reader's limits: defaults from FORMATS.md, set by operators with ``HPHOST_LIMITS__<NAME>``
(:class:`config.settings.Settings`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Limits:
    """What an archive may cost at most; every limit has its own error code."""

    max_entries: int = 200_000
    max_total_bytes: int = 20 * GiB
    max_entry_bytes: int = 2 * GiB
    max_ratio: int = 200
    ratio_from_bytes: int = 1 * MiB
    max_manifest_bytes: int = 64 * MiB
    max_line_bytes: int = 1 * MiB
    max_name_bytes: int = 255
    max_profils_bytes: int = 64 * MiB

    def __post_init__(self) -> None:
        for limit in fields(self):
            value = getattr(self, limit.name)
            if type(value) is not int or value < 1:
                raise ValueError(f"{limit.name} must be a whole number of at least 1")


DEFAULT_LIMITS = Limits()
