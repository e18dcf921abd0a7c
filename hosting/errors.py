"""The one exception family of hphost.

Every refusal carries a stable ``code`` (never renamed: API clients and
dashboards match on it), a human ``message`` and ``where`` — the place of the
fault (entry path, line, field, stage...). Subclasses set ``code`` and use
their docstring as the message template, formatted with the keyword
arguments given at raise time.

``TransientError`` is retried (backoff, jitter, cap); ``PermanentError``
fails the job at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from config.errors import SettingError

Where = dict[str, Any]


class HphostError(Exception):
    """Something went wrong."""

    code: ClassVar[str] = "HPHOST_ERROR"
    transient: ClassVar[bool] = False

    def __init__(self, message: str | None = None, *, where: Where | None = None, **params: Any):
        template = message or (self.__doc__ or self.code).strip()
        try:
            self.message = template.format(**params)
        except (KeyError, IndexError, ValueError):
            self.message = template
        self.where: Where = dict(where or {})
        self.params = params
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "where": self.where or None}

    def __str__(self) -> str:
        if not self.where:
            return f"{self.code}: {self.message}"
        place = ", ".join(f"{k}={v}" for k, v in self.where.items())
        return f"{self.code}: {self.message} ({place})"


class TransientError(HphostError):
    """A temporary failure; the operation can be retried."""

    code = "TRANSIENT"
    transient = True


class PermanentError(HphostError):
    """A failure that retrying cannot fix."""

    code = "PERMANENT"


class TransientExhausted(PermanentError):
    """Gave up after {attempts} attempts: {last_code}."""

    code = "TRANSIENT_EXHAUSTED"


class NotFound(PermanentError):
    """{kind} {ident} does not exist."""

    code = "NOT_FOUND"


class Conflict(PermanentError):
    """The request conflicts with the current state."""

    code = "CONFLICT"


class InvalidInput(PermanentError):
    """Invalid value for {field}: {reason}."""

    code = "INVALID_INPUT"


class InvalidSetting(PermanentError):
    """The setting {setting} is invalid: {reason}."""

    code = "INVALID_SETTING"

    @classmethod
    def of(cls, refused: SettingError) -> InvalidSetting:
        """The settings' own refusal (``config`` raises no hphost error), with its code, message and place."""
        return cls(setting=refused.setting, reason=refused.reason, where=refused.where)


class StorageUnavailable(TransientError):
    """Object storage is unavailable ({operation} {key})."""

    code = "STORAGE_UNAVAILABLE"


class StorageError(PermanentError):
    """Object storage refused {operation} on {key}: {reason}."""

    code = "STORAGE_ERROR"


class DatabaseUnavailable(TransientError):
    """A database is unavailable: {reason}."""

    code = "DATABASE_UNAVAILABLE"
