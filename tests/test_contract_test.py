"""`quanta test` on standalone contracts: local files, DuckDB and PostgreSQL servers, reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli

TODAY = datetime.now(UTC).date()

CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: shop.orders
version: 1.0.0
status: active
servers:
  - server: files
    type: local
    path: ./data/{{model}}.csv
    format: csv
  - server: warehouse
    type: duckdb
    database: ./shop.duckdb
    schema: main
{extra_servers}
schema:
  - name: customers
    properties:
      - {{name: customer_id, logicalType: integer, primaryKey: true}}
      - name: email
        logicalType: string
        classification: confidential
        tags: [pii]
        logicalTypeOptions: {{pattern: "^[^@]+@[^@]+$"}}
  - name: orders
    properties:
      - {{name: order_id, logicalType: integer, required: true, unique: true}}
      - name: customer_id
        logicalType: integer
        relationships:
          - to: customers.customer_id
      - {{name: status, logicalType: string, enum: [{{value: open}}, {{value: shipped}}]}}
      - {{name: amount, logicalType: number, logicalTypeOptions: {{minimum: 0}}}}
      - {{name: placed, logicalType: date}}
    quality:
      - metric: rowCount
        mustBeGreaterThan: 2
      - metric: nullValues
        mustBeLessOrEqualTo: 50
        unit: percent
        severity: warning
        arguments: {{}}
      - type: sql
        query: select count(*) from orders where status = 'shipped' and amount = 0
        mustBe: 0
      - metric: rowCount
        mustBeLessThan: 2
        customProperties:
          - property: filter
            value: "placed >= current_date - 1"
slaDefaultElement: orders.placed
slaProperties:
  - property: latency
    value: 2
    unit: d
"""

GOOD_ORDERS = f"""order_id,customer_id,status,amount,placed
1,10,open,5.0,{TODAY}
2,11,shipped,7.5,{TODAY - timedelta(days=3)}
3,10,shipped,1.0,{TODAY - timedelta(days=5)}
"""
GOOD_CUSTOMERS = "customer_id,email\n10,a@x.org\n11,b@y.org\n"
BAD_ORDERS = f"""order_id,customer_id,status,amount,placed
1,10,open,5.0,{TODAY - timedelta(days=9)}
1,99,lost,-2.0,{TODAY - timedelta(days=9)}
3,10,shipped,0,{TODAY - timedelta(days=9)}
"""
BAD_CUSTOMERS = "customer_id,email\n10,not-an-email\n11,b@y.org\n"


def make(tmp_path: Path, orders: str, customers: str, extra_servers: str = "") -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "orders.csv").write_text(orders)
    (tmp_path / "data" / "customers.csv").write_text(customers)
    contract = tmp_path / "orders.odcs.yaml"
    contract.write_text(CONTRACT.format(extra_servers=extra_servers))
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as con:
        for table in ("orders", "customers"):
            con.execute(
                f"create or replace table {table} as select * from read_csv('{tmp_path}/data/{table}.csv')"
            )
    return contract


def checks(result: str) -> dict[str, dict[str, object]]:
    payload = json.loads(result)
    (run,) = payload["results"].values()
    return {c["name"]: c for c in run["checks"]}


