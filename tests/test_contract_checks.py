"""The write-audit-publish gate's checks: one scan, metadata answers, hash fast path with exact fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.contracts import check_object
from quanta.engines import get_engine
from quanta.engines.base import Column
from quanta.spec.contract import Contract
from quanta.storage import Warehouse
from quanta.storage.types import sql_type

CONTRACT = Contract.model_validate(
    {
        "apiVersion": "v3.2.0",
        "kind": "DataContract",
        "id": "c",
        "version": "1.0.0",
        "status": "active",
        "schema": [
            {
                "name": "lines",
                "properties": [
                    {
                        "name": "order_id",
                        "logicalType": "integer",
                        "primaryKey": True,
                        "primaryKeyPosition": 1,
                    },
                    {"name": "line", "logicalType": "integer", "primaryKey": True, "primaryKeyPosition": 2},
                    {
                        "name": "qty",
                        "logicalType": "integer",
                        "required": True,
                        "logicalTypeOptions": {"minimum": 1, "maximum": 50},
                    },
                    {"name": "day", "logicalType": "date", "logicalTypeOptions": {"minimum": "1992-01-01"}},
                    {"name": "mode", "logicalType": "string", "enum": [{"value": "AIR"}, {"value": "SHIP"}]},
                    {"name": "contact", "logicalType": "string", "logicalTypeOptions": {"format": "email"}},
                ],
                "quality": [
                    {"metric": "rowCount", "mustBeGreaterThan": 2},
                    {
                        "metric": "duplicateValues",
                        "arguments": {"properties": ["order_id", "line"]},
                        "mustBe": 0,
                    },
                ],
            }
        ],
    }
)


def stage(tmp_path: Path, rows: str) -> tuple[Warehouse, int]:
    warehouse = Warehouse(f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "wh")
    obj = CONTRACT.objects[0]
    warehouse.ensure_table("x.lines", "lines", obj)
    fields = warehouse.table("x.lines", "lines").schema().fields
    columns = [Column(f.field_id, f.name, sql_type(f.field_type)) for f in fields]
    sql = f"select * from (values {rows}) as t(order_id, line, qty, day, mode, contact)"
    files = get_engine().write_parquet(sql, {}, columns, str(warehouse.data_dir("x.lines", "lines", "r")))
    return warehouse, warehouse.stage("x.lines", "lines", "r", files, append=False, properties={})


def run(
    warehouse: Warehouse, snapshot: int, *, metadata: bool = True
) -> dict[str, tuple[str, object, str | None]]:
    stats = warehouse.column_stats("x.lines", "lines", snapshot) if metadata else None
    result = check_object(
        CONTRACT, CONTRACT.objects[0], get_engine(), warehouse.scan("x.lines", "lines", snapshot), stats
    )
    return {c.name: (c.verdict, c.measured, c.message) for c in result.checks}


GOOD = (
    "(1, 1, 5, date '1995-01-01', 'AIR', 'a@b.org'), (1, 2, 7, date '1996-01-01', 'SHIP', null), "
    "(2, 1, 50, null, 'AIR', 'c@d.com')"
)
BAD = (
    "(1, 1, 0, date '1991-01-01', 'AIR', 'a@b.org'), (1, 1, null, date '1996-01-01', 'BOAT', 'nope'), "
    "(2, 1, 51, date '1993-01-01', 'AIR', null)"
)


def test_clean_data_passes_and_metadata_answers_null_and_range_checks(tmp_path: Path) -> None:
    warehouse, snapshot = stage(tmp_path, GOOD)
    checks = run(warehouse, snapshot)
    assert {name: verdict for name, (verdict, _, _) in checks.items()} == dict.fromkeys(checks, "passed")
    answered = {name for name, (_, _, message) in checks.items() if message == "answered from table metadata"}
    assert {"qty is required", "qty minimum 1", "qty maximum 50", "day minimum 1992-01-01"} <= answered
    assert "mode in enum" not in answered  # string values need the scan


@pytest.mark.parametrize("metadata", [True, False], ids=["with-metadata", "scan-only"])
def test_every_violation_is_counted(tmp_path: Path, metadata: bool) -> None:
    warehouse, snapshot = stage(tmp_path, BAD)
    checks = run(warehouse, snapshot, metadata=metadata)
    assert checks["qty is required"][:2] == ("failed", 1)
    assert checks["qty minimum 1"][:2] == ("failed", 1)
    assert checks["qty maximum 50"][:2] == ("failed", 1)
    assert checks["day minimum 1992-01-01"][:2] == ("failed", 1)
    assert checks["mode in enum"][:2] == ("failed", 1)
    assert checks["primary key (order_id, line) is unique"][:2] == ("failed", 1)
    assert checks["duplicateValues of lines"][:2] == ("failed", 1)
    assert checks["rowCount of lines"][:2] == ("passed", 3)
    assert checks["contact is a valid email"][:2] == ("failed", 1)


def test_integer_keys_with_known_bounds_are_counted_in_a_bitmap(tmp_path: Path) -> None:
    """Duplicate keys are counted in one bit per possible key when metadata bounds integer keys; the
    counts are those of the hash table's exact count, NULL key parts and triples included."""
    from quanta.contracts.aggregates import bounded_duplicates, compile_metrics

    rows = (
        "(1, 1, 5, null, 'AIR', null), (1, 1, 5, null, 'AIR', null), (1, 1, 5, null, 'AIR', null), "
        "(3, 2, 5, null, 'AIR', null), (3, 2, 5, null, 'AIR', null), (3, null, 5, null, 'AIR', null), "
        "(3, null, 5, null, 'AIR', null), (9, 7, 5, null, 'AIR', null)"
    )
    warehouse, snapshot = stage(tmp_path, rows)
    stats = warehouse.column_stats("x.lines", "lines", snapshot)
    [key] = [m for m in compile_metrics(CONTRACT.objects[0]) if m.kind == "primaryKey"]
    bitmap = bounded_duplicates(key, stats, {"order_id": "BIGINT", "line": "BIGINT"})
    assert "bitstring_agg" in bitmap.expression and bitmap.exact  # confirmed by the hash table
    with_bitmap, hashed = run(warehouse, snapshot), run(warehouse, snapshot, metadata=False)
    name = "primary key (order_id, line) is unique"
    assert with_bitmap[name][:2] == hashed[name][:2] == ("failed", 3)  # 2 extra (1, 1), 1 extra (3, 2)
    assert with_bitmap["duplicateValues of lines"][:2] == ("failed", 3)


