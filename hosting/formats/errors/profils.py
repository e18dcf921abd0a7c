"""Refusals of a ``.profils`` file, one class per rule; ``where`` names the field
(``users[3].login``). No message ever repeats a clear-text password."""

from __future__ import annotations

from hosting.formats.errors import FormatError


class ProfilsFileName(FormatError):
    """A .profils file's name must end in .profils (any case)."""

    code = "PROFILS_FILE_NAME"


class ProfilsTooLarge(FormatError):
    """The .profils file is larger than {limit} bytes."""

    code = "PROFILS_TOO_LARGE"


class ProfilsNotJson(FormatError):
    """The .profils file is not a UTF-8 JSON object: {reason}."""

    code = "PROFILS_NOT_JSON"


class ProfilsNulCharacter(FormatError):
    """The .profils file has the character U+0000 at {field}, which no database stores."""

    code = "PROFILS_NUL_CHARACTER"


class ProfilsTooDeep(FormatError):
    """The .profils file nests more than {limit} arrays or objects inside one another."""

    code = "PROFILS_TOO_DEEP"


class ProfilsUnsupportedVersion(FormatError):
    """This is a {format} version {version} file; only HYPERPLANNING-PROFILS version 1 is supported."""

    code = "PROFILS_UNSUPPORTED_VERSION"


class ProfilsInvalid(FormatError):
    """The .profils file breaks its schema: {reason}."""

    code = "PROFILS_INVALID"


class ProfilsUnknownField(FormatError):
    """Unknown field {name} (a sign of a newer format: refused, not ignored)."""

    code = "PROFILS_UNKNOWN_FIELD"


class ProfilsClearPassword(FormatError):
    """A user carries a clear-text password; only a password_hash is accepted (the value is not repeated)."""

    code = "PROFILS_CLEAR_PASSWORD"


class ProfilsUnsupportedHash(FormatError):
    """password_hash is not a scrypt$… or pbkdf2_sha256$… hash."""

    code = "PROFILS_UNSUPPORTED_HASH"


class ProfilsUnknownRight(FormatError):
    """Right {right} is not in the rights catalogue."""

    code = "PROFILS_UNKNOWN_RIGHT"


class ProfilsDuplicateLogin(FormatError):
    """Login {login} is already used by users[{first}] (logins are compared case-folded)."""

    code = "PROFILS_DUPLICATE_LOGIN"


class ProfilsDuplicateProfile(FormatError):
    """Profile {name} is already defined by profiles[{first}] (names are compared case-folded)."""

    code = "PROFILS_DUPLICATE_PROFILE"


class ProfilsUnknownProfile(FormatError):
    """The user is given profile {name}, which the file does not define."""

    code = "PROFILS_UNKNOWN_PROFILE"
