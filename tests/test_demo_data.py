"""Demo data: tpchgen-cli's TPC-H tables as the CSV drop, Parquet drop and SQLite warehouse the demo reads."""

from __future__ import annotations

import csv
import itertools
import sqlite3
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from quanta.build.demo_data import DemoData, DemoDataError, find_tpchgen, generate_demo_data
from quanta.build.sources import reader_for
from quanta.engines.duckdb import DuckDBEngine
from quanta.errors import QuantaError
from quanta.spec.product import DataProduct

SCALE = 0.001
DEMO_DOMAINS = Path(__file__).resolve().parents[1] / "src/quanta/blueprints/demo/domains"
WAREHOUSE_TABLES = {"region", "nation", "supplier", "customer", "part", "partsupp"}
# Rows TPC-H fixes for a scale factor (lineitem varies: 1 to 7 lines per order).
FIXED_ROWS = {"region": 5, "nation": 25, "supplier": 10_000, "customer": 150_000, "part": 200_000}
FIXED_ROWS |= {"partsupp": 800_000, "orders": 1_500_000}
ORDERS_HEADER = "o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority,o_clerk"
ORDERS_HEADER += ",o_shippriority,o_comment"


@pytest.fixture(scope="module")
def tpch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tpchgen-cli's own output at the same scale: the reference for counts and values."""
    folder = tmp_path_factory.mktemp("tpch")
    command = [find_tpchgen(), "parquet", "--scale-factor", str(SCALE), "--output-dir", str(folder)]
    subprocess.run(command, check=True, capture_output=True)
    return folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoData, list[str]]:
    steps: list[str] = []
    data = generate_demo_data(tmp_path_factory.mktemp("ws"), SCALE, on_step=steps.append)
    return data, steps


def _rows(path: Path) -> int:
    rows: int = pq.ParquetFile(path).metadata.num_rows
    return rows


def test_files_are_written_where_the_demo_mesh_reads_them(demo: tuple[DemoData, list[str]]) -> None:
    data, steps = demo
    root = data.root
    assert data.orders_files == tuple(root / f"data/drops/orders/orders-{y}.csv" for y in range(1992, 1999))
    assert data.lineitem_files == tuple(
        root / f"data/drops/lineitem/lineitem-{n}.parquet" for n in range(1, 5)
    )
    assert data.warehouse == root / "data/legacy_warehouse.db"
    assert all(path.is_file() and path.is_absolute() for path in data.files)
    assert sorted(p.name for p in (root / "data").iterdir()) == ["drops", "legacy_warehouse.db"]  # no scratch
    assert len(steps) == 4
    assert steps[0] == "generating TPC-H at scale 0.001 with tpchgen-cli"
    assert data.scale == SCALE
    assert data.seconds > 0


def test_row_counts_match_tpchgen(demo: tuple[DemoData, list[str]], tpch: Path) -> None:
    data, _ = demo
    assert data.row_counts == {table: _rows(tpch / f"{table}.parquet") for table in data.row_counts}
    assert set(data.row_counts) == WAREHOUSE_TABLES | {"orders", "lineitem"}
    for table, rows in FIXED_ROWS.items():
        assert data.row_counts[table] == (rows if table in ("region", "nation") else int(rows * SCALE))
    assert data.row_counts["orders"] <= data.row_counts["lineitem"] <= 7 * data.row_counts["orders"]


def test_csv_drop_has_one_file_per_order_year_with_a_header(demo: tuple[DemoData, list[str]]) -> None:
    data, _ = demo
    total = 0
    for path in data.orders_files:
        with path.open(newline="") as handle:
            lines = list(csv.reader(handle))
        assert ",".join(lines[0]) == ORDERS_HEADER
        year = path.stem.removeprefix("orders-")
        assert lines[1:] and all(row[4].startswith(f"{year}-") for row in lines[1:])
        total += len(lines) - 1
    assert total == data.row_counts["orders"]
    files = [str(p) for p in data.orders_files]
    typed = duckdb.sql(f"select o_orderkey, o_totalprice, o_orderdate from read_csv({files})")
    assert typed.types[0] == "BIGINT" and typed.types[2] == "DATE"


def test_parquet_drop_splits_lineitem_in_four_by_order(demo: tuple[DemoData, list[str]], tpch: Path) -> None:
    data, _ = demo
    files = [str(p) for p in data.lineitem_files]
    per_file = duckdb.sql(
        f"select filename, count(*), min(l_orderkey), max(l_orderkey) "
        f"from read_parquet({files}, filename = true) group by all order by 3"
    ).fetchall()
    assert len(per_file) == 4 and all(count > 0 for _, count, _, _ in per_file)
    assert all(previous[3] < following[2] for previous, following in itertools.pairwise(per_file))
    same = duckdb.sql(
        f"select count(*) from (select * from read_parquet({files}) "
        f"except all select * from read_parquet('{tpch / 'lineitem.parquet'}'))"
    ).fetchall()
    assert same == [(0,)]
    assert str(pq.read_schema(data.lineitem_files[0]).field("l_shipmode").type) == "string"  # no string_view


