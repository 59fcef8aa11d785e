"""Iceberg storage: tables from contracts, evolution by field id, reads that survive renames."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from quanta.engines import get_engine
from quanta.engines.base import Column
from quanta.spec.contract import SchemaObject
from quanta.storage import StorageError, Warehouse
from quanta.storage.types import iceberg_type, sql_type


def obj(*props: dict[str, object]) -> SchemaObject:
    return SchemaObject.model_validate({"name": "orders", "properties": list(props)})


ID = {"id": "p_id", "name": "order_id", "logicalType": "integer", "physicalType": "int"}
AMOUNT = {"id": "p_amount", "name": "amount", "logicalType": "number", "physicalType": "decimal(10,2)"}


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(f"sqlite:///{tmp_path / 'catalog.db'}", tmp_path / "warehouse")


def write(warehouse: Warehouse, rows: str, run: str, *, append: bool = False) -> int:
    """Write rows (a SQL VALUES list) through the engine the way a build does, and publish them."""
    fields = warehouse.table("sales.orders", "orders").schema().fields
    columns = [Column(f.field_id, f.name, sql_type(f.field_type)) for f in fields]
    names = ", ".join(c.name for c in columns)
    sql = f"select * from (values {rows}) as t({names})"
    files = get_engine().write_parquet(
        sql, {}, columns, str(warehouse.data_dir("sales.orders", "orders", run))
    )
    snapshot = warehouse.stage("sales.orders", "orders", run, files, append=append, properties={})
    warehouse.publish("sales.orders", "orders", run, snapshot)
    return snapshot


def read(warehouse: Warehouse, snapshot: int | None = None) -> list[dict[str, object]]:
    scan = warehouse.scan("sales.orders", "orders", snapshot)
    table: pa.Table = get_engine().query("select * from t order by 1", {"t": scan})
    return table.to_pylist()


def test_types_follow_logical_and_physical_types() -> None:
    from pyiceberg import types as t

    def prop(**kw: object) -> object:
        return obj({"name": "x", **kw}).properties[0]  # type: ignore[index]

    assert iceberg_type(prop(logicalType="integer")) == t.LongType()
    assert iceberg_type(prop(logicalType="integer", physicalType="int")) == t.IntegerType()
    assert iceberg_type(prop(logicalType="number", physicalType="decimal(15,2)")) == t.DecimalType(15, 2)
    assert iceberg_type(prop(logicalType="number")) == t.DoubleType()
    assert iceberg_type(prop(logicalType="timestamp")) == t.TimestamptzType()
    assert iceberg_type(prop(physicalType="varchar(10)")) == t.StringType()
    with pytest.raises(StorageError, match="cannot be stored yet"):
        iceberg_type(prop(logicalType="array"))


def test_create_write_and_read_back(warehouse: Warehouse) -> None:
    assert warehouse.ensure_table("sales.orders", "orders", obj(ID, AMOUNT)) == ["created"]
    assert warehouse.ensure_table("sales.orders", "orders", obj(ID, AMOUNT)) == []
    write(warehouse, "(1, 9.5), (2, 10.25)", "r1")
    assert read(warehouse) == [
        {"order_id": 1, "amount": pytest.approx(9.5)},
        {"order_id": 2, "amount": pytest.approx(10.25)},
    ]
    assert warehouse.location("sales.orders", "orders").is_relative_to(warehouse.root / "sales")


def test_evolution_adds_renames_and_widens_by_field_id(warehouse: Warehouse) -> None:
    warehouse.ensure_table("sales.orders", "orders", obj(ID, AMOUNT))
    old = write(warehouse, "(1, 9.5)", "r1")
    renamed = {**AMOUNT, "name": "total", "physicalType": "decimal(12,2)"}
    status = {"name": "status", "logicalType": "string"}
    widened = {**ID, "physicalType": "bigint"}
    changes = warehouse.ensure_table("sales.orders", "orders", obj(widened, renamed, status))
    assert set(changes) == {
        "renamed amount ► total",
        "widened total to decimal(12, 2)",
        "widened order_id to long",
        "added status",
    }
    # An old snapshot reads as it was published (its own schema); new data through the new one.
    assert read(warehouse, old) == [{"order_id": 1, "amount": pytest.approx(9.5)}]
    write(warehouse, "(2, 3.25, 'open')", "r2")
    assert read(warehouse) == [{"order_id": 2, "total": pytest.approx(3.25), "status": "open"}]


def test_files_written_before_a_rename_line_up_by_field_id(warehouse: Warehouse) -> None:
    warehouse.ensure_table("sales.orders", "orders", obj(ID, AMOUNT))
    write(warehouse, "(1, 9.5)", "r1")
    warehouse.ensure_table("sales.orders", "orders", obj(ID, {**AMOUNT, "name": "total"}))
    write(warehouse, "(2, 3.25)", "r2", append=True)
    rows = sorted(read(warehouse), key=lambda r: r["order_id"])
    assert rows == [
        {"order_id": 1, "total": pytest.approx(9.5)},
        {"order_id": 2, "total": pytest.approx(3.25)},
    ]


def test_incompatible_type_change_is_refused(warehouse: Warehouse) -> None:
    warehouse.ensure_table("sales.orders", "orders", obj(ID, AMOUNT))
    with pytest.raises(StorageError) as info:
        warehouse.ensure_table(
            "sales.orders", "orders", obj({**ID, "logicalType": "string", "physicalType": None})
        )
    assert "order_id" in info.value.message and "cannot be read" in info.value.message
    assert info.value.hint


def test_staged_data_is_invisible_until_published_and_quarantine_keeps_it(warehouse: Warehouse) -> None:
    warehouse.ensure_table("sales.orders", "orders", obj(ID, AMOUNT))
    write(warehouse, "(1, 1.0)", "r1")
    fields = warehouse.table("sales.orders", "orders").schema().fields
    columns = [Column(f.field_id, f.name, sql_type(f.field_type)) for f in fields]
    files = get_engine().write_parquet(
        "select 99 as order_id, 0.5 as amount",
        {},
        columns,
        str(warehouse.data_dir("sales.orders", "orders", "r2")),
    )
    staged = warehouse.stage(
        "sales.orders", "orders", "r2", files, append=True, properties={"quanta.run-id": "r2"}
    )
    assert [r["order_id"] for r in read(warehouse)] == [1]
    assert [r["order_id"] for r in read(warehouse, staged)] == [1, 99]
    warehouse.quarantine("sales.orders", "orders", "r2", staged)
    (entry,) = warehouse.quarantined("sales.orders", "orders")
    assert (entry.run_id, entry.snapshot_id) == ("r2", staged)
    assert [r["order_id"] for r in read(warehouse)] == [1]


def test_missing_table_says_to_build(warehouse: Warehouse) -> None:
    with pytest.raises(StorageError, match="no table yet") as info:
        warehouse.scan("sales.orders", "orders")
    assert "quanta build sales.orders" in (info.value.hint or "")


def test_new_products_of_one_new_domain_created_at_once(tmp_path: Path) -> None:
    # Two builds of new products in a new domain start together (threads of one build, or two
    # processes on one catalog): the domain's namespace is created once, both tables exist.
    import threading

    url, root = f"sqlite:///{tmp_path / 'catalog.db'}", tmp_path / "warehouse"
    Warehouse(url, root)._catalog()  # the catalog tables exist, as after the first build
    start, errors = threading.Barrier(4), []

    def create(n: int) -> None:
        warehouse = Warehouse(url, root)  # a catalog connection of its own, as another process has
        start.wait()
        try:
            warehouse.ensure_table(f"retail.product{n}", "main", obj(ID, AMOUNT))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(Warehouse(url, root).exists(f"retail.product{n}", "main") for n in range(4))
