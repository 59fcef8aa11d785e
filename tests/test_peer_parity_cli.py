"""Verdict parity with datacontract-cli on its command line: every ``--checks`` spelling, ``--dimension``,
``--quality-id``, ``--tag``, row filters, ``--metadata-only``, ``--server all``, sample and log options;
``delimiter`` on local JSON servers; Data Contract Specification types (``bytes`` and the rest of the
table); nested types (array items, struct members). Both tools get the same arguments (the peer's
spelling) from the same working directory; the harness is ``tests/test_peer_parity.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_peer_parity import Case, assert_parity, datacontract, rows

pytestmark = pytest.mark.slow
__all__ = ["datacontract"]  # the fixture, used by name

ORDERS = """\
apiVersion: v3.0.2
kind: DataContract
id: parity.cli
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: integer
        required: true
        unique: true
      - name: status
        logicalType: string
        quality:
          - id: status-valid
            metric: invalidValues
            arguments: {validValues: [open, shipped]}
            mustBe: 0
            dimension: conformity
            tags: [nightly]
      - name: amount
        logicalType: number
        logicalTypeOptions: {minimum: 0}
        quality:
          - id: amount-complete
            metric: nullValues
            mustBe: 0
            dimension: completeness
            tags: [finance]
      - name: placed
        logicalType: date
    quality:
      - id: volume
        metric: rowCount
        mustBeGreaterThan: 0
        dimension: completeness
        tags: [nightly]
servers:
  - server: local
    type: local
    path: ./data/{model}.parquet
    format: parquet
  - server: other
    type: local
    path: ./elsewhere/{model}.parquet
    format: parquet
"""
GOOD = rows(
    "order_id, status, amount, placed",
    "(1, 'open', 10.0, date '2026-01-01')",
    "(2, 'shipped', 20.0, date '2026-01-02')",
)
# Rows 3 and 4 break a rule each (status, amount); row 5 repeats an order id.
BROKEN = rows(
    "order_id, status, amount, placed",
    "(1, 'open', 10.0, date '2026-01-01')",
    "(2, 'shipped', 20.0, date '2026-01-02')",
    "(3, 'lost', 30.0, date '2026-01-03')",
    "(4, 'open', null, date '2026-01-04')",
)
DUPLICATED = BROKEN.replace("(4, 'open', null", "(3, 'open', null")


def orders(data: str, *args: str, **kw: object) -> Case:
    return Case(ORDERS, {"orders": data}, args=("--server", "local", *args), **kw)  # type: ignore[arg-type]


CHECKS = {
    # Each spelling of each category, on data where only some categories fail.
    "schema": orders(DUPLICATED, "--checks", "schema"),
    "properties": orders(DUPLICATED, "--checks", "properties"),
    "quality": orders(BROKEN, "--checks", "quality"),
    "quality-upper-case": orders(BROKEN, "--checks", "QUALITY"),
    "schema-quality-with-space": orders(BROKEN, "--checks", "schema, quality"),
    "slaProperties": orders(BROKEN, "--checks", "slaProperties"),
    "servicelevel": orders(BROKEN, "--checks", "servicelevel"),
    "custom": orders(BROKEN, "--checks", "custom"),
    "properties-on-good-data": orders(GOOD, "--checks", "Properties"),
}

SELECTION = {
    "dimension-completeness": orders(BROKEN, "--dimension", "completeness"),
    "dimension-uniqueness": orders(DUPLICATED, "--dimension", "uniqueness"),
    "dimension-uniqueness-clean": orders(
        BROKEN.replace("(4, 'open', null", "(4, 'open', 1.0"), "--dimension", "uniqueness"
    ),
    "quality-id": orders(BROKEN, "--quality-id", "status-valid"),
    "quality-id-passing": orders(BROKEN, "--quality-id", "volume"),
    "quality-ids": orders(BROKEN, "--quality-id", "volume, amount-complete"),
    "tag": orders(BROKEN, "--tag", "finance"),
    "tag-nightly": orders(BROKEN, "--tag", "nightly"),
    "metadata-only": orders(BROKEN, "--metadata-only"),
    "include-failed-samples": orders(BROKEN, "--include-failed-samples"),
    "logs": orders(GOOD, "--logs"),
    "server-all": Case(ORDERS, {"orders": BROKEN}, args=("--server", "all")),
    "no-server-option": Case(ORDERS, {"orders": GOOD}, args=()),
}

FILTERS = {
    # The broken rows are filtered out: quality rules see only the good ones.
    "filter-excludes-broken-rows": orders(BROKEN, "--filter", "order_id <= 2", "--checks", "quality"),
    "filter-keeps-broken-rows": orders(BROKEN, "--filter", "order_id >= 3", "--checks", "quality"),
    "filters-json": orders(BROKEN, "--filters", '{"orders": "amount is not null"}', "--checks", "quality"),
    # Row checks of the schema (required, unique) are filtered too; presence and types do not need rows.
    "filter-all-checks": orders(DUPLICATED, "--filter", "order_id < 3"),
    "filter-all-checks-keeps-duplicate": orders(DUPLICATED, "--filter", "order_id >= 3"),
}

JSON_PEOPLE = """\
apiVersion: v3.0.2
kind: DataContract
id: parity.json
version: 1.0.0
status: active
schema:
  - name: people
    properties:
      - name: id
        logicalType: integer
        required: true
      - name: name
        logicalType: string
