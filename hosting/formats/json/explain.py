"""Naming the fault of a large document without asking jsonschema about every item of it.

jsonschema takes tens of microseconds an item (a 100,000-user ``.profils`` took 10 s to refuse one
login). The fault named is :func:`~hosting.formats.json.schema.first_fault`'s, the shallowest: within
a top-level array that says nothing of its items together, it lies in one item, found with compiled
types one level deeper at a time (:data:`BLOCK` items a pass), and jsonschema judges that item alone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from hosting.formats.json.compiled import NarrowedType, Narrowing, SchemaNotCompilable, part_type, resolved
from hosting.formats.json.schema import SchemaFault, fault_depth, first_fault, load_schema

BLOCK = 1024
_MAX_LEVELS = 16  # deeper than any schema of the formats (4): a guard against a recursive $ref
# What a top-level array may say and still be judged item by item: nothing of its items together.
_ITEM_BY_ITEM = {"type", "items", "maxItems", "title", "description"}


@dataclass(frozen=True)
class _Array:
    """A top-level array whose items explain() judges one by one."""

    key: str
    most: int | None  # maxItems: beyond it, the array is judged whole
    levels: tuple[NarrowedType, ...]  # levels[k]: at least as strict as the item's rules down to k levels below it


def explain(name: str, instance: Any) -> SchemaFault | None:
    """:func:`~hosting.formats.json.schema.first_fault` of ``instance``, jsonschema asked about a few items only."""
    kept: dict[str, list[int]] = {}
    if isinstance(instance, dict):
        for array in _arrays(name):
            items = instance.get(array.key)
            if isinstance(items, list) and (array.most is None or len(items) <= array.most):
                kept[array.key] = _first_of_shallowest(name, array, items)
    if kept:
        instance = {**instance, **{key: [instance[key][position] for position in kept[key]] for key in kept}}
    return first_fault(name, instance, kept=kept)


def _first_of_shallowest(name: str, array: _Array, items: list[Any]) -> list[int]:
    """The position of the item whose fault jsonschema names first among the array's; none when all are valid."""
    depths: dict[int, int | None] = {}
    for level, compiled in enumerate(array.levels):
        start = 0
        while (position := _first_refused(items, start, compiled)) is not None:
            if position not in depths:
                depths[position] = fault_depth(name, {array.key: [items[position]]}, (array.key, 0))
            depth = depths[position]
            if depth is not None and depth <= level:
                return [position]
            start = position + 1
    return []


def _first_refused(items: list[Any], start: int, compiled: NarrowedType) -> int | None:
    for block in range(start, len(items), BLOCK):
        end = min(block + BLOCK, len(items))
        if not compiled.proves_valid(items[block:end]):
            while end - block > 1:
                middle = (block + end) // 2
                block, end = (middle, end) if compiled.proves_valid(items[block:middle]) else (block, middle)
            return block
    return None


@cache
def _arrays(name: str) -> tuple[_Array, ...]:
    root = load_schema(name)
    arrays = []
    for key, sub in root.get("properties", {}).items():
        if sub.get("type") == "array" and "items" in sub and set(sub) <= _ITEM_BY_ITEM:
            item = resolved(root, sub["items"])
            levels = tuple(part_type(root, _cut(root, item, level), f"{name.title()}_{key}_{level}",
                                     Narrowing(lift_unique=True)) for level in range(_depth(root, item) + 1))
            arrays.append(_Array(key, sub.get("maxItems"), levels))
    return tuple(arrays)


def _cut(root: dict[str, Any], schema: dict[str, Any], levels: int) -> dict[str, Any]:
    """``schema`` without its rules more than ``levels`` below the one it judges (an array whose items
    must not repeat keeps them whole)."""
    schema = resolved(root, schema)
    if levels < 0:
        return {}
    cut = dict(schema)
    if isinstance(schema.get("properties"), dict):
        cut["properties"] = {key: _cut(root, sub, levels - 1) for key, sub in schema["properties"].items()}
    if isinstance(schema.get("additionalProperties"), dict):
        cut["additionalProperties"] = _cut(root, schema["additionalProperties"], levels - 1)
    if isinstance(schema.get("items"), dict) and not schema.get("uniqueItems"):
        cut["items"] = _cut(root, schema["items"], levels - 1)
    return cut


def _depth(root: dict[str, Any], schema: dict[str, Any], below: int = 0) -> int:
    """How many levels below the value it judges ``schema`` has rules."""
    if below > _MAX_LEVELS:
        raise SchemaNotCompilable(f"rules deeper than {_MAX_LEVELS} levels")
    schema = resolved(root, schema)
    children = list(schema.get("properties", {}).values())
    children += [schema[key] for key in ("additionalProperties", "items") if isinstance(schema.get(key), dict)]
    return max((1 + _depth(root, child, below + 1) for child in children), default=0)
