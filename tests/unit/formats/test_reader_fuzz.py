"""Whatever a customer's file holds, the readers answer with a valid read or a FormatError, never a traceback.

Mutations land in the content (a table's lines, the manifest, a .profils) with the archive's checksums
made right again, so they reach the JSON and cross-row rules rather than stopping at the CRC. The
tokens include the ones that once crashed a reader: nesting past Python's recursion limit.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from hhyp_craft import HOSTING, Raw, base_tables, entry_named, hhyp_bytes, table_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hosting.formats.errors import FormatError
from hosting.formats.hhyp.reader import HhypReader
from hosting.formats.profils.file import read_profils

TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u0000", b"\\ud800", b"\n", b"\r", b" ", b"null",
          b"true", b"1e999", b"-0", b"4.0", b"18446744073709551616", b"\xff", b"\xc3", b"\x00", b'"id"',
          b'"parent"', b'"placement"', b'"weeks"', b"[]", b"{}", b'""', b"\xe2\x80\xae", b'"annexes/photos/a.png"']
# Past Python's recursion limit, and just past the formats' own (64): drawn as often as all the others.
NESTING = [b"[" * 3000, b'{"k":' * 1500, b"[" * 65 + b"]" * 65, b"[" * 3000 + b"]" * 3000, b"]" * 3000]
PROFILS = (Path(__file__).parents[2] / "samples" / "small.profils").read_bytes()

mutations = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(["put", "value", "cut", "copy"]),
                               st.sampled_from(NESTING) | st.sampled_from(TOKENS), st.integers(1, 200)),
                     min_size=1, max_size=3)


def mutated(data: bytes, changes: list[tuple[float, str, bytes, int]]) -> bytes:
    out = bytearray(data)
    for where, how, token, length in changes:
        at = int(where * len(out))
        if how == "put":
            out[at:at + length % 3] = token
        elif how == "value":  # where a value starts: past the tokenizer, into the parser
            colons = [index for index, byte in enumerate(out) if byte == ord(":")] or [at]
            at = colons[int(where * len(colons))] + 1
            out[at:at] = token
        elif how == "cut":
            del out[at:at + length]
        else:
            out[at:at] = out[int(where * at):int(where * at) + length]
    return bytes(out)


def read_or_refuse(check: Callable[[], object]) -> None:
    try:
        check()
    except FormatError as error:
        assert error.code and error.where, error


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.sampled_from(sorted(base_tables())), changes=mutations)
def test_a_mutated_table_is_read_or_refused(table: str, changes: list[tuple[float, str, bytes, int]]) -> None:
    data = hhyp_bytes(table_data={table: mutated(table_bytes(base_tables()[table]), changes)})

    def check() -> None:
        with HhypReader(io.BytesIO(data), expected_hosting_number=HOSTING) as reader:
            reader.check()
    read_or_refuse(check)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=mutations)
def test_a_mutated_manifest_is_read_or_refused(changes: list[tuple[float, str, bytes, int]]) -> None:
    def entries(raws: list[Raw]) -> None:
        manifest = entry_named(raws, "manifest.json")
        manifest.data = mutated(manifest.data, changes)
    data = hhyp_bytes(entries=entries)

    def check() -> None:
        with HhypReader(io.BytesIO(data), expected_hosting_number=HOSTING) as reader:
            reader.check()
    read_or_refuse(check)


@settings(max_examples=100, deadline=None)
@given(changes=mutations)
def test_a_mutated_profils_is_read_or_refused(changes: list[tuple[float, str, bytes, int]]) -> None:
    data = mutated(PROFILS, changes)
    read_or_refuse(lambda: read_profils(io.BytesIO(data)))


def test_the_unmutated_files_are_valid() -> None:
    with HhypReader(io.BytesIO(hhyp_bytes()), expected_hosting_number=HOSTING) as reader:
        reader.check()
    assert read_profils(io.BytesIO(PROFILS)).users
    assert json.loads(PROFILS)["format"] == "HYPERPLANNING-PROFILS"


# Where a type's range ends: 32, 53 (exact in a double), 63 and 64 bits.
EDGES = [2**31, 2**53, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**70, -(2**63) - 1, -1, 4.0, 1e308]
json_values = st.sampled_from(EDGES) | st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_manifest_with_any_value_in_any_field_is_read_or_refused(data: st.DataObject) -> None:
    # Values, not bytes: past the JSON parser, into the packing of entries (a size of 2**64 once overflowed it).
    def entries(raws: list[Raw]) -> None:
        manifest_entry = entry_named(raws, "manifest.json")
        manifest = json.loads(manifest_entry.data)
        for _ in range(data.draw(st.integers(1, 2))):
            entries = manifest.get("entries")
            targets = [manifest, manifest.get("time_grid"), *(entries if isinstance(entries, list) else ())]
            target = data.draw(st.sampled_from([part for part in targets if isinstance(part, dict)]))
            known = bool(target) and data.draw(st.integers(0, 3)) > 0  # mostly a field the reader knows
            key = data.draw(st.sampled_from(sorted(target)) if known else st.text(max_size=4))
            target[key] = data.draw(json_values)
        manifest_entry.data = json.dumps(manifest).encode()
    archive = hhyp_bytes(entries=entries)

    def check() -> None:
        with HhypReader(io.BytesIO(archive), expected_hosting_number=HOSTING) as reader:
            reader.check()
    read_or_refuse(check)
