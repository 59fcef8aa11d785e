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