@pytest.mark.parametrize("server", ["files", "warehouse"])
def test_clean_data_passes_on_every_server(tmp_path: Path, server: str) -> None:
    contract = make(tmp_path, GOOD_ORDERS, GOOD_CUSTOMERS)
    result = run_cli("test", str(contract), "--server", server, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    found = checks(result.stdout)
    assert {c["verdict"] for c in found.values()} == {"passed"}
    assert found["customer_id references customers.customer_id"]["verdict"] == "passed"
    assert found["latency 2d"]["verdict"] == "passed"


@pytest.mark.parametrize("server", ["files", "warehouse"])
def test_every_violation_is_reported_with_masked_samples(tmp_path: Path, server: str) -> None:
    contract = make(tmp_path, BAD_ORDERS, BAD_CUSTOMERS)
    result = run_cli("test", str(contract), "--server", server, "--json", cwd=tmp_path)
    assert result.returncode == 1
    found = checks(result.stdout)
    failed = {name for name, c in found.items() if c["verdict"] == "failed"}
    assert failed == {
        "order_id is unique",
        "status in enum",
        "amount minimum 0",
        "customer_id references customers.customer_id",
        "email matches ^[^@]+@[^@]+$",
        "sql rule",
        "latency 2d",
    }
    assert found["rowCount of orders where placed >= current_date - 1"]["verdict"] == "passed"  # none recent
    email = found["email matches ^[^@]+@[^@]+$"]
    assert email["samples"] == [{"customer_id": 10, "email": "****"}]  # pii never shown
    assert found["status in enum"]["samples"][0]["status"] == "lost"


def test_check_kinds_can_be_selected(tmp_path: Path) -> None:
    contract = make(tmp_path, BAD_ORDERS, BAD_CUSTOMERS)
    result = run_cli("test", str(contract), "--checks", "sla", "--json", cwd=tmp_path)
    assert set(checks(result.stdout)) == {"latency 2d"}


def test_junit_report(tmp_path: Path) -> None:
    contract = make(tmp_path, BAD_ORDERS, GOOD_CUSTOMERS)
    report = tmp_path / "report.xml"
    result = run_cli("test", str(contract), "--output", "junit", "--output-file", str(report), cwd=tmp_path)
    assert result.returncode == 1
    root = ET.parse(report).getroot()
    suite = root.find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 5
    names = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert "status in enum" in names


@pytest.mark.postgres
def test_postgres_server(tmp_path: Path, pg_database_url: str) -> None:
    import sqlalchemy as sa

    url = sa.make_url(pg_database_url)
    engine = sa.create_engine(pg_database_url)
    with engine.begin() as con:
        con.execute(sa.text("create schema shop"))
        con.execute(
            sa.text(
                "create table shop.orders (order_id int, customer_id int, status text, "
                "amount numeric, placed date)"
            )
        )
        con.execute(sa.text("create table shop.customers (customer_id int, email text)"))
        con.execute(
            sa.text(
                f"insert into shop.orders values (1, 10, 'open', 5, '{TODAY}'), "
                f"(2, 11, 'shipped', 7.5, '{TODAY - timedelta(days=3)}'), "
                f"(3, 10, 'shipped', 1, '{TODAY - timedelta(days=5)}')"
            )
        )
        con.execute(sa.text("insert into shop.customers values (10, 'a@x.org'), (11, 'b@y.org')"))
    engine.dispose()
    extra = (
        f"  - server: pg\n    type: postgres\n    host: {url.host}\n    port: {url.port}\n"
        f"    database: {url.database}\n    schema: shop\n"
    )
    contract = make(tmp_path, GOOD_ORDERS, GOOD_CUSTOMERS, extra)
    result = run_cli(
        "test",
        str(contract),
        "--server",
        "pg",
        "--json",
        cwd=tmp_path,
        env={"QUANTA_POSTGRES_USERNAME": url.username or "postgres"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert checks(result.stdout)["rowCount of orders"]["measured"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "nosuch"], "no server 'nosuch'"),
        (["--checks", "speed"], "unknown check kinds for --checks: speed"),
    ],
)
def test_bad_arguments_are_clear(tmp_path: Path, args: list[str], message: str) -> None:
    contract = make(tmp_path, GOOD_ORDERS, GOOD_CUSTOMERS)
    result = run_cli("test", str(contract), *args, cwd=tmp_path)
    assert result.returncode in (1, 2)
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_files_are_a_clear_error(tmp_path: Path) -> None:
    contract = make(tmp_path, GOOD_ORDERS, GOOD_CUSTOMERS)
    (tmp_path / "data" / "orders.csv").unlink()
    result = run_cli("test", str(contract), cwd=tmp_path)
    assert result.returncode == 1
    assert "orders.csv" in result.stderr and "Traceback" not in result.stderr


def test_bad_contracts_give_clear_checks_not_crashes(tmp_path: Path) -> None:
    contract = make(tmp_path, GOOD_ORDERS, GOOD_CUSTOMERS)
    text = contract.read_text()
    text = text.replace("{name: amount, logicalType: number", "{name: total, logicalType: number")
    text = text.replace("{name: status, logicalType: string", "{name: status, logicalType: integer")
    text = text.replace(
        "query: select count(*) from orders where status = 'shipped' and amount = 0",
        "query: select count(*) from read_csv('/etc/passwd')",
    )
    contract.write_text(text)
    result = run_cli("test", str(contract), "--json", cwd=tmp_path)
    assert result.returncode == 1
    found = checks(result.stdout)
    assert found["total is present"]["verdict"] == "failed"
    assert "total minimum 0" not in found  # rules on a missing column are not run against it
    assert found["status has type integer"]["verdict"] == "failed"
    assert found["status has type integer"]["measured"] == "VARCHAR"
    assert found["sql rule"]["verdict"] == "error"
    assert "may only read the contract's tables" in found["sql rule"]["message"]
    assert "Traceback" not in result.stderr


LENGTHS = """\
apiVersion: v3.2.0
kind: DataContract
id: shop.names
version: 1.0.0
status: active
servers:
  - {server: files, type: local, path: ./names.parquet, format: parquet}
schema:
  - name: names
    properties:
      - {name: name, logicalType: string, logicalTypeOptions: {minLength: 2, maxLength: 5}}
"""


@pytest.mark.parametrize(
    ("values", "too_short", "too_long"),
    [
        (["ab", "éééé", "ñandú", "日本語です"], 0, 0),  # 5 characters in 10 or 15 bytes: not too long
        (["é", "abcdef", "ééééééé", "日本語ですね"], 1, 3),
    ],
)
def test_lengths_count_characters_not_bytes(
    tmp_path: Path, values: list[str], too_short: int, too_long: int
) -> None:
    (tmp_path / "names.odcs.yaml").write_text(LENGTHS, encoding="utf-8")
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select unnest(?::varchar[]) as name) to ? (format parquet)",
            [values, str(tmp_path / "names.parquet")],
        )
    result = run_cli("test", "names.odcs.yaml", "--json", cwd=tmp_path)
    found = checks(result.stdout)
    assert found["name minLength 2"]["measured"] == too_short
    assert found["name maxLength 5"]["measured"] == too_long
