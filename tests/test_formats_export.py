"""JSON Schema, SQL DDL and Markdown exports of the official ODCS examples and of an imported DCS contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
import sqlglot
from jsonschema import Draft202012Validator
from sqlglot import exp

from quanta.errors import FormatError
from quanta.spec.contract import Contract
from quanta.spec.formats import ProductExport, exporter
from quanta.spec.formats.dcs import DcsImporter
from quanta.spec.formats.jsonschema import JsonSchemaExporter
from quanta.spec.formats.markdown import MarkdownExporter, rule_in_words
from quanta.spec.formats.sql import SqlDdlExporter
from quanta.spec.loader import load_contract, load_contract_text
from quanta.spec.product import DataProduct
from tests.conftest import run_cli
from tests.test_formats_dcs import ORDERS

ODCS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "examples" / "odcs"
EXAMPLES = sorted(ODCS_DIR.glob("*.odcs.yaml"))
WITH_TABLES = [p for p in EXAMPLES if any(o.properties for o in load_contract(p).contract.objects)]


def _contract(examples_dir: Path, name: str) -> Contract:
    return load_contract(examples_dir / "odcs" / f"{name}.odcs.yaml").contract


@pytest.fixture(scope="module")
def orders() -> Contract:
    """A rich contract with nested columns, imported from Data Contract Specification."""
    return load_contract_text(DcsImporter().import_text(ORDERS, "orders.dcs.yaml")).contract


def test_registered_by_name() -> None:
    assert isinstance(exporter("jsonschema"), JsonSchemaExporter)
    assert isinstance(exporter("sql"), SqlDdlExporter)
    assert isinstance(exporter("markdown"), MarkdownExporter)


# --- JSON Schema ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_jsonschema_of_every_example_is_a_valid_schema(path: Path) -> None:
    contract = load_contract(path).contract
    if not contract.objects:
        with pytest.raises(FormatError, match="no schema objects"):
            JsonSchemaExporter().export_contract(contract)
        return
    schema = json.loads(JsonSchemaExporter().export_contract(contract))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    objects = schema["$defs"] if len(contract.objects) > 1 else {contract.objects[0].name: schema}
    assert list(objects) == [o.name for o in contract.objects]
    for obj in contract.objects:
        assert list(objects[obj.name]["properties"]) == [p.name for p in obj.properties or []]


def test_jsonschema_enforces_types_options_and_nullability(examples_dir: Path) -> None:
    schema = json.loads(
        JsonSchemaExporter().export_contract(_contract(examples_dir, "data-types-all-data-types"))
    )
    validator = Draft202012Validator(schema)
    row = {
        "account_id": "ACC12345678",
        "txn_ref_date": "2020-06-01",
        "txn_timestamp": "2020-06-01T10:00:00Z",
        "amount": 12.5,
        "age": 42,
        "is_open": True,
        "latest_txns": [1, 2, 3],
        "customer_details": {"num_children": 2, "date_of_birth": "1980-01-01"},
    }
    assert list(validator.iter_errors(row)) == []
    assert validator.is_valid({**row, "amount": None})  # not required: null allowed
    bad = {
        "account_id": ("ACC1", "too short"),
        "age": (100, "exclusiveMaximum 100"),
        "amount": (-1, "minimum 0"),
        "is_open": ("yes", "boolean"),
        "latest_txns": ([1, 2, 3, 4], "maxItems 3"),
    }
    for column, (value, why) in bad.items():
        assert not validator.is_valid({**row, column: value}), why
    assert not validator.is_valid({**row, "account_id": "XYZ12345678"})  # pattern ACC[0-9]{8}
    assert not validator.is_valid({**row, "customer_details": {"num_children": 2}})  # required keys
    assert schema["properties"]["txn_timestamp"]["format"] == "date-time"
    assert schema["properties"]["age"]["type"] == ["integer", "null"]


def test_jsonschema_of_several_objects_uses_defs(examples_dir: Path) -> None:
    schema = json.loads(JsonSchemaExporter().export_contract(_contract(examples_dir, "all-full-example")))
    receivers = schema["$defs"]["receivers"]
    assert receivers["required"] == ["id", "country_code", "receiver_name"]
    assert receivers["title"] == "Receivers Master Data"
    validator = Draft202012Validator({**receivers, "$schema": schema["$schema"]})
    good = {
        "id": "R1",
        "country_code": "US",
        "receiver_name": "Acme",
        "receiver_attributes": {"tier": "gold"},
    }
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "receiver_name": None})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "receiver_name"})
    assert not validator.is_valid({**good, "receiver_attributes": {"tier": 1}})  # map of string to string
    tbl = Draft202012Validator(schema["$defs"]["tbl"])
    assert tbl.is_valid({"rcvr_id": "R1", "rcvr_cntry_code": "MX"})
    assert not tbl.is_valid({"rcvr_id": "R1", "rcvr_cntry_code": "FR"})  # enum US, CA, MX
    assert not tbl.is_valid({"rcvr_id": None})  # a primary key is never null


def test_jsonschema_nested_columns(orders: Contract) -> None:
    schema = json.loads(JsonSchemaExporter().export_contract(orders))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema["$defs"]["orders"])
    row = {
        "order_id": "243c25e5-a081-43a9-aeab-6d5d5b6cb5e2",
        "order_timestamp": "2024-09-09T08:30:00Z",
        "order_total": 9999,
        "customer_email_address": "a@example.com",
        "status": "placed",
        "shipping_address": {"city": "Berlin", "zip": "10115"},
        "items": [{"sku": "ABCDEFGH1", "quantity": 2}],
        "attributes": {"gift": 1},
        "processed_timestamp": "2024-09-09T09:00:00",
    }
    assert list(validator.iter_errors(row)) == []
    assert not validator.is_valid({**row, "status": "lost"})
    assert not validator.is_valid({**row, "shipping_address": {"zip": "10115"}})  # city is required
    assert not validator.is_valid({**row, "shipping_address": {"city": "Berlin", "zip": "ABCDE"}})
    assert not validator.is_valid({**row, "items": [{"quantity": 0, "sku": "ABCDEFGH1"}]})
    assert not validator.is_valid({**row, "attributes": {"gift": "yes"}})


# --- SQL DDL --------------------------------------------------------------------------------------


def _duckdb_with(ddl: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(ddl)
    return con


@pytest.mark.parametrize("path", WITH_TABLES, ids=lambda p: p.name)
def test_duckdb_ddl_of_every_example_runs_in_duckdb(path: Path) -> None:
    contract = load_contract(path).contract
    con = _duckdb_with(SqlDdlExporter().export_contract(contract))
    for obj in contract.objects:
        if not obj.properties:
            continue
        columns = con.execute(
            "SELECT column_name, is_nullable, comment FROM duckdb_columns() WHERE table_name = ?", [obj.table]
        ).fetchall()
        assert [c[0] for c in columns] == [p.column for p in obj.properties]
        for prop, (_, nullable, comment) in zip(obj.properties, columns, strict=True):
            assert nullable == (not prop.required and not prop.primary_key), prop.name
            assert comment == prop.description


def test_sla_only_contract_has_no_table(examples_dir: Path) -> None:
    with pytest.raises(FormatError, match="no table to create") as info:
        SqlDdlExporter().export_contract(_contract(examples_dir, "sla-database-table-sla"))
    assert "markdown" in (info.value.hint or "")


def test_duckdb_enforces_keys_and_not_null(examples_dir: Path) -> None:
    con = _duckdb_with(SqlDdlExporter().export_contract(_contract(examples_dir, "all-full-example")))
    key = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'receivers_master' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    assert key is not None
    assert key[0] == ["id", "country_code"]  # primaryKeyPosition order
    con.execute("INSERT INTO receivers_master (id, country_code, receiver_name) VALUES ('R1', 'US', 'Acme')")
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO receivers_master (id, country_code, receiver_name) VALUES ('R1', 'US', 'Dup')"
        )
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO receivers_master (id, country_code) VALUES ('R2', 'CA')")  # name NOT NULL
    with pytest.raises(duckdb.ConstraintException):  # id is UNIQUE on its own, not only with country_code
        con.execute("INSERT INTO receivers_master (id, country_code, receiver_name) VALUES ('R1', 'CA', 'X')")
    con.execute("INSERT INTO receivers_master VALUES ('R3', 'MX', 'Y', NULL, MAP {'tier': 'gold'})")
    table_comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'tbl_1'").fetchone()
    assert table_comment == ("Provides core payment metrics",)


def test_duckdb_nested_and_typed_columns(orders: Contract) -> None:
    con = _duckdb_with(SqlDdlExporter().export_contract(orders))
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'orders'"
        ).fetchall()
    )
    assert types["order_total"] == "BIGINT"
    assert types["amount_eur"] == "DECIMAL(12,2)"
    assert types["order_timestamp"] == "TIMESTAMP WITH TIME ZONE"  # timestamp_tz: from the logical type
    assert types["processed_timestamp"] == "TIMESTAMP"
    assert types["shipping_address"] == "STRUCT(street VARCHAR, city VARCHAR, zip VARCHAR)"
    assert types["items"] == "STRUCT(sku VARCHAR, quantity INTEGER)[]"
    assert types["attributes"] == "MAP(VARCHAR, INTEGER)"
    con.execute(
        "INSERT INTO orders (order_id, order_timestamp, order_total, customer_email_address, status, "
        "processed_timestamp, items) VALUES ('o1', now(), 1, 'a@b.c', 'placed', now(), "
        "[{'sku': 'ABCDEFGH', 'quantity': 2}])"
    )
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO orders (order_id) VALUES ('o1')")
    line_key = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'line_items' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    assert line_key == (["order_id", "line_item_id"],)


QUALIFIED = """\
apiVersion: v3.2.0
kind: DataContract
id: sales-orders
version: 1.0.0
schema:
  - name: orders
    physicalName: sales.orders
    properties:
      - {name: line, logicalType: integer, primaryKey: true}
      - {name: order, logicalType: string, primaryKey: true, primaryKeyPosition: 2}
      - {name: region, logicalType: string, primaryKey: true, primaryKeyPosition: 1}
      - {name: Amount, logicalType: number, logicalTypeOptions: {format: f32}, required: true}
      - {name: tags, logicalType: array, items: {logicalType: string, logicalTypeOptions: {maxLength: 10}}}
      - {name: note, logicalType: string, physicalType: "VARCHAR(20)", description: "it's free text"}
