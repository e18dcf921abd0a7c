"""A file is read only under its format's suffix: the samples of the independent writer, renamed, are refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hosting.formats.errors import FormatError
from hosting.formats.hhyp.reader import HhypReader
from hosting.formats.profils.file import read_profils

SAMPLES = Path(__file__).parents[2] / "samples"


@pytest.mark.parametrize(("sample", "renamed", "open_file", "code"), [
    ("small.HHYP", "base.zip", HhypReader, "HHYP_FILE_NAME"),
    ("small.profils", "users.json", read_profils, "PROFILS_FILE_NAME"),
])
def test_a_file_under_another_suffix_is_refused_naming_it(tmp_path, sample: str, renamed: str,
                                                          open_file: Callable[[Path], Any], code: str) -> None:
    path = tmp_path / renamed
    path.write_bytes((SAMPLES / sample).read_bytes())
    with pytest.raises(FormatError) as caught:
        open_file(path)
    assert (caught.value.code, caught.value.where) == (code, {"path": str(path)})
