"""Errors of the pipeline's own checks (the formats have theirs in hosting.formats)."""

from hosting.errors import PermanentError


class InputMissing(PermanentError):
    """The uploaded file {key} is not in object storage."""

    code = "INPUT_MISSING"


class BaseIntegrityError(PermanentError):
    """The instantiated base does not match its export: {detail}."""

    code = "BASE_INTEGRITY"
