"""What Parquet footers already know about plain files: row, null counts and min/max per column.

Contract checks on a file server use these the way they use Iceberg manifests for products: a rule that
the footers prove (no nulls, every value inside the bounds) needs no scan.
"""

from __future__ import annotations

from typing import Any

from quanta.engines.base import ColumnStats, FileScan

# Bounds are only trusted where ordering is the one SQL uses: numbers, decimals, dates, timestamps.
# (String min/max may be truncated, and byte order is not collation order.)
_ORDERED = ("INT", "DECIMAL", "DATE", "TIMESTAMP", "FLOAT", "DOUBLE", "TIME")


def file_stats(scan: FileScan) -> dict[str, ColumnStats]:
    """Column statistics summed over every row group of every file; empty when the scan is not plain
    Parquet (other formats, a cursor filter) or a footer cannot be read."""
    if scan.format != "parquet" or scan.where or not scan.files:
        return {}
    import pyarrow.parquet as pq

    merged: dict[str, list[Any]] = {}  # column ► [rows, nulls, lower, upper]
    total = 0
    try:
        for path in scan.files:
            meta = pq.read_metadata(path)
            total += meta.num_rows
            for group in range(meta.num_row_groups):
                row_group = meta.row_group(group)
                for index in range(row_group.num_columns):
                    chunk = row_group.column(index)
                    _merge(merged, chunk.path_in_schema, row_group.num_rows, chunk.statistics)
    except (OSError, ValueError):  # the scan itself will say what is wrong with the file
        return {}
    # A column some files lack reads as NULL there, which their footers cannot tell: not known.
    return {
        name: ColumnStats(*values[:4])
        for name, values in merged.items()
        if "." not in name and values[0] == total
    }


def _merge(merged: dict[str, list[Any]], name: str, rows: int, stats: Any) -> None:
    entry = merged.setdefault(name, [0, 0, None, None, True])  # rows, nulls, lower, upper, bounds known
    entry[0] += rows
    nulls = stats.null_count if stats is not None and stats.has_null_count else None
    entry[1] = None if nulls is None or entry[1] is None else entry[1] + nulls
    if rows == 0 or not entry[4]:
        return
    if stats is None or not stats.has_min_max or not _ordered(stats):
        entry[2] = entry[3] = None
        entry[4] = False
    elif entry[2] is None:
        entry[2], entry[3] = stats.min, stats.max
    else:
        entry[2], entry[3] = min(entry[2], stats.min), max(entry[3], stats.max)


def _ordered(stats: Any) -> bool:
    logical = str(stats.logical_type).upper()
    physical = str(stats.physical_type).upper()
    if "STRING" in logical or (
        physical in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY") and "DECIMAL" not in logical
    ):
        return False
    return any(kind in logical or kind in physical for kind in _ORDERED)
