"""The one error of the bottom layer: a setting refused by its name (never its value).

``config`` imports nothing of ours, so it cannot raise an hphost error; whoever reads the settings
first (the CLI, :func:`hosting.runtime.runtime`) turns it into ``INVALID_SETTING``
(:class:`hosting.errors.InvalidSetting`, same code, message and place).
"""

from __future__ import annotations


class SettingError(Exception):
    """The setting {setting} is invalid: {reason}."""

    code = "INVALID_SETTING"

    def __init__(self, setting: str, reason: str):
        self.setting = setting
        self.reason = reason
        self.where = {"setting": setting}
        super().__init__(f"{self.code}: The setting {setting} is invalid: {reason}. (setting={setting})")
