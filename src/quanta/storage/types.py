"""Contract types ► Iceberg types ► engine SQL types."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from quanta.errors import QuantaError

if TYPE_CHECKING:
    from pyiceberg.types import IcebergType

    from quanta.spec.contract import SchemaProperty

_DECIMAL = re.compile(r"^\s*(?:decimal|numeric)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$", re.IGNORECASE)


class StorageError(QuantaError):
    """A table cannot be created, evolved, written or read as asked."""


def iceberg_type(prop: SchemaProperty) -> IcebergType:
    """The Iceberg type of a contract property: physicalType refines the logicalType."""
    from pyiceberg import types as t

    physical = (prop.physical_type or "").strip().lower()
    logical = prop.logical_type or _logical_from_physical(physical)
    if logical == "string":
        return t.StringType()
    if logical == "integer":
        return (
            t.IntegerType() if physical in ("int", "integer", "int4", "smallint", "tinyint") else t.LongType()
        )
    if logical == "number":
        match = _DECIMAL.match(physical)
        if match:
            return t.DecimalType(int(match[1]), int(match[2] or 0))
        return t.FloatType() if physical in ("float", "real", "float4") else t.DoubleType()
    if logical == "boolean":
        return t.BooleanType()
    if logical == "date":
        return t.DateType()
    if logical == "timestamp":
        return (
            t.TimestampType()
            if physical in ("timestamp", "timestamp_ntz", "datetime")
            else t.TimestamptzType()
        )
    if logical == "time":
        return t.TimeType()
    raise StorageError(
        f"column {prop.name!r}: logical type {logical!r} cannot be stored yet",
        hint="use string, integer, number, boolean, date, timestamp or time (nested types come later)",
    )


def _logical_from_physical(physical: str) -> str:
    if physical.startswith(("varchar", "char", "text", "string")):
        return "string"
    if physical in ("bigint", "int", "integer", "smallint", "tinyint", "int8", "int4"):
        return "integer"
    if _DECIMAL.match(physical) or physical in ("double", "float", "real", "numeric", "decimal"):
        return "number"
    if physical in ("bool", "boolean"):
        return "boolean"
    return physical or "string"


def sql_type(kind: IcebergType) -> str:
    """The DuckDB SQL type for an Iceberg type."""
    from pyiceberg import types as t

    simple: dict[type[IcebergType], str] = {
        t.StringType: "VARCHAR",
        t.LongType: "BIGINT",
        t.IntegerType: "INTEGER",
        t.DoubleType: "DOUBLE",
        t.FloatType: "FLOAT",
        t.BooleanType: "BOOLEAN",
        t.DateType: "DATE",
        t.TimestampType: "TIMESTAMP",
        t.TimestamptzType: "TIMESTAMPTZ",
        t.TimeType: "TIME",
    }
    if isinstance(kind, t.DecimalType):
        return f"DECIMAL({kind.precision},{kind.scale})"
    for cls, name in simple.items():
        if isinstance(kind, cls):
            return name
    raise StorageError(f"Iceberg type {kind} is not supported by the query engine yet")


def can_widen(old: IcebergType, new: IcebergType) -> bool:
    """Iceberg's allowed promotions: int ► long, float ► double, decimal(P,S) ► decimal(P',S) with P' > P."""
    from pyiceberg import types as t

    if isinstance(old, t.IntegerType) and isinstance(new, t.LongType):
        return True
    if isinstance(old, t.FloatType) and isinstance(new, t.DoubleType):
        return True
    return (
        isinstance(old, t.DecimalType)
        and isinstance(new, t.DecimalType)
        and old.scale == new.scale
        and new.precision > old.precision
    )
