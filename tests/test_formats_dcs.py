"""Data Contract Specification import: realistic documents in, official-schema-valid ODCS out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from quanta.errors import SpecError
from quanta.spec.checks import check_contract
from quanta.spec.formats import importer
from quanta.spec.formats.dcs import DcsImporter, duration
from quanta.spec.loader import load_contract_text
from tests.conftest import run_cli

ORDERS = """\
dataContractSpecification: 1.1.0
id: urn:datacontract:checkout:orders-latest
info:
  title: Orders Latest
  version: 2.0.0
  description: Successful customer orders in the webshop.
  owner: Checkout Team
  status: active
  contact:
    name: John Doe (Data Product Owner)
    url: https://teams.example.com/channel/checkout
    email: checkout@example.com
  x-cost-center: CC-4711
servers:
  production:
    type: s3
    environment: prod
    location: s3://example-orders/v2/{model}/*.json
    format: json
    delimiter: new_line
    roles:
      - name: analyst_us
        description: Access to the data for US region
  warehouse:
    type: postgres
    host: db.example.com
    port: 5432
    database: shop
    schema: checkout
  events:
    type: kafka
    host: kafka.example.com:9092
    topic: orders.v2
    format: avro
  archive:
    type: gcs
    location: gs://example-orders-archive/
    format: parquet
terms:
  usage: Data can be used for reports, analytics and machine learning use cases.
  limitations: Not suitable for real-time use cases.
  billing: 5000 USD per month
  noticePeriod: P3M
models:
  orders:
    title: Orders
    description: One record per order. Includes cancelled and deleted orders.
    type: table
    fields:
      order_id:
        $ref: '#/definitions/order_id'
        required: true
        unique: true
        primaryKey: true
      order_timestamp:
        description: The business timestamp in UTC when the order was successfully registered.
        type: timestamp_tz
        required: true
        example: "2024-09-09T08:30:00Z"
      order_total:
        description: Total amount in the smallest monetary unit (e.g., cents).
        type: long
        required: true
        minimum: 0
        examples: [9999]
        quality:
          - type: sql
            description: 95% of all order totals are below 500 EUR
            query: SELECT quantile_cont(order_total, 0.95) AS p95 FROM orders
            mustBeLessThan: 50000
      amount_eur:
        type: decimal
        precision: 12
        scale: 2
        minimum: 0
      customer_email_address:
        description: The email address, as entered by the customer.
        type: text
        format: email
        required: true
        pii: true
        classification: sensitive
        lineage:
          inputFields:
            - namespace: com.example.service.checkout
              name: checkout_db.orders
              field: email_address
      status:
        type: string
        enum: [placed, shipped, delivered, cancelled]
        required: true
      shipping_address:
        type: object
        fields:
          street: {type: string}
          city: {type: string, required: true}
          zip: {type: string, pattern: '^[0-9]{5}$'}
      items:
        type: array
        items:
          type: struct
          fields:
            sku: {$ref: '#/definitions/sku', required: true}
            quantity: {type: int, minimum: 1}
      attributes:
        type: map
        keys: {type: string}
        values: {type: int}
      processed_timestamp:
        type: timestamp_ntz
        required: true
    quality:
      - type: sql
        description: Orders arrive at least hourly
        query: SELECT COUNT(*) FROM orders WHERE order_timestamp > now() - INTERVAL 1 HOUR
        mustBeGreaterThan: 0
        dimension: timeliness
      - metric: rowCount
        mustBeGreaterThan: 5
  line_items:
    description: A single article that is part of an order.
    type: table
    primaryKey: [order_id, line_item_id]
    fields:
      line_item_id:
        type: text
        required: true
      order_id:
        $ref: '#/definitions/order_id'
        references: orders.order_id
      sku:
        $ref: '#/definitions/sku'
        description: The purchased article number
definitions:
  order_id:
    domain: checkout
    name: order_id
    title: Order ID
    type: text
    format: uuid
    description: An internal ID that identifies an order in the online shop.
    examples: [243c25e5-a081-43a9-aeab-6d5d5b6cb5e2]
    pii: true
    classification: restricted
    tags: [orders]
  sku:
    domain: inventory
    name: sku
    title: Stock Keeping Unit
    type: text
    pattern: ^[A-Za-z0-9]{8,14}$