"""


def test_qualified_table_reserved_words_and_key_order() -> None:
    contract = load_contract_text(QUALIFIED).contract
    sql = SqlDdlExporter().export_contract(contract)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA sales")
    con.execute(sql)
    key = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = 'sales' AND table_name = 'orders' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    assert key == (["region", "order", "line"],)  # positioned keys first, unpositioned ones after
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'sales'"
        ).fetchall()
    )
    assert types == {
        "line": "BIGINT",
        "order": "VARCHAR",
        "region": "VARCHAR",
        "Amount": "FLOAT",
        "tags": "VARCHAR[]",
        "note": "VARCHAR",
    }
    assert con.execute("SELECT comment FROM duckdb_columns() WHERE column_name = 'note'").fetchone() == (
        "it's free text",
    )
    postgres = SqlDdlExporter().export_contract(contract, dialect="postgres")
    assert 'CREATE TABLE "sales"."orders"' in postgres
    assert '"tags" VARCHAR(10)[]' in postgres
    assert '"note" VARCHAR(20)' in postgres
    assert 'PRIMARY KEY ("region", "order", "line")' in postgres


def _creates(sql: str, dialect: str) -> dict[str, exp.Create]:
    statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    creates = [s for s in statements if isinstance(s, exp.Create)]
    return {c.this.this.name: c for c in creates}


def _column_types(create: exp.Create, dialect: str) -> dict[str, str]:
    return {
        c.name: c.args["kind"].sql(dialect) for c in create.this.expressions if isinstance(c, exp.ColumnDef)
    }


def test_postgres_ddl_parses_back(examples_dir: Path) -> None:
    sql = SqlDdlExporter().export_contract(_contract(examples_dir, "all-full-example"), dialect="postgres")
    creates = _creates(sql, "postgres")
    assert set(creates) == {"tbl_1", "receivers_master"}
    receivers = creates["receivers_master"]
    assert _column_types(receivers, "postgres") == {
        "id": "VARCHAR(18)",
        "country_code": "VARCHAR(2)",
        "receiver_name": "VARCHAR(255)",
        "receiver_type": "VARCHAR(20)",
        "receiver_attributes": "JSONB",  # PostgreSQL has no MAP type
    }
    key = receivers.find(exp.PrimaryKey)
    assert key is not None
    assert [e.name for e in key.expressions] == ["id", "country_code"]
    assert 'COMMENT ON COLUMN "receivers_master"."id" IS \'Unique identifier for receiver\';' in sql
    assert '"receiver_name" VARCHAR(255) NOT NULL' in sql


def test_spark_ddl_parses_back_with_inline_comments(examples_dir: Path, orders: Contract) -> None:
    sql = SqlDdlExporter().export_contract(_contract(examples_dir, "all-full-example"), dialect="spark")
    creates = _creates(sql, "spark")
    receivers = creates["receivers_master"]
    assert _column_types(receivers, "spark")["receiver_attributes"] == "MAP<STRING, STRING>"
    # Spark's catalog rejects constraints: no PRIMARY KEY or UNIQUE, and no COMMENT ON statements.
    assert receivers.find(exp.PrimaryKey) is None
    assert "UNIQUE" not in sql
    assert "COMMENT ON" not in sql
    assert "`id` VARCHAR(18) NOT NULL COMMENT 'Unique identifier for receiver'" in sql
    assert "COMMENT 'Master data for all receivers'" in sql
    nested = _column_types(
        _creates(SqlDdlExporter().export_contract(orders, dialect="spark"), "spark")["orders"], "spark"
    )
    assert nested["items"] == "ARRAY<STRUCT<`sku`: STRING, `quantity`: INT>>"
    assert nested["processed_timestamp"] == "TIMESTAMP_NTZ"


def test_quoted_identifiers_keep_case(examples_dir: Path) -> None:
    sql = SqlDdlExporter().export_contract(
        _contract(examples_dir, "quality-column-completeness"), dialect="postgres"
    )
    assert 'CREATE TABLE "Air_Quality"' in sql
    assert '"UniqueID" INT' in sql
    assert 'PRIMARY KEY ("UniqueID")' in sql


def test_unknown_dialect(examples_dir: Path) -> None:
    with pytest.raises(FormatError, match="unknown SQL dialect 'oracle'") as info:
        SqlDdlExporter().export_contract(_contract(examples_dir, "schema-table-column"), dialect="oracle")
    assert info.value.hint == "use one of: duckdb, postgres, spark"


def test_cli_export_sql_postgres(examples_dir: Path) -> None:
    result = run_cli(
        "export", "sql", str(examples_dir / "odcs" / "all-full-example.odcs.yaml"), "--dialect", "postgres"
    )
    assert result.returncode == 0, result.stderr
    assert set(_creates(result.stdout, "postgres")) == {"tbl_1", "receivers_master"}
    bad = run_cli(
        "export", "sql", str(examples_dir / "odcs" / "all-full-example.odcs.yaml"), "--dialect", "oracle"
    )
    assert bad.returncode == 1
    assert "unknown SQL dialect 'oracle'" in bad.stderr
    assert "duckdb, postgres, spark" in bad.stderr


# --- Markdown -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_markdown_of_every_example(path: Path) -> None:
    contract = load_contract(path).contract
    text = MarkdownExporter().export_contract(contract)
    assert text.startswith(f"# {contract.name or contract.id}\n")
    assert f"| Contract id | `{contract.id}` |" in text
    assert f"| Version | {contract.version} |" in text
    for obj in contract.objects:
        if obj.properties:
            assert "| Column | Type | Required | Unique | PK | Classification | Description |" in text
        for prop in obj.properties or []:
            assert f"| `{prop.name}`" in text
    for sla in contract.sla_properties or []:
        assert f"| {sla.property} |" in text
    _assert_tables_are_rectangular(text)


def _assert_tables_are_rectangular(text: str) -> None:
    block: list[int] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(len(re.findall(r"(?<!\\)\|", line)))
        elif block:
            assert len(set(block)) == 1, block
            block = []


def test_markdown_full_example_in_words(examples_dir: Path) -> None:
    text = MarkdownExporter().export_contract(_contract(examples_dir, "all-full-example"))
    assert "**Purpose:** Views built on top of the seller tables." in text
    assert (
        "| my-postgres | postgres |  | host: localhost, port: 5432, database: pypl-edw,"
        " schema: pp_access_views |  |" in text
    )
    assert "## Core Payment Metrics (`tbl_1`)" in text
    assert (
        "| `id` | string (varchar(18)) | yes | yes | 1 | restricted | Unique identifier for receiver |"
        in text
    )
    assert "| `country_code` | string (varchar(2)) | yes |  | 2 | public |" in text
    assert "Allowed values: `US`, `CA`, `MX`" in text
    assert (
        "- `rcvr_cntry_code`: nullValues must be 0 — column should not contain null values (severity: error)"
        in text
    )
    assert "- table: rowCount must be greater than 1000000" in text
    assert "- `rcvr_id` → `receivers.id`" in text
    assert "- `tbl.rcvr_id, tbl.rcvr_cntry_code` → `receivers.id, receivers.country_code`" in text
    assert "| latency | 4 d | tab1.txn_ref_dt |" in text
    assert "**my-team**: The team owning the data contract" in text
    assert "| daustin |  | Owner | 2022-10-01 |  |" in text
    assert "| datacontract-ann | email | mailto:datacontract-ann@bitol.io |  |" in text


def test_markdown_quality_rules_in_plain_words(examples_dir: Path, orders: Contract) -> None:
    validity = _contract(examples_dir, "quality-column-validity")
    rule = validity.objects[0].properties[0].quality[0]  # type: ignore[index]
    assert rule_in_words(rule) == (
        "invalidValues (validValues: ['', None, 'n/a']) must be less than or equal to 5 percent"
        " — This column should be filled in 95% of the time (severity: error)"
    )
    text = MarkdownExporter().export_contract(orders)
    assert (
        "- `order_total`: SQL `SELECT quantile_cont(order_total, 0.95) AS p95 FROM orders`"
        " must be less than 50000 — 95% of all order totals are below 500 EUR" in text
    )
    assert "- `customer_email_address`: The email address is not verified" not in text  # no such rule here
    assert "| `shipping_address.city` | string (string) | yes |" in text
    assert "| `items[].sku` | string (text) | yes |" in text
    assert "| `items` | array of object (array) |" in text


def _product(examples_dir: Path) -> ProductExport:
    product = DataProduct.model_validate(
        {
            "id": "seller.payments",
            "name": "Seller payments",
            "version": "1.1.0",
            "status": "active",
            "type": "aggregate",
            "owner": "daustin",
            "description": {
                "purpose": "Core payment metrics.",
                "limitations": "Seller side only.",
                "usage": "BI",
            },
            "inputPorts": [
                {
                    "name": "ledger",
                    "description": "Payments | ledger",
                    "source": {
                        "type": "database",
                        "url": "postgresql://reader:s3cret@ledger/db",
                        "table": "payments",
                    },
                },
                {"name": "receivers", "product": "seller.receivers", "port": "receivers"},
                {"name": "drops", "source": {"type": "file", "path": "data/*.csv"}},
            ],
            "outputPorts": [
                {"name": "payments", "description": "Payment metrics", "contract": "payments.odcs.yaml"},
                {"name": "quality", "description": "Air quality", "contract": "quality.odcs.yaml"},
            ],
        }
    )
    contracts = {
        "payments": _contract(examples_dir, "all-full-example"),
        "quality": _contract(examples_dir, "quality-column-completeness"),
    }
    return ProductExport(product, contracts)


def test_markdown_product_section_then_contracts(examples_dir: Path) -> None:
    text = MarkdownExporter().export_product(_product(examples_dir))
    assert text.startswith("# Data product: Seller payments\n")
    for row in ("| Product id | `seller.payments` |", "| Type | aggregate |", "| Owner | daustin |"):
        assert row in text
    assert "**Purpose:** Core payment metrics." in text
    assert "**Limitations:** Seller side only." in text
    assert "| `ledger` | database table `payments` | Payments \\| ledger |" in text
    assert "s3cret" not in text  # a database URL is never printed
    assert "| `receivers` | product `seller.receivers` port `receivers` |" in text
    assert "| `drops` | file `data/*.csv` |" in text
    assert "| `payments` | table | `53581432-6c55-4ba2-a65f-72344a91553a` 1.1.0 |" in text
    contract_at = text.index("## 53581432-6c55-4ba2-a65f-72344a91553a")
    assert text.index("## Output ports") < contract_at < text.index("## my_table")
    assert "### Core Payment Metrics (`tbl_1`)" in text  # contract headings one level down
    _assert_tables_are_rectangular(text)


def test_jsonschema_product_is_one_document(examples_dir: Path) -> None:
    schema = json.loads(JsonSchemaExporter().export_product(_product(examples_dir)))
    Draft202012Validator.check_schema(schema)
    assert list(schema["$defs"]) == ["tbl", "receivers", "Air_Quality"]
    assert schema["title"] == "Seller payments"


def test_cli_export_markdown_and_jsonschema(examples_dir: Path, tmp_path: Path) -> None:
    source = str(examples_dir / "odcs" / "all-full-example.odcs.yaml")
    markdown = run_cli("export", "markdown", source)
    assert markdown.returncode == 0, markdown.stderr
    assert "## Receivers Master Data (`receivers_master`)" in markdown.stdout
    target = tmp_path / "schema.json"
    written = run_cli("export", "jsonschema", source, "-o", str(target))
    assert written.returncode == 0, written.stderr
    Draft202012Validator.check_schema(json.loads(target.read_text(encoding="utf-8")))
