"""Whether a column's engine type can hold a property, nested types included: array ``items`` against
the list's element type, an object's ``properties`` against the struct's members, and binary physical
types (Data Contract Specification ``bytes``) against BLOB."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from quanta.spec.contract import SchemaProperty

BINARY = frozenset({"bytes", "binary", "varbinary", "blob", "bytea"})
"""physicalType spellings of raw bytes: ODCS has no binary logicalType, so they ride on ``string``."""
_BINARY_COLUMNS = ("BLOB", "BYTEA", "BINARY", "VARBINARY", "VARCHAR", "TEXT", "STRING")
# sqlglot's names for DuckDB types that Quanta's type table spells the DuckDB way
_DUCKDB_NAMES = {"INT": "INTEGER", "TEXT": "VARCHAR", "INT128": "HUGEINT", "UINT128": "UHUGEINT"}


def type_problem(prop: SchemaProperty, engine_type: str, where: str = "") -> str | None:
    """Why a column of ``engine_type`` cannot hold ``prop``, or None when it can."""
    from quanta.contracts.execute import type_matches

    logical = prop.logical_type
    if logical is None:
        return None
    upper = engine_type.upper()
    if (prop.physical_type or "").lower() in BINARY:
        ok = upper.startswith(_BINARY_COLUMNS)
        return None if ok else f"{where}{engine_type} cannot hold {prop.physical_type}"
    fixed_size_array = logical == "array" and re.search(r"\[\d+\]$", upper) is not None  # DuckDB ARRAY
    if not fixed_size_array and not type_matches(logical, engine_type):
        return f"{where}{engine_type} cannot hold {logical}"
    if logical == "array" and prop.items is not None:
        element = _parts(engine_type).get("[]")
        return type_problem(prop.items, element, f"{where}items: ") if element else None
    if logical == "object" and prop.properties and upper.startswith("STRUCT"):
        members = {name.lower(): kind for name, kind in _parts(engine_type).items()}
        for member in prop.properties:
            kind = members.get(member.column.lower())
            found = type_problem(member, kind, f"{where}{member.column}: ") if kind else None
            if found:
                return found
    return None


@cache
def _parts(engine_type: str) -> dict[str, str]:
    """A list's element type (under ``[]``) or a struct's member types, from DuckDB's type text."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        parsed = exp.DataType.build(engine_type, dialect="duckdb")
    except (SqlglotError, ValueError):  # a type sqlglot does not know: nothing nested to compare
        return {}
    if parsed.this == exp.DataType.Type.ARRAY and parsed.expressions:
        return {"[]": _text(parsed.expressions[0])}
    if parsed.this == exp.DataType.Type.STRUCT:
        return {
            column.name: _text(column.args["kind"])
            for column in parsed.expressions
            if isinstance(column, exp.ColumnDef) and column.args.get("kind") is not None
        }
    return {}


def _text(data_type: Any) -> str:
    text = str(data_type.sql(dialect="duckdb"))
    return re.sub(r"^\w+", lambda m: _DUCKDB_NAMES.get(m.group(0), m.group(0)), text)
