"""Build and publish on the demo mesh: correct results, skipping, versions, time travel, rollback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from quanta.build.demo_data import generate_demo_data
from quanta.errors import NotFoundError
from quanta.mesh import Mesh
from quanta.query.products import QueryError

SCALE = 0.01


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("build") / "mesh"
    Mesh.init(root, demo=True)
    generate_demo_data(root, SCALE)
    results = Mesh.open(root).build()
    assert {r.product_id: r.status for r in results} == dict.fromkeys(
        [
            "customers.customers",
            "sales.lineitems",
            "sales.orders",
            "supply.parts",
            "supply.suppliers",
            "finance.revenue_by_nation",
            "marketing.customer_segments",
        ],
        "published",
    )
    return root


@pytest.fixture
def mesh(built: Path, monkeypatch: pytest.MonkeyPatch) -> Mesh:
    monkeypatch.chdir(built)
    monkeypatch.delenv("QUANTA_DATABASE_URL", raising=False)
    return Mesh.open(built)


def _raw(root: Path) -> duckdb.DuckDBPyConnection:
    """The raw demo files in a plain DuckDB connection: the reference the products must equal."""
    con = duckdb.connect()
    con.execute(f"create view orders as select * from read_csv('{root}/data/drops/orders/*.csv')")
    con.execute(f"create view lineitem as select * from read_parquet('{root}/data/drops/lineitem/*.parquet')")
    with sqlite3.connect(root / "data" / "legacy_warehouse.db") as legacy:
        for table in ("customer", "supplier", "nation", "region"):
            cursor = legacy.execute(f"select * from {table}")
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            data = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
            con.register(table, data)
    return con


def _norm(value: object) -> object:
    from decimal import Decimal

    return round(float(value), 2) if isinstance(value, (float, Decimal)) else value


def _rows(table: pa.Table | list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    rows = [tuple(r.values()) for r in table.to_pylist()] if isinstance(table, pa.Table) else table
    return sorted(tuple(_norm(v) for v in row) for row in rows)


def test_revenue_by_nation_equals_tpch_q5_on_the_raw_files(mesh: Mesh, built: Path) -> None:
    expected = (
        _raw(built)
        .sql(
            """
        select n_name, r_name, cast(extract(year from o_orderdate) as integer) as y,
               round(sum(l_extendedprice * (1 - l_discount)), 2) as revenue, count(distinct o_orderkey)
        from lineitem join orders on l_orderkey = o_orderkey
        join customer on o_custkey = c_custkey
        join supplier on l_suppkey = s_suppkey and c_nationkey = s_nationkey
        join nation on s_nationkey = n_nationkey join region on n_regionkey = r_regionkey
        group by all
        """
        )
        .fetchall()
    )
    got = mesh.query(
        "select nation, region, order_year, round(revenue, 2), order_count from finance.revenue_by_nation"
    )
    assert len(expected) > 100
    assert _rows(got) == _rows(expected)


def test_customer_segments_equal_the_same_computation_on_the_raw_files(mesh: Mesh, built: Path) -> None:
    expected = (
        _raw(built)
        .sql(
            """
        select c_custkey, count(o_orderkey), coalesce(sum(o_totalprice), 0)
        from customer left join orders on o_custkey = c_custkey group by c_custkey
        """
        )
        .fetchall()
    )
    got = mesh.query("select customer_id, order_count, lifetime_value from marketing.customer_segments")
    assert _rows(got) == _rows(expected)


def test_source_aligned_products_keep_every_row(mesh: Mesh, built: Path) -> None:
    raw = _raw(built)
    for product, table in [
        ("sales.orders", "orders"),
        ("sales.lineitems", "lineitem"),
        ("customers.customers", "customer"),
    ]:
        ((count,),) = raw.sql(f"select count(*) from {table}").fetchall()
        assert mesh.query(f"select count(*) as n from {product}").column("n")[0].as_py() == count


def test_unchanged_file_products_are_skipped(mesh: Mesh) -> None:
    results = {r.product_id: r.status for r in mesh.build(["sales.lineitems", "sales.orders"])}
    assert results == {"sales.lineitems": "skipped", "sales.orders": "skipped"}


def test_selectors_pick_upstream_and_downstream(mesh: Mesh) -> None:
    from quanta.build.planner import select

    products = mesh.validate().products
    assert select(products, ["+marketing.customer_segments"]) == {
        "marketing.customer_segments",
        "customers.customers",
        "sales.orders",
    }
    assert "finance.revenue_by_nation" in select(products, ["sales.orders+"])
    assert select(products, ["supply"]) == {"supply.parts", "supply.suppliers"}
    with pytest.raises(NotFoundError):
        select(products, ["nosuch"])


def test_versions_time_travel_and_rollback(mesh: Mesh) -> None:
    before = mesh.query("select count(*) as n from supply.parts").column("n")[0].as_py()
    first = mesh.publishes("supply.parts")[-1]
    descriptor = Path("domains/supply/parts/product.yaml")
    original = descriptor.read_text()
    transform = Path("domains/supply/parts/transform.sql")
    original_sql = transform.read_text()
    try:
        descriptor.write_text(original.replace("version: 1.0.0", "version: 1.1.0", 1))
        transform.write_text(original_sql + "where p_size <= 25\n")
        (result,) = mesh.build(["supply.parts"])
        assert result.status == "published" and result.version == "1.1.0"
        after = mesh.query("select count(*) as n from supply.parts").column("n")[0].as_py()
        assert 0 < after < before
        # Older versions stay readable by version and by time.
        old = mesh.query('select count(*) as n from "supply.parts@1.0.0"').column("n")[0].as_py()
        assert old == before
        at = first.created_at.isoformat()
        assert mesh.query(f'select count(*) as n from "supply.parts@{at}"').column("n")[0].as_py() == before
        mesh.rollback("supply.parts", "1.0.0")
        assert mesh.query("select count(*) as n from supply.parts").column("n")[0].as_py() == before
        assert [p.version for p in mesh.publishes("supply.parts")][-2:] == ["1.1.0", "1.0.0"]
    finally:
        descriptor.write_text(original)
        transform.write_text(original_sql)


def test_query_errors_are_clear(mesh: Mesh) -> None:
    with pytest.raises(QueryError, match=r"unknown product 'nosuch\.table'"):
        mesh.query("select * from nosuch.table")
    with pytest.raises(QueryError, match="does not parse"):
        mesh.query("select from where")
    with pytest.raises(QueryError, match=r"no published version 9\.9\.9"):
        mesh.query('select * from "sales.orders@9.9.9"')


def test_every_publish_records_checks_inputs_and_who(mesh: Mesh) -> None:
    publish = mesh.publishes("finance.revenue_by_nation")[-1]
    assert publish.checks["summary"]["failed"] == 0
    assert publish.checks["summary"]["passed"] >= 10
    assert set(publish.inputs) == {"lineitems", "orders", "customers", "suppliers", "geography"}
    assert publish.inputs["orders"]["product"] == "sales.orders"
    assert publish.created_by == "local-admin"
    events = {e.kind for e in mesh.registry.events(subject="finance.revenue_by_nation")}
    assert "product.published" in events


def test_tables_live_under_their_domain_root(mesh: Mesh, built: Path) -> None:
    scan = mesh.warehouse.scan("sales.orders", "orders")
    assert scan.files
    assert all(Path(f).is_relative_to(built / ".quanta" / "warehouse" / "sales") for f in scan.files)