servers:
  - server: local
    type: local
    path: ./data/people.{suffix}
    format: json
    delimiter: {delimiter}
"""
PEOPLE = rows("id, name", "(1, 'ann')", "(2, 'bob')")
UNREADABLE = {"people is readable": "error"}
PEOPLE_NULL_ID = rows("id, name", "(1, 'ann')", "(null, 'bob')")
DELIMITER = {
    # The official ODCS schema declares `delimiter` only for object-store servers; both tools run anyway.
    "new-line": Case(
        JSON_PEOPLE.format(suffix="ndjson", delimiter="new_line"), {"data/people.ndjson": PEOPLE}, fmt="json"
    ),
    "array": Case(
        JSON_PEOPLE.format(suffix="json", delimiter="array"), {"data/people.json": PEOPLE}, fmt="json"
    ),
    "new-line-broken": Case(
        JSON_PEOPLE.format(suffix="ndjson", delimiter="new_line"),
        {"data/people.ndjson": PEOPLE_NULL_ID},
        fmt="json",
    ),
    "array-broken": Case(
        JSON_PEOPLE.format(suffix="json", delimiter="array"), {"data/people.json": PEOPLE_NULL_ID}, fmt="json"
    ),
    # An array file read as newline-delimited (and the other way round): neither tool can read it; the
    # peer says so in a `general` check, Quanta in an error check of the object.
    "array-file-read-as-new-line": Case(
        JSON_PEOPLE.format(suffix="json", delimiter="new_line"),
        {"data/people.json": rows("id, name", *[f"({i}, 'n{i}')" for i in range(3)])},
        fmt="json",
        expect=UNREADABLE,
    ),
    "new-line-file-read-as-array": Case(
        JSON_PEOPLE.format(suffix="ndjson", delimiter="array"),
        {"data/people.ndjson": PEOPLE},
        fmt="json",
        expect=UNREADABLE,
    ),
}

DCS_TYPES = """\
dataContractSpecification: 1.1.0
id: parity-dcs
info:
  title: Parity DCS
  version: 1.0.0
servers:
  local:
    type: local
    path: ./data/{model}.parquet
    format: parquet
models:
  things:
    type: table
    fields:
      id:
        type: long
        required: true
        unique: true
      payload:
        type: bytes
      label:
        type: text
      price:
        type: decimal
        precision: 10
        scale: 2
      ratio:
        type: double
      active:
        type: boolean
      born:
        type: date
      seen:
        type: timestamp
"""
THINGS = (
    "select i::bigint as id, ('x' || i)::blob as payload, 'label ' || i as label, (i * 1.5)::decimal(10, 2) "
    "as price, i / 3 as ratio, i % 2 = 0 as active, date '2020-01-01' + i::int as born, "
    "timestamp '2020-01-01 10:00:00' as seen from range(1, 4) as r(i)"
)
DCS_NESTED = """\
dataContractSpecification: 1.1.0
id: parity-nested
info:
  title: Parity nested
  version: 1.0.0
servers:
  local:
    type: local
    path: ./data/{model}.parquet
    format: parquet
models:
  events:
    type: table
    fields:
      id:
        type: integer
      scores:
        type: array
        items:
          type: integer
      origin:
        type: object
        fields:
          city:
            type: string
          zip:
            type: integer