servicelevels:
  availability:
    description: The server is available during support hours
    percentage: 99.9%
  retention:
    period: P1Y
  latency:
    threshold: 25h
    sourceTimestampField: orders.order_timestamp
    processedTimestampField: orders.processed_timestamp
  freshness:
    threshold: 25h
    timestampField: orders.order_timestamp
  frequency:
    type: batch
    interval: daily
    cron: 0 0 * * *
  support:
    time: 9am to 5pm in EST on business days
    responseTime: 1h
  backup:
    interval: weekly
    cron: 0 0 * * 0
    recoveryTime: 24 hours
    recoveryPoint: 1 week
tags: [checkout, orders]
links:
  datacontractCli: https://cli.datacontract.com
"""

# An older (0.9.3) document: 'primary', record types, a SodaCL model check, warehouse servers.
SENSORS = """\
dataContractSpecification: 0.9.3
id: iot-sensor-readings
info:
  title: Sensor readings
  version: 0.4.1
  owner: IoT Platform
servers:
  analytics:
    type: bigquery
    project: iot-prod
    dataset: readings
  lake:
    type: databricks
    host: dbc-123.cloud.databricks.com
    catalog: iot
    schema: raw
  dwh:
    type: snowflake
    account: acme-eu
    database: IOT
models:
  readings:
    type: table
    fields:
      sensor_id: {type: varchar, primary: true, maxLength: 36}
      read_at: {type: timestamp, primary: true}
      celsius: {type: double, minimum: -90, maximum: 60, description: Temperature}
      humidity: {type: float, exclusiveMinimum: 0, exclusiveMaximum: 100}
      calibrated: {type: boolean}
      day: {type: date, minimum: '2020-01-01'}
      payload: {type: bytes}
      location:
        type: record
        fields:
          lat: {type: number, minimum: -90, maximum: 90}
          lon: {type: number, minimum: -180, maximum: 180}
      config:
        type: map
      firmware: {type: integer, format: semver-build}
    quality:
      - type: SodaCL
        specification:
          checks for readings:
            - row_count > 0
      - type: text
        description: Sensors are calibrated monthly.
"""

MINIMAL = """\
dataContractSpecification: 1.1.0
id: minimal
info: {title: Minimal, version: "1.0"}
models:
  things:
    fields:
      name: {type: string}
