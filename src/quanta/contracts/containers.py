"""Rules of arrays and objects: ``logicalTypeOptions`` items (minItems, maxItems, uniqueItems) and
properties (required keys, minProperties, maxProperties).

How an object is measured depends on how the data stores it: a STRUCT has the same keys in every row
(so a missing key fails every non-null row), a MAP or a JSON document has its own keys per row.
"""

from __future__ import annotations

from typing import Any

from quanta.contracts.aggregates import Metric, counting, lit, q
from quanta.spec.contract import SchemaProperty


def container_metrics(prop: SchemaProperty, engine_type: str | None) -> list[Metric]:
    """The item and property rules of an array or object column whose engine type is known."""
    options = prop.logical_type_options or {}
    if not options or engine_type is None:
        return []
    if prop.logical_type == "array":
        return _array_metrics(prop, options)
    if prop.logical_type in ("object", "map"):
        return _object_metrics(prop, options, engine_type)
    return []


def _array_metrics(prop: SchemaProperty, options: dict[str, Any]) -> list[Metric]:
    col, name = q(prop.column), prop.column
    out: list[Metric] = []
    for option, op in (("minItems", "<"), ("maxItems", ">")):
        if option in options:
            predicate = f"len({col}) {op} {int(options[option])}"
            out.append(counting(predicate, f"{name} {option} {options[option]}", "items", name))
    if options.get("uniqueItems") is True:
        # list_distinct drops NULLs: add one back when the list held any, as JSON Schema counts null once.
        distinct = f"len(list_distinct({col})) + (len({col}) > list_count({col}))::int"
        out.append(counting(f"{distinct} < len({col})", f"{name} items are unique", "items", name))
    return out


def _object_metrics(prop: SchemaProperty, options: dict[str, Any], kind: str) -> list[Metric]:
    col, name = q(prop.column), prop.column
    out: list[Metric] = []
    fields = struct_fields(kind) if kind.upper().startswith("STRUCT") else None
    for key in map(str, options.get("required") or []):
        if fields is not None:
            # A STRUCT without the key lacks it in every row; with it, the value must not be null.
            predicate = f"{col} is not null" + (f" and {col}[{lit(key)}] is null" if key in fields else "")
        elif kind.upper().startswith("MAP"):
            predicate = f"{col} is not null and not map_contains({col}, {lit(key)})"
        else:
            predicate = (
                f"{col} is not null and json_extract({col}::json, {lit('$.' + _json_key(key))}) is null"
            )
        out.append(counting(predicate, f"{name} has key {key}", "properties", name))
    size = (
        str(len(fields))
        if fields is not None
        else f"cardinality({col})"
        if kind.upper().startswith("MAP")
        else f"len(json_keys({col}::json))"
    )
    for option, op in (("minProperties", "<"), ("maxProperties", ">")):
        if option in options:
            predicate = f"{col} is not null and {size} {op} {int(options[option])}"
            out.append(counting(predicate, f"{name} {option} {options[option]}", "properties", name))
    return out


def _json_key(key: str) -> str:
    return '"' + key.replace('"', '\\"') + '"'


def struct_fields(kind: str) -> list[str]:
    """The field names of a DuckDB ``STRUCT(a INTEGER, "b c" VARCHAR, d STRUCT(...))`` type."""
    inner = kind[kind.index("(") + 1 : kind.rindex(")")]
    names: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(inner + ","):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(_field_name(inner[start:i].strip()))
            start = i + 1
    return [n for n in names if n]


def _field_name(part: str) -> str:
    if part.startswith('"'):
        end = part.index('"', 1)
        while part[end + 1 : end + 2] == '"':  # doubled quote inside a quoted name
            end = part.index('"', end + 2)
        return part[1:end].replace('""', '"')
    return part.split(" ", 1)[0]
