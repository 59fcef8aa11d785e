"""What Parquet footers already know about plain files: row, null counts and min/max per column.

Contract checks on a file server use these the way they use Iceberg manifests for products: a rule that
the footers prove (no nulls, every value inside the bounds) needs no scan. DuckDB reads the footers
(``parquet_metadata``), so testing a file does not pay for importing pyarrow.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from quanta.engines.base import ColumnStats, FileScan

if TYPE_CHECKING:
    from quanta.engines.duckdb import DuckDBEngine


def _float32(text: str) -> float:
    # pyarrow reads a FLOAT bound as the float32 value, not its shortest decimal spelling.
    value: float = struct.unpack("f", struct.pack("f", float(text)))[0]
    return value


# Bounds are only trusted where ordering is the one SQL uses and a rule's bound compares with them:
# numbers, decimals, dates. (String min/max may be truncated, and byte order is not collation order;
# times and timestamps never compare with a YAML bound.) DuckDB type ► how to read its footer text.
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UHUGEINT")
_READERS: dict[str, Callable[[str], Any]] = {
    **dict.fromkeys((*_INTEGERS, *(f"U{t}" for t in _INTEGERS[:4])), int),
    "FLOAT": _float32,
    "DOUBLE": float,
    "DECIMAL": Decimal,
    "DATE": date.fromisoformat,
}
_BYTES = ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY")


def file_stats(scan: FileScan, engine: DuckDBEngine | None = None) -> dict[str, ColumnStats]:
    """Column statistics summed over every row group of every file; empty when the scan is not plain
    Parquet (other formats, a cursor filter) or a footer cannot be read. ``engine``: whose database to
    read them with (a cursor on an open database is cheap, opening one is not)."""
    if scan.format != "parquet" or scan.where or not scan.files:
        return {}
    import duckdb

    merged: dict[str, list[Any]] = {}  # column ► [rows, nulls, lower, upper]
    try:
        with engine.connect() if engine else duckdb.connect() as connection:
            leaves = connection.execute(
                "select file_name, duckdb_type from parquet_schema(?) where type is not null"
                " order by file_name, column_id",
                [scan.files],
            ).fetchall()
            chunks = connection.execute(
                "select file_name, row_group_id, column_id, row_group_num_rows, path_in_schema, type,"
                " stats_null_count, stats_min_value, stats_max_value from parquet_metadata(?)"
                " order by file_name, row_group_id",
                [scan.files],
            ).fetchall()
    except duckdb.Error:  # the scan itself will say what is wrong with the file
        return {}
    types: dict[str, list[str]] = {}
    for file, duckdb_type in leaves:
        types.setdefault(file, []).append(duckdb_type)
    groups: dict[tuple[str, int], int] = {}
    for file, group, column, rows, name, physical, nulls, lower, upper in chunks:
        groups[file, group] = rows
        _merge(merged, name, rows, nulls, (lower, upper), _reader(types[file][column], physical))
    total = sum(groups.values())
    # A column some files lack reads as NULL there, which their footers cannot tell: not known.
    return {
        name: ColumnStats(*values[:4])
        for name, values in merged.items()
        if "." not in name and ", " not in name and values[0] == total
    }


def _reader(duckdb_type: str, physical: str) -> Callable[[str], Any] | None:
    kind = duckdb_type.split("(", maxsplit=1)[0]
    if physical in _BYTES and kind != "DECIMAL":
        return None
    return _READERS.get(kind)


def _merge(
    merged: dict[str, list[Any]],
    name: str,
    rows: int,
    nulls: int | None,
    bounds: tuple[str | None, str | None],
    reader: Callable[[str], Any] | None,
) -> None:
    entry = merged.setdefault(name, [0, 0, None, None, True])  # rows, nulls, lower, upper, bounds known
    entry[0] += rows
    entry[1] = None if nulls is None or entry[1] is None else entry[1] + nulls
    if rows == 0 or not entry[4]:
        return
    lower, upper = bounds
    try:
        low, high = (
            (reader(lower), reader(upper))
            if reader and lower is not None and upper is not None
            else (None, None)
        )
    except (ValueError, ArithmeticError):  # a value Python cannot spell (a date BC, say): not known
        low = high = None
    if low is None:
        entry[2] = entry[3] = None
        entry[4] = False
    elif entry[2] is None:
        entry[2], entry[3] = low, high
    else:
        entry[2], entry[3] = min(entry[2], low), max(entry[3], high)