"""


def _import(text: str, source: str = "orders.dcs.yaml") -> dict[str, Any]:
    out = DcsImporter().import_text(text, source)
    loaded = load_contract_text(out, "imported.odcs.yaml")  # the official ODCS 3.2 schema and the model
    assert [p for p in check_contract(loaded) if p.severity == "error"] == []
    data: dict[str, Any] = yaml.safe_load(out)
    return data


def _prop(data: dict[str, Any], obj: str, name: str) -> dict[str, Any]:
    schema = next(o for o in data["schema"] if o["name"] == obj)
    return next(p for p in schema["properties"] if p["name"] == name)


def _custom(element: dict[str, Any]) -> dict[str, Any]:
    return {c["property"]: c["value"] for c in element.get("customProperties", [])}


@pytest.fixture(scope="module")
def orders() -> dict[str, Any]:
    return _import(ORDERS)


def test_fundamentals_terms_owner_contact_links(orders: dict[str, Any]) -> None:
    assert orders["apiVersion"] == "v3.2.0"
    assert orders["kind"] == "DataContract"
    assert (orders["id"], orders["name"], orders["version"], orders["status"]) == (
        "urn:datacontract:checkout:orders-latest",
        "Orders Latest",
        "2.0.0",
        "active",
    )
    assert orders["description"] == {
        "purpose": "Successful customer orders in the webshop.",
        "usage": "Data can be used for reports, analytics and machine learning use cases.",
        "limitations": "Not suitable for real-time use cases.",
    }
    assert orders["team"] == {"name": "Checkout Team"}
    assert {
        "channel": "John Doe (Data Product Owner)",
        "tool": "email",
        "url": "mailto:checkout@example.com",
    } in (orders["support"])
    assert any(s["url"] == "https://teams.example.com/channel/checkout" for s in orders["support"])
    assert orders["tags"] == ["checkout", "orders"]
    assert orders["authoritativeDefinitions"] == [
        {"type": "datacontractCli", "url": "https://cli.datacontract.com"}
    ]
    extras = _custom(orders)
    assert extras["billing"] == "5000 USD per month"
    assert extras["noticePeriod"] == "P3M"
    assert extras["x-cost-center"] == "CC-4711"
    assert extras["dataContractSpecification"] == "1.1.0"


def test_servers_keep_odcs_fields_and_move_the_rest(orders: dict[str, Any]) -> None:
    servers = {s["server"]: s for s in orders["servers"]}
    s3 = servers["production"]
    assert (s3["type"], s3["location"], s3["format"], s3["delimiter"], s3["environment"]) == (
        "s3",
        "s3://example-orders/v2/{model}/*.json",
        "json",
        "new_line",
        "prod",
    )
    assert s3["roles"] == [{"role": "analyst_us", "description": "Access to the data for US region"}]
    assert servers["warehouse"] == {
        "server": "warehouse",
        "type": "postgres",
        "host": "db.example.com",
        "port": 5432,
        "database": "shop",
        "schema": "checkout",
    }
    assert servers["events"]["type"] == "kafka"
    assert _custom(servers["events"]) == {"topic": "orders.v2"}
    # ODCS has no 'gcs' server type: it becomes a custom server that remembers the original type.
    assert servers["archive"]["type"] == "custom"
    assert servers["archive"]["location"] == "gs://example-orders-archive/"
    assert _custom(servers["archive"]) == {"serverType": "gcs"}


def test_types_constraints_and_physical_types(orders: dict[str, Any]) -> None:
    total = _prop(orders, "orders", "order_total")
    assert (total["logicalType"], total["physicalType"], total["logicalTypeOptions"]) == (
        "integer",
        "long",
        {"minimum": 0},
    )
    assert total["examples"] == [9999]
    amount = _prop(orders, "orders", "amount_eur")
    assert (amount["logicalType"], amount["physicalType"]) == ("number", "decimal(12,2)")
    stamp = _prop(orders, "orders", "order_timestamp")
    assert stamp["logicalType"] == "timestamp"
    assert stamp["logicalTypeOptions"] == {"timezone": True}
    assert stamp["examples"] == ["2024-09-09T08:30:00Z"]
    assert _prop(orders, "orders", "processed_timestamp")["logicalTypeOptions"] == {"timezone": False}
    email = _prop(orders, "orders", "customer_email_address")
    assert email["logicalTypeOptions"] == {"format": "email"}
    assert email["classification"] == "sensitive"
    assert email["tags"] == ["pii"]
    assert _custom(email)["lineage"]["inputFields"][0]["field"] == "email_address"
    status = _prop(orders, "orders", "status")
    assert status["enum"] == [{"value": v} for v in ("placed", "shipped", "delivered", "cancelled")]


def test_definitions_are_merged_and_the_field_wins(orders: dict[str, Any]) -> None:
    order_id = _prop(orders, "orders", "order_id")
    assert order_id["businessName"] == "Order ID"
    assert order_id["description"] == "An internal ID that identifies an order in the online shop."
    assert order_id["logicalTypeOptions"] == {"format": "uuid"}
    assert (order_id["required"], order_id["unique"], order_id["primaryKey"]) == (True, True, True)
    assert order_id["tags"] == ["orders", "pii"]
    assert order_id["classification"] == "restricted"
    sku = _prop(orders, "line_items", "sku")
    assert sku["description"] == "The purchased article number"
    assert sku["businessName"] == "Stock Keeping Unit"
    assert sku["logicalTypeOptions"] == {"pattern": "^[A-Za-z0-9]{8,14}$"}


def test_references_and_composite_primary_key(orders: dict[str, Any]) -> None:
    line_order = _prop(orders, "line_items", "order_id")
    assert line_order["relationships"] == [{"type": "foreignKey", "to": "orders.order_id"}]
    assert (line_order["primaryKey"], line_order["primaryKeyPosition"]) == (True, 1)
    line_id = _prop(orders, "line_items", "line_item_id")
    assert (line_id["primaryKey"], line_id["primaryKeyPosition"]) == (True, 2)


def test_nested_fields_become_properties_items_and_map(orders: dict[str, Any]) -> None:
    address = _prop(orders, "orders", "shipping_address")
    assert address["logicalType"] == "object"
    assert [p["name"] for p in address["properties"]] == ["street", "city", "zip"]
    assert address["properties"][1]["required"] is True
    assert address["properties"][2]["logicalTypeOptions"] == {"pattern": "^[0-9]{5}$"}
    items = _prop(orders, "orders", "items")
    assert items["logicalType"] == "array"
    assert items["items"]["logicalType"] == "object"
    assert items["items"]["physicalType"] == "struct"
    sku = items["items"]["properties"][0]
    assert (sku["name"], sku["required"], sku["businessName"]) == ("sku", True, "Stock Keeping Unit")
    attributes = _prop(orders, "orders", "attributes")
    assert attributes["map"]["key"]["logicalType"] == "string"
    assert attributes["map"]["value"] == {"logicalType": "integer", "physicalType": "int"}


def test_quality_rules(orders: dict[str, Any]) -> None:
    total = _prop(orders, "orders", "order_total")
    assert total["quality"] == [
        {
            "type": "sql",
            "description": "95% of all order totals are below 500 EUR",
            "query": "SELECT quantile_cont(order_total, 0.95) AS p95 FROM orders",
            "mustBeLessThan": 50000,
        }
    ]
    model_rules = next(o for o in orders["schema"] if o["name"] == "orders")["quality"]
    assert model_rules[0]["dimension"] == "timeliness"
    assert model_rules[0]["mustBeGreaterThan"] == 0
    assert model_rules[1] == {"type": "library", "metric": "rowCount", "mustBeGreaterThan": 5}


def test_service_levels_become_sla_properties(orders: dict[str, Any]) -> None:
    slas = {s["property"]: s for s in orders["slaProperties"]}
    assert slas["availability"] == {
        "property": "availability",
        "value": 99.9,
        "unit": "percent",
        "description": "The server is available during support hours",
    }
    assert (slas["retention"]["value"], slas["retention"]["unit"]) == (1, "years")
    assert slas["latency"]["value"] == 25
    assert slas["latency"]["unit"] == "hours"
    assert slas["latency"]["element"] == "orders.order_timestamp, orders.processed_timestamp"
    assert slas["freshness"]["element"] == "orders.order_timestamp"
    assert slas["frequency"] == {
        "property": "frequency",
        "value": "daily",
        "scheduler": "cron",
        "schedule": "0 0 * * *",
    }
    assert slas["supportTime"]["value"] == "9am to 5pm in EST on business days"
    assert (slas["responseTime"]["value"], slas["responseTime"]["unit"]) == (1, "hours")
    assert slas["backup"]["schedule"] == "0 0 * * 0"
    assert (slas["recoveryTime"]["value"], slas["recoveryTime"]["unit"]) == (24, "hours")
    assert (slas["recoveryPoint"]["value"], slas["recoveryPoint"]["unit"]) == (1, "weeks")


def test_older_document_with_warehouse_servers_and_soda_checks() -> None:
    data = _import(SENSORS, "sensors.yaml")
    assert (data["id"], data["version"], data["team"]) == (
        "iot-sensor-readings",
        "0.4.1",
        {"name": "IoT Platform"},
    )
    servers = {s["server"]: s for s in data["servers"]}
    assert servers["analytics"] == {
        "server": "analytics",
        "type": "bigquery",
        "project": "iot-prod",
        "dataset": "readings",
    }
    assert servers["lake"]["catalog"] == "iot"
    # ODCS requires a schema for snowflake servers; without one the server is kept as custom.
    assert servers["dwh"]["type"] == "custom"
    assert servers["dwh"]["account"] == "acme-eu"
    sensor = _prop(data, "readings", "sensor_id")
    assert (sensor["primaryKey"], sensor["primaryKeyPosition"], sensor["logicalTypeOptions"]) == (
        True,
        1,
        {"maxLength": 36},
    )
    assert _prop(data, "readings", "read_at")["primaryKeyPosition"] == 2
    humidity = _prop(data, "readings", "humidity")
    assert humidity["logicalTypeOptions"] == {"exclusiveMinimum": 0, "exclusiveMaximum": 100}
    assert _prop(data, "readings", "day")["logicalTypeOptions"] == {"minimum": "2020-01-01"}
    payload = _prop(data, "readings", "payload")
    assert (payload["logicalType"], payload["physicalType"]) == ("string", "bytes")
    location = _prop(data, "readings", "location")
    assert [p["name"] for p in location["properties"]] == ["lat", "lon"]
    # A map without keys/values still needs ODCS's map definition; the default is string to string.
    assert _prop(data, "readings", "config")["map"]["value"] == {"logicalType": "string"}
    # 'format: semver-build' is not an ODCS integer format: kept as a custom property, not lost.
    firmware = _prop(data, "readings", "firmware")
    assert "logicalTypeOptions" not in firmware
    assert _custom(firmware) == {"format": "semver-build"}
    soda, text = next(o for o in data["schema"] if o["name"] == "readings")["quality"]
    assert soda["type"] == "custom"
    assert soda["engine"] == "SodaCL"
    assert soda["implementation"] == {"checks for readings": ["row_count > 0"]}
    assert text == {"type": "text", "description": "Sensors are calibrated monthly."}


def test_minimal_document() -> None:
    data = _import(MINIMAL, "minimal.yaml")
    assert data == {
        "apiVersion": "v3.2.0",
        "kind": "DataContract",
        "id": "minimal",
        "name": "Minimal",
        "version": "1.0",
        "schema": [
            {
                "name": "things",
                "logicalType": "object",
                "properties": [{"name": "name", "logicalType": "string", "physicalType": "string"}],
            }
        ],
        "customProperties": [{"property": "dataContractSpecification", "value": "1.1.0"}],
    }


def test_registered_under_dcs() -> None:
    assert isinstance(importer("dcs"), DcsImporter)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25h", {"value": 25, "unit": "hours"}),
        ("P1Y", {"value": 1, "unit": "years"}),
        ("P3M", {"value": 3, "unit": "months"}),
        ("PT30M", {"value": 30, "unit": "minutes"}),
        ("10 days", {"value": 10, "unit": "days"}),
        ("1.5h", {"value": 1.5, "unit": "hours"}),
        ("P1DT2H", {"value": "P1DT2H"}),
        ("daily", {"value": "daily"}),
    ],
)
def test_duration(text: str, expected: dict[str, Any]) -> None:
    assert duration(text) == expected


# --- bad input: every problem positioned in the DCS file ------------------------------------------

BAD_FIELDS = """\
dataContractSpecification: 1.1.0
id: bad
info:
  title: Bad
  version: 1.0.0