def test_warehouse_has_typed_tables_keys_and_counts(demo: tuple[DemoData, list[str]]) -> None:
    data, _ = demo
    with sqlite3.connect(data.warehouse) as connection:
        tables = {r[0] for r in connection.execute("select name from sqlite_master where type = 'table'")}
        assert tables == WAREHOUSE_TABLES
        for table in tables:
            assert connection.execute(f"select count(*) from {table}").fetchone() == (data.row_counts[table],)
        columns = {
            row[1]: (row[2], row[3], row[5]) for row in connection.execute("pragma table_info(customer)")
        }
        assert columns == {
            "c_custkey": ("INTEGER", 1, 1),
            "c_name": ("TEXT", 1, 0),
            "c_address": ("TEXT", 1, 0),
            "c_nationkey": ("INTEGER", 1, 0),
            "c_phone": ("TEXT", 1, 0),
            "c_acctbal": ("NUMERIC(15,2)", 1, 0),
            "c_mktsegment": ("TEXT", 1, 0),
            "c_comment": ("TEXT", 1, 0),
        }
        stored = connection.execute(
            "select distinct typeof(c_acctbal), typeof(c_name) from customer"
        ).fetchall()
        assert set(stored) <= {("real", "text"), ("integer", "text")}
        indexes = {r[0] for r in connection.execute("select name from sqlite_master where type = 'index'")}
        assert {"nation_n_regionkey", "customer_c_nationkey", "partsupp_ps_partkey_ps_suppkey"} <= indexes
        plan = connection.execute(
            "explain query plan select * from customer where c_nationkey = 3"
        ).fetchall()
        assert "customer_c_nationkey" in str(plan)


def test_warehouse_decimals_equal_tpchgen_exactly(demo: tuple[DemoData, list[str]], tpch: Path) -> None:
    data, _ = demo
    expected = pq.read_table(tpch / "part.parquet", columns=["p_partkey", "p_retailprice"]).to_pylist()
    with sqlite3.connect(data.warehouse) as connection:
        stored = dict(connection.execute("select p_partkey, p_retailprice from part").fetchall())
    assert all(Decimal(repr(stored[row["p_partkey"]])) == row["p_retailprice"] for row in expected)


def test_source_aligned_demo_products_build_from_the_generated_data(demo: tuple[DemoData, list[str]]) -> None:
    data, _ = demo
    expected = {"orders": "orders", "lineitems": "lineitem", "customers": "customer", "parts": "part"}
    expected |= {"suppliers": "supplier"}
    engine = DuckDBEngine()
    for descriptor in sorted(DEMO_DOMAINS.glob("*/*/product.yaml")):
        product = DataProduct.model_validate(yaml.safe_load(descriptor.read_text()))
        ports = [p for p in product.input_ports or [] if p.source]
        if product.type != "source-aligned":
            continue
        inputs = {p.name: reader_for(p.source).read(p.source, root=data.root) for p in ports if p.source}
        sql = (descriptor.parent / "transform.sql").read_text()
        result = engine.query(sql, inputs)
        assert result.num_rows == data.row_counts[expected[descriptor.parent.name]], descriptor


def test_rerun_replaces_the_data(tmp_path: Path) -> None:
    first = generate_demo_data(tmp_path, SCALE)
    stale = tmp_path / "data/drops/orders/orders-1980.csv"
    stale.write_text("o_orderkey\n1\n")
    second = generate_demo_data(tmp_path, 0.002)
    assert not stale.exists()
    assert second.files == first.files
    assert second.row_counts["customer"] == 300 and first.row_counts["customer"] == 150
    with sqlite3.connect(second.warehouse) as connection:
        assert connection.execute("select count(*) from customer").fetchone() == (300,)
    orders = duckdb.sql(f"select count(*) from read_csv({[str(p) for p in second.orders_files]})").fetchall()
    assert orders == [(second.row_counts["orders"],)]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["drops", "legacy_warehouse.db"]


@pytest.mark.parametrize("scale", [0, -1, 100.5, float("nan"), float("inf"), True, "1"])
def test_bad_scales_are_refused_before_anything_is_written(tmp_path: Path, scale: object) -> None:
    with pytest.raises(DemoDataError) as caught:
        generate_demo_data(tmp_path / "ws", scale)  # type: ignore[arg-type]
    assert isinstance(caught.value, QuantaError)
    assert "scale must be a number above 0 and at most 100" in caught.value.message
    assert caught.value.hint and "0.01" in caught.value.hint
    assert not (tmp_path / "ws").exists()


def test_missing_tpchgen_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DemoDataError, match="tpchgen-cli not found at") as caught:
        generate_demo_data(tmp_path, SCALE, tpchgen=tmp_path / "no-such-tpchgen")
    assert caught.value.hint and "pip install tpchgen-cli" in caught.value.hint
    # Neither next to the interpreter nor on PATH.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(DemoDataError, match=r"tpchgen-cli not found next to .* nor on PATH"):
        generate_demo_data(tmp_path, SCALE)


def _script(folder: Path, body: str) -> Path:
    path = folder / "fake-tpchgen"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_failing_tpchgen_leaves_previous_data_untouched(tmp_path: Path) -> None:
    generate_demo_data(tmp_path, SCALE)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "data").rglob("*")}
    failing = _script(tmp_path, "echo 'something went wrong' >&2\necho 'Error: disk on fire' >&2\nexit 3")
    with pytest.raises(DemoDataError) as caught:
        generate_demo_data(tmp_path, SCALE, tpchgen=failing)
    assert caught.value.message == "tpchgen-cli failed at scale 0.001 (exit status 3): Error: disk on fire"
    assert caught.value.hint and "parquet --scale-factor 0.001" in caught.value.hint
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "data").rglob("*")} == before


def test_tpchgen_writing_nothing_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DemoDataError, match="exited successfully but wrote no region, nation"):
        generate_demo_data(tmp_path, SCALE, tpchgen=_script(tmp_path, "exit 0"))
    assert [p.name for p in (tmp_path / "data").iterdir()] == []


def test_real_tpchgen_failure_at_a_tiny_scale_is_a_quanta_error(tmp_path: Path) -> None:
    with pytest.raises(DemoDataError, match=r"tpchgen-cli failed at scale 1e-05 \(exit status 1\): "):
        generate_demo_data(tmp_path, 0.00001)