"""
DCS = {
    "bytes-and-the-type-table": Case(DCS_TYPES, {"things": THINGS}, contract_path="datacontract.yaml"),
    "duplicate-id": Case(
        DCS_TYPES,
        {"things": THINGS.replace("i::bigint as id", "(i % 2)::bigint as id")},
        contract_path="datacontract.yaml",
    ),
    "checks-quality-on-dcs": Case(
        DCS_TYPES, {"things": THINGS}, contract_path="datacontract.yaml", args=("--checks", "quality")
    ),
    "nested-good": Case(
        DCS_NESTED,
        {"events": "select 1 as id, [1, 2] as scores, {'city': 'Oslo', 'zip': 150} as origin"},
        contract_path="datacontract.yaml",
    ),
    # The peer casts the Parquet data to the declared types and cannot ("Could not convert string");
    # Quanta reports the item type.
    "nested-array-items-broken": Case(
        DCS_NESTED,
        {"events": "select 1 as id, ['a', 'b'] as scores, {'city': 'Oslo', 'zip': 150} as origin"},
        contract_path="datacontract.yaml",
        expect={"scores has type array": "failed"},
        ok=False,
    ),
    "nested-struct-member-broken": Case(
        DCS_NESTED,
        {"events": "select 1 as id, [1] as scores, {'city': 'Oslo', 'zip': 'x150'} as origin"},
        contract_path="datacontract.yaml",
        expect={"origin has type object": "failed"},
        ok=False,
    ),
}

NESTED_ODCS = """\
apiVersion: v3.0.2
kind: DataContract
id: parity.nested
version: 1.0.0
status: active
schema:
  - name: baskets
    properties:
      - name: id
        logicalType: integer
      - name: quantities
        logicalType: array
        items:
          logicalType: integer
      - name: buyer
        logicalType: object
        properties:
          - name: name
            logicalType: string
          - name: age
            logicalType: integer
servers:
  - server: local
    type: local
    path: ./data/{model}.parquet
    format: parquet
"""
NESTED = {
    "good": Case(
        NESTED_ODCS, {"baskets": "select 1 as id, [1, 2] as quantities, {'name': 'ann', 'age': 30} as buyer"}
    ),
    "array-of-strings": Case(
        NESTED_ODCS,
        {"baskets": "select 1 as id, ['1', 'two'] as quantities, {'name': 'ann', 'age': 30} as buyer"},
        expect={"quantities has type array": "failed"},
        ok=False,
    ),
    "struct-member-of-wrong-type": Case(
        NESTED_ODCS,
        {"baskets": "select 1 as id, [1] as quantities, {'name': 'ann', 'age': 'thirty'} as buyer"},
        expect={"buyer has type object": "failed"},
        ok=False,
    ),
}

# A second object: --schema-name picks one, and --filter then applies to it alone.
TWO_OBJECTS = ORDERS.replace(
    "servers:\n",
    "  - name: customers\n    properties:\n      - name: customer_id\n        logicalType: integer\n"
    "        required: true\nservers:\n",
    1,
)
CUSTOMERS_BROKEN = rows("customer_id", "(1)", "(null::int)")
SCHEMA_NAME = {
    "orders-only": Case(
        TWO_OBJECTS,
        {"orders": GOOD, "customers": CUSTOMERS_BROKEN},
        args=("--server", "local", "--schema-name", "orders"),
    ),
    "customers-only": Case(
        TWO_OBJECTS,
        {"orders": GOOD, "customers": CUSTOMERS_BROKEN},
        args=("--server", "local", "--schema-name", "customers"),
    ),
    "with-filter": Case(
        TWO_OBJECTS,
        {"orders": BROKEN, "customers": CUSTOMERS_BROKEN},
        args=("--server", "local", "--schema-name", "orders", "--filter", "order_id < 3"),
    ),
}

CASES = {
    **{f"checks-{k}": v for k, v in CHECKS.items()},
    **{f"select-{k}": v for k, v in SELECTION.items()},
    **{f"filter-{k}": v for k, v in FILTERS.items()},
    **{f"schema-name-{k}": v for k, v in SCHEMA_NAME.items()},
    **{f"json-delimiter-{k}": v for k, v in DELIMITER.items()},
    **{f"dcs-{k}": v for k, v in DCS.items()},
    **{f"nested-{k}": v for k, v in NESTED.items()},
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_command_line_verdicts_agree_with_datacontract_cli(
    case: Case, tmp_path: Path, datacontract: Path
) -> None:
    assert_parity(case, tmp_path, datacontract)