models:
  orders:
    primaryKey: [id, nope]
    fields:
      id:
        type: uuid4
      customer:
        $ref: '#/definitions/customer_id'
      note:
        $ref: 'https://example.com/definitions.yaml#/note'
      total:
        type: number
        minimum: ten
        required: yes
      parent:
        type: string
        references: orders.missing
      loop:
        $ref: '#/definitions/a'
      coded:
        $ref: '#/definitions/code'
    quality:
      - type: sql
        query: SELECT COUNT(*) FROM orders
      - type: sql
        query: SELECT COUNT(*) FROM orders
        mustBe: 0
        mustBeLessThan: 3
definitions:
  customer:
    type: string
  a:
    $ref: '#/definitions/b'
  b:
    $ref: '#/definitions/a'
  code:
    type: character
"""


_HEAD = "dataContractSpecification: 1.1.0\nid: x\ninfo: {version: '1'}\n"
_FIELD_DOC = _HEAD + "models:\n  m:\n    fields:\n"


def _problems(text: str, source: str = "bad.yaml") -> list[tuple[int | None, int | None, str, str | None]]:
    with pytest.raises(SpecError) as info:
        DcsImporter().import_text(text, source)
    assert all(p.source == source for p in info.value.problems)
    return [(p.line, p.column, p.message, p.hint) for p in info.value.problems]


def test_every_field_problem_is_reported_with_its_position() -> None:
    found = {(line, column): (message, hint) for line, column, message, hint in _problems(BAD_FIELDS)}
    assert found[(11, 9)][0] == "unknown field type 'uuid4'"
    assert "string, struct, text" in (found[(11, 9)][1] or "")
    assert found[(13, 9)][0] == "$ref '#/definitions/customer_id' points to nothing"
    assert found[(13, 9)][1] == "definitions in this file: a, b, code, customer"
    assert "only references inside this document" in found[(15, 9)][0]
    assert found[(18, 9)][0] == "minimum 'ten' does not fit a number field"
    assert found[(19, 9)] == ("'required' must be true or false, got a string", "use true or false")
    assert found[(22, 9)][0] == "references 'orders.missing' but model 'orders' has no field 'missing'"
    assert found[(40, 5)][0] == "$ref '#/definitions/a' refers back to itself"
    # The type came from a definition: the problem points there, not at the $ref.
    assert found[(42, 5)][0] == "unknown field type 'character'"
    assert found[(8, 5)][0] == "primary key column 'nope' is not a field of this model"
    assert found[(28, 9)][0] == "a quality rule needs exactly one comparator (found none)"
    assert found[(30, 9)][0] == "a quality rule needs exactly one comparator (found mustBe, mustBeLessThan)"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("- a\n- b\n", 1, 1, "expected a Data Contract Specification document (a YAML mapping), got a list"),
        (
            "",
            None,
            None,
            "expected a Data Contract Specification document (a YAML mapping), got an empty file",
        ),
        (
            "apiVersion: v3.1.0\nkind: DataContract\n",
            1,
            1,
            "not a Data Contract Specification document: 'dataContractSpecification' is missing",
        ),
        (
            "dataContractSpecification: 2.0.0\nid: x\ninfo: {version: 1.0.0}\n",
            1,
            1,
            "unsupported DCS version '2.0.0'",
        ),
        ("dataContractSpecification: 1.1.0\ninfo: {version: 1.0.0}\n", 1, 1, "missing required field 'id'"),
        (
            "dataContractSpecification: 1.1.0\nid: x\ninfo:\n  title: T\n",
            3,
            1,
            "missing required field 'version'",
        ),
        (
            "dataContractSpecification: 1.1.0\nid: x\ninfo: {version: '1'}\nmodels: [a, b]\n",
            4,
            1,
            "'models' must be",
        ),
        (
            "dataContractSpecification: 1.1.0\nid: x\ninfo: {version: '1'}\nservers:\n  prod:\n    host: h\n",
            5,
            3,
            "server 'prod' has no 'type'",
        ),
        (_FIELD_DOC + "      a: {description: untyped}\n", 7, 7, "field 'a' has no 'type'"),
        (
            _FIELD_DOC + "      a:\n        type: string\n        quality:\n          - type: text\n"
            "            description: [a, b]\n",
            11,
            13,
            "cannot be written as ODCS DataQuality: ['a', 'b'] is not of type 'string'",
        ),
        (
            _HEAD + "servers:\n  prod:\n    type: postgres\n    host: h\n    port: '5432'\n    database: d\n"
            "    schema: s\n",
            8,
            5,
            "cannot be written as ODCS Server: '5432' is not of type 'integer'",
        ),
        (
            _FIELD_DOC + "      a: {type: string, enum: [[1, 2]]}\n",
            7,
            25,
            "'enum' must be a list of plain values",
        ),
        (
            _FIELD_DOC + "      a: {type: string, fields: {b: {type: string}}}\n",
            7,
            25,
            "'fields' only applies to object fields, not 'string'",
        ),
        (
            _FIELD_DOC + "      a: {type: string, quality: [{metric: emptyValues, mustBe: 0}]}\n",
            7,
            35,
            "unknown quality metric 'emptyValues'",
        ),
    ],
)
def test_bad_documents(text: str, line: int | None, column: int | None, message: str) -> None:
    problems = _problems(text)
    assert any(
        (p_line, p_col) == (line, column) and p_message.startswith(message)
        for p_line, p_col, p_message, _ in problems
    ), problems


def test_yaml_syntax_error_is_positioned() -> None:
    problems = _problems("dataContractSpecification: 1.1.0\nid: [unclosed\n")
    assert problems[0][2].startswith("invalid YAML")
    assert problems[0][0] is not None


# --- through the real CLI -------------------------------------------------------------------------


def test_cli_import_dcs(tmp_path: Path) -> None:
    source = tmp_path / "orders.dcs.yaml"
    source.write_text(ORDERS, encoding="utf-8")
    result = run_cli("import", "dcs", str(source))
    assert result.returncode == 0, result.stderr
    contract = load_contract_text(result.stdout, "stdout").contract
    assert contract.id == "urn:datacontract:checkout:orders-latest"
    assert [o.name for o in contract.objects] == ["orders", "line_items"]
    # The written file is a contract the rest of Quanta accepts.
    target = tmp_path / "orders.odcs.yaml"
    written = run_cli("import", "dcs", str(source), "-o", str(target))
    assert written.returncode == 0, written.stderr
    assert run_cli("export", "odcs", str(target)).returncode == 0


def test_cli_import_dcs_reports_positions(tmp_path: Path) -> None:
    source = tmp_path / "bad.dcs.yaml"
    source.write_text(BAD_FIELDS, encoding="utf-8")
    result = run_cli("import", "dcs", str(source))
    assert result.returncode == 1
    assert f"{source}:11:9: error: unknown field type 'uuid4'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