def test_stale_bounds_never_hide_a_duplicate_nor_invent_one(tmp_path: Path) -> None:
    """Metadata bounds narrower than the data (stale) leave keys out of the bitmap: the exact count
    decides, so a duplicate outside the bounds is still found and clean data still passes."""
    from quanta.storage.scan import ColumnStats

    name = "primary key (order_id, line) is unique"
    for rows, expected in ((GOOD, ("passed", 0)), (GOOD + ", (2, 1, 5, null, 'AIR', null)", ("failed", 1))):
        warehouse, snapshot = stage(tmp_path / str(len(rows)), rows)
        stale = {"order_id": ColumnStats(3, 0, 1, 1), "line": ColumnStats(3, 0, 1, 1)}
        result = check_object(
            CONTRACT, CONTRACT.objects[0], get_engine(), warehouse.scan("x.lines", "lines", snapshot), stale
        )
        assert {c.name: (c.verdict, c.measured) for c in result.checks}[name] == expected


def test_keys_too_sparse_for_a_bitmap_keep_the_hash_table() -> None:
    from quanta.contracts.aggregates import bounded_duplicates, compile_metrics
    from quanta.storage.scan import ColumnStats

    [key] = [m for m in compile_metrics(CONTRACT.objects[0]) if m.kind == "primaryKey"]
    types = {"order_id": "BIGINT", "line": "INTEGER"}
    wide = {"order_id": ColumnStats(10, 0, 1, 10**12), "line": ColumnStats(10, 0, 1, 7)}
    assert bounded_duplicates(key, wide, types) is key
    sparse = {"order_id": ColumnStats(10, 0, 1, 10_000), "line": ColumnStats(10, 0, 1, 7)}  # 70,000 bits
    assert bounded_duplicates(key, sparse, types) is key  # more than 64 bits a row
    text = {"order_id": ColumnStats(10, 0, "a", "z"), "line": ColumnStats(10, 0, 1, 7)}
    assert bounded_duplicates(key, text, {**types, "order_id": "VARCHAR"}) is key
    dense = {"order_id": ColumnStats(10, 0, 1, 50), "line": ColumnStats(10, 0, 1, 7)}
    assert "bitstring_agg" in bounded_duplicates(key, dense, types).expression


@pytest.mark.parametrize("metadata", [True, False], ids=["bitmap", "hash"])
def test_a_duplicates_rule_with_a_filter_counts_only_the_rows_it_keeps(
    tmp_path: Path, metadata: bool
) -> None:
    """A ``filter`` on a duplicateValues rule scopes the count (it used to be named in the check but
    ignored): duplicates outside it pass, duplicates inside it fail, with the bitmap and the hash."""
    data = CONTRACT.model_dump(by_alias=True, exclude_none=True)
    data["schema"][0]["quality"] = [
        {
            "metric": "duplicateValues",
            "arguments": {"properties": ["order_id", "line"]},
            "mustBe": 0,
            "name": "recent lines are unique",
            "customProperties": [{"property": "filter", "value": "qty > 10"}],
        }
    ]
    scoped = Contract.model_validate(data)
    outside = "(1, 1, 5, null, 'AIR', null), (1, 1, 6, null, 'AIR', null), (2, 1, 50, null, 'AIR', null)"
    inside = outside + ", (2, 1, 40, null, 'AIR', null), (2, 2, 40, null, 'AIR', null)"
    for rows, expected in ((outside, ("passed", 0)), (inside, ("failed", 1))):
        warehouse, snapshot = stage(tmp_path / str(len(rows)), rows)
        stats = warehouse.column_stats("x.lines", "lines", snapshot) if metadata else None
        scan = warehouse.scan("x.lines", "lines", snapshot)
        result = check_object(scoped, scoped.objects[0], get_engine(), scan, stats)
        assert {c.name: (c.verdict, c.measured) for c in result.checks}["recent lines are unique"] == expected
