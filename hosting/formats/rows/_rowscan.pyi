# The native row scanner (_rowscan.c); hosting/formats/rows/native.py builds its plans.
from typing import Any

OBJECT: int
STRING: int
MEMBER: int
INT: int
ARRAY: int
EMAIL: int
VERSION: int

class Scanner:
    def __init__(self, plan: tuple[Any, ...], key: bytes, max_line_bytes: int,
                 sums: tuple[tuple[int, int], ...] = ...) -> None: ...
    def scan(self, region: bytes, /) -> tuple[list[str], bytes, bool] | None: ...
