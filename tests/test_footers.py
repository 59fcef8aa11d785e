"""Parquet footers read with DuckDB give the values pyarrow did, so the same rules are proven from them."""

from __future__ import annotations

import struct
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from quanta.engines.base import FileScan, first_row_of
from quanta.engines.duckdb import DuckDBEngine
from quanta.engines.footers import file_stats


def test_bounds_are_typed_as_rules_compare_them(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    duckdb.sql(
        "copy (select i::tinyint as small, (i / 3)::float as f, (i / 3)::decimal(15, 2) as price,"
        " date '2020-01-01' + i::int as day, timestamp '2020-01-01' + i * interval 1 second as at,"
        " i::varchar as label, case when i % 2 = 0 then null else i end as sparse, {'x': i} as nested"
        f" from range(1, 50) t(i)) to '{path}' (row_group_size 10)"
    )
    engine = DuckDBEngine()
    stats = file_stats(FileScan([str(path)], "parquet", {}), engine)
    assert set(stats) == {"small", "f", "price", "day", "at", "label", "sparse"}
    assert (stats["small"].lower, stats["small"].upper) == (1, 49)
    float32 = struct.unpack("f", struct.pack("f", 1 / 3))[0]
    assert stats["f"].lower == float32 != 1 / 3  # the float32 value, as pyarrow gave it
    assert (stats["price"].lower, stats["price"].upper) == (Decimal("0.33"), Decimal("16.33"))
    assert (stats["day"].lower, stats["day"].upper) == (date(2020, 1, 2), date(2020, 2, 19))
    # Timestamps and strings never prove a bound: only their counts are known.
    assert (stats["at"].lower, stats["label"].upper, stats["label"].nulls) == (None, None, 0)
    assert (stats["sparse"].rows, stats["sparse"].nulls) == (49, 24)


def test_an_unreadable_footer_knows_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    assert file_stats(FileScan([str(bad)], "parquet", {}), DuckDBEngine()) == {}


def test_first_row_gives_what_arrow_gives() -> None:
    engine = DuckDBEngine()
    sql = (
        "select count(*) as n, sum(i) as total, max(i::decimal(9, 2)) as top,"
        " max(gen_random_uuid()) is not null as u, max(date '2020-01-01') as day from range(3) t(i)"
    )
    assert engine.first_row(sql, {}) == first_row_of(engine.query(sql, {}))
    assert engine.first_row("select sum(i) from range(3) t(i)", {}) == (
        Decimal(3),
    )  # HUGEINT, as Arrow has it
