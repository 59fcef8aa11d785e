"""What the warehouse hands an engine to read a stored table: the planned files and their columns.

These live in storage (not engines) because storage produces them and may import only ``spec``;
engines import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """A column of a stored table as the engine must expose it: Iceberg field id, name and SQL type."""

    field_id: int
    name: str
    sql_type: str


@dataclass(frozen=True)
class ColumnStats:
    """What table metadata already knows about a column of a snapshot (None: not known)."""

    rows: int
    nulls: int | None
    lower: Any
    upper: Any


@dataclass(frozen=True)
class TableScan:
    """Parquet files planned from an Iceberg snapshot, read by field id so renamed columns stay right."""

    files: list[str]
    columns: list[Column]
