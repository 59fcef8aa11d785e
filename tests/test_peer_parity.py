"""Verdict parity with datacontract-cli: ``quanta test`` and ``datacontract test`` on the same contracts
and the same local Parquet/CSV data must agree, check by check and overall.

datacontract-cli runs from its own venv (``.peers/datacontract``, made by ``peers/setup.sh``, which this
module runs once when the venv is missing). Both tools run concurrently on each case; their JSON reports
are matched by what a check measures (object, column, rule family), never by name.

Where datacontract-cli does not check something (it says so in its report: a ``warning`` with a reason,
or it cannot read the data at all), the case lists the verdicts Quanta must give instead. Where Quanta
is wrong, the case would be ``xfail(strict=True)`` with the reason, so fixing Quanta flips it to a
failure that asks for the mark to go (no case needs one now).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests.conftest import ROOT, SHARED

pytestmark = pytest.mark.slow

PEERS = ROOT / ".peers"
SETUP = ROOT / "peers" / "setup.sh"
DATACONTRACT = PEERS / "datacontract" / "bin" / "datacontract"
EXAMPLES = SHARED / "examples" / "odcs"
TODAY = datetime.now(UTC).date()
UNREACHABLE = 2  # peers/setup.sh exit status when the package index cannot be reached


# --- the peer ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def datacontract() -> Path:
    """The datacontract-cli executable, installed by peers/setup.sh the first time it is needed."""
    if DATACONTRACT.exists():
        return DATACONTRACT
    if not SETUP.exists():
        pytest.skip(f"{DATACONTRACT} is missing and {SETUP} is not there to install it")
    PEERS.mkdir(exist_ok=True)
    # pytest-xdist runs a session per worker: one installs, the others wait for it.
    with (PEERS / ".setup.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not DATACONTRACT.exists():
            done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, check=False)
            if done.returncode == UNREACHABLE:
                pytest.skip(f"cannot install datacontract-cli: {done.stderr.strip()}")
            if done.returncode != 0:
                pytest.fail(f"peers/setup.sh failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return DATACONTRACT


# --- cases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A contract, the data to test it on, and what Quanta must say where the peer cannot tell."""

    contract: str
    """The contract's YAML text, with a ``local`` server reading ``./data/{model}.<format>``."""
    tables: dict[str, str]
    """File stem under ``data/`` ► a DuckDB query producing the file's rows."""
    fmt: str = "parquet"
    expect: dict[str, str] = field(default_factory=dict)
    """Quanta check name ► verdict, for checks datacontract-cli does not make (the reason is a comment
    where the case is defined). Every other Quanta-only check must pass or be a warning."""
    ok: bool | None = None
    """The overall verdict, when it cannot come from datacontract-cli."""
    peer_unreadable: str | None = None
    """datacontract-cli cannot read this contract's data at all: the reason, found in its report."""
    contract_path: str = "contract.odcs.yaml"
    """Where the contract is written, relative to the case's folder."""
    cwd: str = "."
    """The folder both tools run from, relative to the case's folder (users run from a project root)."""
    args: tuple[str, ...] = ("--server", "local")
    """Arguments both tools get after the contract path (datacontract-cli's spelling)."""
    quanta_args: tuple[str, ...] = ()
    """Extra arguments for ``quanta test`` only (where Quanta deliberately spells something differently)."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment both tools run with (``DATACONTRACT_*`` overrides)."""
    files: dict[str, str] = field(default_factory=dict)
    """Raw files: path relative to the case's folder ► text (JSON, CSV exactly as written)."""


def with_local_server(text: str, fmt: str = "parquet") -> str:
    """The contract text with a ``local`` server added and everything else as written."""
    block = f"  - server: local\n    type: local\n    path: ./data/{{model}}.{fmt}\n    format: {fmt}\n"
    if "\nservers:\n" in text:
        return text.replace("\nservers:\n", "\nservers:\n" + block, 1)
    return text.rstrip("\n") + "\n\nservers:\n" + block


def example(name: str, fmt: str = "parquet") -> str:
    """An example contract with a local server; empty when ../shared/examples is not beside the project."""
    path = EXAMPLES / f"{name}.odcs.yaml"
    return with_local_server(path.read_text(encoding="utf-8"), fmt) if path.is_file() else ""


def rows(columns: str, *values: str) -> str:
    """A DuckDB query of literal rows: ``rows("a, b", "(1, 'x')", "(2, 'y')")``."""
    return f"select * from (values {', '.join(values)}) as t({columns})"


# (a) The ODCS examples of ../shared/examples/odcs, each with a local server added.

AIR = "Air_Quality"
COMPLETENESS = {
    "good": Case(
        example("quality-column-completeness"),
        {AIR: rows('"UniqueID"', "(1::int)", "(2::int)", "(3::int)")},
    ),
    "broken": Case(
        example("quality-column-completeness"),
        {AIR: rows('"UniqueID"', "(1::int)", "(1::int)", "(null::int)")},
    ),
    # datacontract-cli: "Checking types in parquet files is not supported yet." (a warning in its report)
    "wrong-type": Case(
        example("quality-column-completeness"),
        {AIR: rows('"UniqueID"', "('1')", "('2')")},
        expect={"UniqueID has type number": "failed"},
        ok=False,
    ),
}

VALIDITY = {
    # validValues are ["", null, "n/a"]: as written, the only valid statuses are the empty ones.
    "good": Case(example("quality-column-validity"), {AIR: rows("air_quality_status", "('')", "('n/a')")}),
    "broken": Case(
        example("quality-column-validity"), {AIR: rows("air_quality_status", "('')", "('n/a')", "('good')")}
    ),
}

TABLE_COLUMN = {
    "good": Case(example("schema-table-column"), {"tbl": rows("rcvr_cntry_code", "('US')", "('CA')")}),
    "missing-column": Case(example("schema-table-column"), {"tbl": rows("country", "('US')")}),
    # datacontract-cli does not check types in Parquet files (warning in its report)
    "wrong-type": Case(
        example("schema-table-column"),
        {"tbl": rows("rcvr_cntry_code", "(1)", "(2)")},
        expect={"rcvr_cntry_code has type string": "failed"},
        ok=False,
    ),
}

DESCRIPTION = {
    "good": Case(
        example("fundamentals-table-column-description"),
        {"tbl": rows("txn_ref_dt", "(date '2022-10-03')", "(date '2025-01-28')")},
    ),
    # dates written as text: datacontract-cli does not check types in Parquet files
    "dates-as-text": Case(
        example("fundamentals-table-column-description"),
        {"tbl": rows("txn_ref_dt", "('2022-10-03')", "('03.10.2022')")},
        expect={"txn_ref_dt has type date": "failed"},
        ok=False,
    ),
}

SLA = {
    # No schema objects, so nothing to read; every SLA element names a table the contract does not have.
    "no-objects": Case(example("sla-database-table-sla"), {}),
}


def transactions(**changes: str) -> str:
    """One row for the data-types example's transactions_tbl, each column overridable."""
    columns = {
        "account_id": "'ACC12345678'",
        "txn_ref_date": "date '2020-06-01'",
        "txn_timestamp": "timestamp '2020-06-01 10:00:00'",
        "txn_timestamp_tz": "timestamptz '2020-06-01 10:00:00+00'",
        "txn_time": "time '10:00:00'",
        "amount": "1.5::double",
        "age": "30::int",
        "is_open": "true",
        "latest_txns": "[1, 2, 3]",
        "customer_details": "{'num_children': 2, 'date_of_birth': date '1990-01-01'}",
        **changes,
    }
    return "select " + ", ".join(f"{value} as {name}" for name, value in columns.items())


def union(*queries: str) -> str:
    return " union all by name ".join(f"({q})" for q in queries)


BROKEN_SCALARS = union(
    transactions(account_id="'ACC1234567'"),  # 10 characters
    transactions(account_id="'ACC1234567X'"),  # pattern
    transactions(txn_ref_date="date '2020-01-01'"),  # exclusiveMinimum
    transactions(txn_ref_date="date '2021-01-02'"),  # maximum
    transactions(txn_timestamp="timestamp '2019-12-31 23:59:59'"),  # minimum
    transactions(amount="-0.5::double"),  # minimum 0
    transactions(age="17::int"),  # minimum 18
    transactions(age="100::int"),  # exclusiveMaximum 100
)
SCALAR_FAILURES = {
    "account_id minLength 11": "failed",
    "account_id matches ACC[0-9]{8}": "failed",
    "txn_ref_date exclusiveMinimum 2020-01-01": "failed",
    "txn_ref_date maximum 2021-01-01": "failed",
    "txn_timestamp minimum 2020-01-01 00:00:00": "failed",
    "amount minimum 0": "failed",
    "age minimum 18": "failed",
    "age exclusiveMaximum 100": "failed",
}
# datacontract-cli 1.2.8 cannot read data for this example: it maps physicalType `bool` to no DuckDB type
# ("Cannot map type to duckdb SQL type for field 'is_open'") and the object without properties to
# `STRUCT()`, a syntax error. So these cases assert Quanta's verdicts directly.
DATA_TYPES_UNREADABLE = "Parser Error"
DATA_TYPES = {
    "good": Case(
        example("data-types-all-data-types"),
        {"transactions_tbl": transactions()},
        ok=True,
        peer_unreadable=DATA_TYPES_UNREADABLE,
    ),
    "broken-scalars": Case(
        example("data-types-all-data-types"),
        {"transactions_tbl": BROKEN_SCALARS},
        expect=SCALAR_FAILURES,
        ok=False,
        peer_unreadable=DATA_TYPES_UNREADABLE,
    ),
    "object-missing-required-key": Case(
        example("data-types-all-data-types"),
        {"transactions_tbl": transactions(customer_details="{'num_children': 2}")},
        ok=False,
        peer_unreadable=DATA_TYPES_UNREADABLE,
    ),
}


def readable_data_types() -> str:
    """The data-types example as datacontract-cli can read it: physicalType `bool` spelled `boolean`
    and the `customer_details` object (no properties, so no DuckDB type) left out. Nothing else changed."""
    text = example("data-types-all-data-types").replace("physicalType: bool\n", "physicalType: boolean\n")
    if not text:
        return ""
    head, _, tail = text.partition("      - name: customer_details\n")
    servers = tail[tail.index("\nservers:\n") :]
    return head.rstrip("\n") + "\n" + servers


def readable_transactions(**changes: str) -> str:
    return transactions(**changes).replace(
        ", {'num_children': 2, 'date_of_birth': date '1990-01-01'} as customer_details", ""
    )


DATA_TYPES_READABLE = {
    "good": Case(readable_data_types(), {"transactions_tbl": readable_transactions()}),
    "broken-scalars": Case(
        readable_data_types(),
        {
            "transactions_tbl": BROKEN_SCALARS.replace(
                ", {'num_children': 2, 'date_of_birth': date '1990-01-01'} as customer_details", ""
            )
        },
    ),
    "array-items": Case(
        readable_data_types(), {"transactions_tbl": readable_transactions(latest_txns="[1, 1, 2, 3]")}
    ),
    # The minimum 2020-01-01 00:00:00+10:00 is 2019-12-31 14:00 UTC: 14:30 UTC is inside, 13:30 UTC is not
    # (Quanta used to drop the offset and fail 14:30 too, until d465086).
    "timestamp-bound-with-offset-inside": Case(
        readable_data_types(),
        {"transactions_tbl": readable_transactions(txn_timestamp_tz="timestamptz '2019-12-31 14:30:00+00'")},
    ),
    "timestamp-bound-with-offset-outside": Case(
        readable_data_types(),
        {"transactions_tbl": readable_transactions(txn_timestamp_tz="timestamptz '2019-12-31 13:30:00+00'")},
    ),
}


def full_example(fmt: str = "parquet", *, physical_names: bool = True) -> str:
    text = example("all-full-example", fmt)
    if not physical_names:
        # datacontract-cli 1.2.8 names the DuckDB view of a local file after `name` but queries it by
        # `physicalName` ("Could not read model 'tbl_1'"), so the parity variant leaves physicalName out.
        text = text.replace("    physicalName: tbl_1\n", "").replace(
            "    physicalName: receivers_master\n", ""
        )
    return text


COUNTRY = "['US', 'CA', 'MX'][1 + i % 3]"
TBL_GOOD = (
    "select date '2022-01-01' + (i % 1000)::int as txn_ref_dt, 'R' || i as rcvr_id, "
    f"{COUNTRY} as rcvr_cntry_code from range(1000001) as r(i)"
)
RECEIVERS_GOOD = (
    f"select 'R' || i as id, {COUNTRY} as country_code, 'receiver ' || i as receiver_name, "
    "'business' as receiver_type, map {'tier': 'gold'} as receiver_attributes from range(1000001) as r(i)"
)
TBL_BROKEN = rows(
    "txn_ref_dt, rcvr_id, rcvr_cntry_code",
    "(date '2022-01-01', 'R0', 'US')",
    "(date '2022-01-02', 'R0', 'US')",  # primary key rcvr_id duplicated
    "(date '2022-01-03', 'R1', 'FR')",  # not in the enum, no such receiver
    "(date '2022-01-04', 'R2', null)",  # nullValues
    "(date '2022-01-05', 'R9', 'MX')",  # no receiver R9
)
RECEIVERS_BROKEN = rows(
    "id, country_code, receiver_name, receiver_type, receiver_attributes",
    "('R0', 'US', 'zero', 'business', map {'tier': 'gold'})",
    "('R1', 'CA', null, 'business', map {'tier': 'gold'})",  # receiver_name required
    "('R1', 'US', 'one', 'business', map {'tier': 'gold'})",  # id unique (the composite key holds)
    "('R2', 'MX', 'two', null, null)",
)
# Every row's receiver exists, but R1 is in CA, not US: only the composite key (rcvr_id,
# rcvr_cntry_code) ► (receivers.id, receivers.country_code) is broken.
TBL_COMPOSITE_BROKEN = TBL_GOOD.replace(
    f"{COUNTRY} as rcvr_cntry_code", f"if(i = 1, 'US', {COUNTRY}) as rcvr_cntry_code"
)
FULL_BROKEN_FAILURES = {
    "primary key rcvr_id is unique": "failed",
    "rcvr_cntry_code in enum": "failed",
    "column should not contain null values": "failed",
    "Ensure row count is within expected volume range": "failed",
    "rcvr_id references receivers.id": "failed",
    "(rcvr_id, rcvr_cntry_code) references receivers(id, country_code)": "failed",
    "id is unique": "failed",
    "receiver_name is required": "failed",
}
FULL_EXAMPLE = {
    "good": Case(
        full_example(),
        {"tbl_1": TBL_GOOD, "receivers_master": RECEIVERS_GOOD, "tbl": TBL_GOOD, "receivers": RECEIVERS_GOOD},
        ok=True,
        peer_unreadable="Could not read model 'tbl_1'",
    ),
    "broken": Case(
        full_example(),
        {
            "tbl_1": TBL_BROKEN,
            "receivers_master": RECEIVERS_BROKEN,
            "tbl": TBL_BROKEN,
            "receivers": RECEIVERS_BROKEN,
        },
        expect=FULL_BROKEN_FAILURES,
        ok=False,
        peer_unreadable="Could not read model 'tbl_1'",
    ),
}
FULL_EXAMPLE_PARITY = {
    "good": Case(full_example(physical_names=False), {"tbl": TBL_GOOD, "receivers": RECEIVERS_GOOD}),
    "broken": Case(full_example(physical_names=False), {"tbl": TBL_BROKEN, "receivers": RECEIVERS_BROKEN}),
    "composite-foreign-key": Case(
        full_example(physical_names=False), {"tbl": TBL_COMPOSITE_BROKEN, "receivers": RECEIVERS_GOOD}
    ),
}


# (b) Our own contract and broken data: every rule family, edges of every comparator.

SHOP = """\
apiVersion: v3.2.0
kind: DataContract
id: parity.shop
version: 1.0.0
status: active
servers:
  - server: local
    type: local
    path: ./data/{{model}}.{fmt}
    format: {fmt}
schema:
  - name: customers
    properties:
      - {{name: customer_id, logicalType: integer, primaryKey: true}}
      - name: email
        logicalType: string
        required: true
        logicalTypeOptions: {{pattern: "^[^@ ]+@[^@ ]+[.][a-z]+$", minLength: 6, maxLength: 40}}
      - name: country
        logicalType: string
        quality:
          - {{metric: missingValues, arguments: {{missingValues: [null, "", "N/A"]}}, mustBeLessOrEqualTo: 25,
             unit: percent}}
  - name: orders
    properties:
      - {{name: order_id, logicalType: integer, required: true, unique: true}}
      - name: customer_id
        logicalType: integer
        required: true
        relationships: [{{to: customers.customer_id}}]
      - name: status
        logicalType: string
        enum: [{{value: open}}, {{value: shipped}}, {{value: cancelled}}]
      - name: amount
        logicalType: number
        logicalTypeOptions: {{minimum: 0, maximum: 1000}}
        quality: [{{metric: nullValues, mustBe: 0}}]
      - name: discount
        logicalType: number
        logicalTypeOptions: {{exclusiveMinimum: 0, maximum: 1}}
        quality: [{{metric: nullValues, mustBeLessThan: 50, unit: percent, severity: warning}}]
      - {{name: quantity, logicalType: integer, logicalTypeOptions: {{minimum: 1, exclusiveMaximum: 101}}}}
      - name: code
        logicalType: string
        logicalTypeOptions: {{minLength: 5, maxLength: 5}}
        quality: [{{metric: invalidValues, arguments: {{pattern: "^[A-Z]{{2}}[0-9]{{3}}$"}}, mustBe: 0}}]
      - name: channel
        logicalType: string
        quality:
          - {{metric: invalidValues, arguments: {{validValues: [web, store, phone]}}, mustBeLessOrEqualTo: 1}}
          - {{metric: missingValues, arguments: {{missingValues: [null, "", "none"]}}, mustBeLessThan: 2}}
      - {{name: coupon, logicalType: string, quality: [{{metric: duplicateValues, mustBe: 0}}]}}
      - name: placed
        logicalType: date
        logicalTypeOptions: {{minimum: "2020-01-01", maximum: "2099-12-31"}}
    quality:
      - {{metric: rowCount, mustBeBetween: [3, 1000]}}
      - {{metric: duplicateValues, arguments: {{properties: [customer_id, placed, code]}}, mustBe: 0}}
      - type: sql
        query: select count(*) from orders where status = 'shipped' and amount = 0
        mustBe: 0
      - type: sql
        query: select sum(amount) from orders where status <> 'cancelled'
        mustBeGreaterOrEqualTo: 10
        severity: warning
slaProperties:
  - {{property: freshness, value: 30, unit: d, element: orders.placed}}
"""
# Both exclusive bounds on one column would make datacontract-cli 1.2.8 fail every check of the table
# ("Duplicate column name 'orders__discount__field_not_equal'"), so each column has at most one.

ORDER_COLUMNS = "order_id, customer_id, status, amount, discount, quantity, code, channel, coupon, placed"
CUSTOMER_COLUMNS = "customer_id, email, country"


def day(days_ago: int) -> str:
    return f"date '{TODAY - timedelta(days=days_ago)}'"


GOOD_CUSTOMERS = rows(
    CUSTOMER_COLUMNS, "(10, 'ann@shop.org', 'NO')", "(11, 'bo@shop.org', 'SE')", "(12, 'cy@x.io', '')"
)
GOOD_ORDERS = rows(
    ORDER_COLUMNS,
    f"(1, 10, 'open', 5.0, 0.1, 1, 'AB123', 'web', 'C1', {day(1)})",
    f"(2, 11, 'shipped', 7.5, null, 3, 'CD456', 'store', null, {day(3)})",
    f"(3, 10, 'cancelled', 0.0, 0.5, 100, 'EF789', 'phone', 'C2', {day(9)})",
)
BROKEN_CUSTOMERS = rows(
    CUSTOMER_COLUMNS,
    "(10, 'ann@shop.org', 'N/A')",
    "(10, 'not an email', null)",  # primary key, pattern
    "(12, 'a@b.c', 'SE')",  # minLength 6
    "(13, 'x' || repeat('y', 40) || '@shop.org', '')",  # maxLength 40
)
BROKEN_ORDERS = rows(
    ORDER_COLUMNS,
    f"(1, 10, 'open', 5.0, 0.1, 1, 'AB123', 'web', 'C1', {day(40)})",
    f"(1, 99, 'lost', -1.0, 0.0, 0, 'ab12', 'fax', 'C1', {day(41)})",  # nearly everything
    "(3, null, 'shipped', 0.0, 1.0, 101, 'AB1234', 'mail', null, date '2019-12-31')",
    f"(4, 10, 'open', null, null, 5, 'AB123', '', 'C3', {day(40)})",  # duplicate (customer, placed, code)
    f"(5, 99, 'open', 1.0, 0.5, 5, 'ab12', 'web', 'C5', {day(41)})",  # and another
)
# A primary key with a null, in a table nothing references by that null's absence.
NULL_KEY_CUSTOMERS = rows(CUSTOMER_COLUMNS, "(10, 'ann@shop.org', 'NO')", "(null, 'bo@shop.org', 'SE')")
NULL_KEY_ORDERS = rows(ORDER_COLUMNS, f"(1, 10, 'open', 5.0, 0.1, 1, 'AB123', 'web', 'C1', {day(1)})")
# On the boundaries: inclusive bounds hold, exclusive ones do not, percentages exactly at the threshold.
EDGE_CUSTOMERS = rows(
    CUSTOMER_COLUMNS,
    "(10, 'a@b.io', '')",  # exactly 6 characters; 1 of 4 countries missing = 25 %
    "(11, 'b@b.io', 'SE')",
    "(12, 'c@b.io', 'NO')",
    "(13, 'd@b.io', 'DK')",
)
EDGE_ORDERS = rows(
    ORDER_COLUMNS,
    "(1, 10, 'open', 0.0, null, 1, 'AB123', 'web', 'C1', date '2020-01-01')",
    f"(2, 11, 'open', 1000.0, 0.0, 101, 'AB124', 'fax', 'C2', {day(29)})",  # exclusive bounds fail
    f"(4, 13, 'open', 1.0, 1.0, 100, 'AB126', 'web', 'C4', {day(2)})",  # inclusive bounds hold
    f"(3, 12, 'open', 10.0, 0.5, 50, 'AB125', 'none', 'C3', {day(2)})",  # 1 invalid, 1 missing channel
)


def shop(fmt: str = "parquet") -> str:
    return SHOP.format(fmt=fmt)


OWN = {
    "good": Case(shop(), {"orders": GOOD_ORDERS, "customers": GOOD_CUSTOMERS}),
    "broken": Case(shop(), {"orders": BROKEN_ORDERS, "customers": BROKEN_CUSTOMERS}),
    "edges": Case(shop(), {"orders": EDGE_ORDERS, "customers": EDGE_CUSTOMERS}),
    "good-csv": Case(shop("csv"), {"orders": GOOD_ORDERS, "customers": GOOD_CUSTOMERS}, fmt="csv"),
    "broken-csv": Case(shop("csv"), {"orders": BROKEN_ORDERS, "customers": BROKEN_CUSTOMERS}, fmt="csv"),
    "null-primary-key": Case(shop(), {"orders": NULL_KEY_ORDERS, "customers": NULL_KEY_CUSTOMERS}),
    "missing-column": Case(
        shop(),
        {"orders": GOOD_ORDERS.replace("coupon, placed", "voucher, placed"), "customers": GOOD_CUSTOMERS},
    ),
}

PATTERN = """\
apiVersion: v3.2.0
kind: DataContract
id: parity.patterns
version: 1.0.0
status: active
schema:
  - name: parts
    properties:
      - {name: part_code, logicalType: string, logicalTypeOptions: {pattern: "[0-9]{3}"}}
"""
SQL_PLACEHOLDERS = """\
apiVersion: v3.2.0
kind: DataContract
id: parity.placeholders
version: 1.0.0
status: active
schema:
  - name: parts
    properties:
      - name: price
        logicalType: number
        quality:
          - type: sql
            query: SELECT COUNT(*) FROM {object} WHERE {property} < 0
            mustBe: 0
"""
DUPLICATE_PERCENT = """\
apiVersion: v3.2.0
kind: DataContract
id: parity.duplicates
version: 1.0.0
status: active
schema:
  - name: parts
    properties:
      - name: phone_number
        logicalType: string
        quality:
          - {metric: duplicateValues, mustBeLessThan: 1, unit: percent}
"""
LATENCY = """\
apiVersion: v3.2.0
kind: DataContract
id: parity.latency
version: 1.0.0
status: active
schema:
  - name: parts
    properties:
      - {name: updated, logicalType: date}
slaProperties:
  - {property: latency, value: 2, unit: d, element: parts.updated}
"""
RELATIONSHIP = """\
apiVersion: v3.2.0
kind: DataContract
id: parity.relationship
version: 1.0.0
status: active
schema:
  - name: customers
    properties:
      - {name: customer_id, logicalType: integer}
  - name: orders
    properties:
      - {name: customer_id, logicalType: integer, relationships: [{to: customers.customer_id}]}
"""
COMPOSITE_KEYS = """\
apiVersion: v3.2.0
kind: DataContract
id: parity.composite
version: 1.0.0
status: active
schema:
  - name: lines
    properties:
      - {name: order_id, logicalType: integer, primaryKey: true, primaryKeyPosition: 1}
      - {name: line, logicalType: integer, primaryKey: true, primaryKeyPosition: 2}
      - {name: sku, logicalType: string}
    quality:
      - {metric: duplicateValues, arguments: {properties: [order_id, sku]}, mustBe: 0}
"""
HUNDRED_PHONES = "select '555-' || (i % 98) as phone_number from range(100) as r(i)"  # 2 % duplicates
RULES = {
    # Each of the next four failed before d465086 and is kept as a regression test.
    # ODCS names ECMA-262/JSON Schema semantics for `pattern`: a match anywhere in the value, so [0-9]{3}
    # matches 'ab123' (Quanta used to require a full match).
    "pattern-is-unanchored": Case(
        with_local_server(PATTERN), {"parts": rows("part_code", "('ab123')", "('X999')")}
    ),
    # ODCS: "{object} and {property} are automatically replaced" in SQL rules (Quanta used to refuse the
    # query as 'SQL does not parse').
    "sql-placeholders": Case(with_local_server(SQL_PLACEHOLDERS), {"parts": rows("price", "(1.0)", "(2.0)")}),
    # A NULL among the referenced keys must not hide a missing one (Quanta's `key not in (select ...)`
    # was never true once the target column held a NULL).
    "relationship-target-with-null": Case(
        with_local_server(RELATIONSHIP),
        {
            "customers": rows("customer_id", "(10)", "(null::int)"),
            "orders": rows("customer_id", "(10)", "(99)"),
        },
    ),
    # A key with a NULL part must not hide a duplicate (Quanta's count(DISTINCT hash(parts)) counted the
    # rows its FILTER (all parts not null) left out).
    "composite-keys-with-null-part": Case(
        with_local_server(COMPOSITE_KEYS),
        {"lines": rows("order_id, line, sku", "(1, 1, 'A')", "(1, 1, 'A')", "(2, null, null)")},
    ),
    # ODCS documents `unit: percent` on duplicateValues; datacontract-cli reports "'unit:percent' has to
    # be combined with 'nullValues', 'missingValues' or 'invalidValues'" (a warning), Quanta checks it.
    "duplicate-percent": Case(
        with_local_server(DUPLICATE_PERCENT),
        {"parts": HUNDRED_PHONES},
        expect={"duplicateValues of phone_number": "failed"},
        ok=False,
    ),
    # ODCS calls freshness `latency`; datacontract-cli checks only `freshness` and `retention`.
    "latency-sla": Case(
        with_local_server(LATENCY),
        {"parts": rows("updated", f"({day(5)})", f"({day(9)})")},
        expect={"latency 2d": "failed"},
        ok=False,
    ),
}

CASES: dict[str, Any] = {
    **{f"completeness-{k}": v for k, v in COMPLETENESS.items()},
    **{f"validity-{k}": v for k, v in VALIDITY.items()},
    **{f"table-column-{k}": v for k, v in TABLE_COLUMN.items()},
    **{f"description-{k}": v for k, v in DESCRIPTION.items()},
    **{f"sla-{k}": v for k, v in SLA.items()},
    **{f"data-types-{k}": v for k, v in DATA_TYPES.items()},
    **{f"data-types-readable-{k}": v for k, v in DATA_TYPES_READABLE.items()},
    **{f"full-example-{k}": v for k, v in FULL_EXAMPLE.items()},
    **{f"full-example-parity-{k}": v for k, v in FULL_EXAMPLE_PARITY.items()},
    **{f"own-{k}": v for k, v in OWN.items()},
    **{f"rule-{k}": v for k, v in RULES.items()},
}


# --- running both tools ------------------------------------------------------------------------------


COPY_OPTIONS = {
    "csv": "format csv, header",
    "parquet": "format parquet",
    "json": "format json, array true",
    "ndjson": "format json",
    "jsonl": "format json",
}


def write_data(folder: Path, case: Case) -> None:
    """The case's tables as files: a key without a suffix is ``data/<key>.<fmt>``; a key with one is a
    path relative to the case's folder whose suffix names the format (``.json`` is a JSON array,
    ``.ndjson``/``.jsonl`` newline-delimited; ``some.duckdb:schema.table`` is a table in a DuckDB file)."""
    with duckdb.connect(":memory:") as connection:
        for key, query in case.tables.items():
            if ".duckdb:" in key:
                database, _, table = key.partition(":")
                (folder / database).parent.mkdir(parents=True, exist_ok=True)
                with duckdb.connect(":memory:") as db:
                    # in a storage version datacontract-cli's DuckDB (1.5) can open
                    db.execute(f"attach '{folder / database}' as target (storage_version 'v1.5.0')")
                    db.execute("use target")
                    schema, _, name = table.rpartition(".")
                    if schema:
                        db.execute(f'create schema if not exists "{schema}"')
                    db.execute(f"create or replace table {table} as {query}")
                continue
            suffix = Path(key).suffix.lstrip(".")
            target = folder / key if suffix else folder / "data" / f"{key}.{case.fmt}"
            target.parent.mkdir(parents=True, exist_ok=True)
            options = COPY_OPTIONS[suffix or case.fmt]
            connection.execute(f"copy ({query}) to '{target}' ({options})")
    for name, text in case.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")


def run_both(
    folder: Path, datacontract: Path, case: Case | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both reports, from both tools running at the same time on the same files, from the case's
    working directory with the case's arguments."""
    case = case or Case("", {})
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **case.env}
    env.pop("QUANTA_DATABASE_URL", None)
    cwd = (folder / case.cwd).resolve()
    contract = os.path.relpath(folder / case.contract_path, cwd)
    quanta_command = [sys.executable, "-m", "quanta.interfaces.cli.main", "test", contract]
    quanta = subprocess.Popen(
        [*quanta_command, *case.args, *case.quanta_args, "--json"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peer_report = folder / "datacontract.json"
    peer = subprocess.run(
        [
            str(datacontract),
            "test",
            contract,
            *case.args,
            "--no-inline-references",  # it would fetch authoritativeDefinitions over the network
            "--output-format",
            "json",
            "--output",
            str(peer_report),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out, err = quanta.communicate(timeout=300)
    assert "internal error" not in out + err, f"quanta test crashed:\n{out}\n{err}"
    assert peer_report.exists(), f"datacontract test wrote no report:\n{peer.stdout}\n{peer.stderr}"
    return json.loads(out), json.loads(peer_report.read_text(encoding="utf-8"))


# --- matching checks ---------------------------------------------------------------------------------

# datacontract-cli check type ► the family of rule it measures
PEER_FAMILY = {
    "field_is_present": "present",
    "field_type": "type",
    "field_required": "required",
    "field_primary_key_required": "required",
    "field_unique": "unique",
    "field_primary_key_unique": "unique",
    "primary_key_unique": "primary key",
    "field_enum": "enum",
    "field_minimum": "bounds",
    "field_maximum": "bounds",
    "field_not_equal": "bounds",  # its half of exclusiveMinimum/exclusiveMaximum
    "field_min_length": "minLength",
    "field_max_length": "maxLength",
    "field_regex": "pattern",
    "field_min_items": "items",
    "field_max_items": "items",
    "field_unique_items": "items",
    "field_null_values": "nullValues",
    "field_missing_values": "missingValues",
    "field_invalid_values": "invalidValues",
    "field_duplicate_values": "duplicateValues",
    "model_duplicate_values": "duplicateValues",
    "row_count": "rowCount",
    "field_quality_sql": "sql",
    "model_quality_sql": "sql",
    "field_relationships": "relationship",
    "servicelevel_freshness": "freshness",
    "servicelevel_retention": "retention",
}
# Quanta check kind ► family (range and length checks are told apart by the option in their name)
QUANTA_FAMILY = {
    "presence": "present",
    "type": "type",
    "required": "required",
    "unique": "unique",
    "enum": "enum",
    "range": "bounds",
    "pattern": "pattern",
    "nullValues": "nullValues",
    "missingValues": "missingValues",
    "invalidValues": "invalidValues",
    "duplicateValues": "duplicateValues",
    "rowCount": "rowCount",
    "sql": "sql",
    "relationship": "relationship",
    "items": "items",
}
SEVERITY = {"not run": -1, "passed": 0, "warning": 1, "failed": 2, "error": 2}
Key = tuple[str, str | None, str | None, int]


def quanta_family(check: dict[str, Any]) -> str | None:
    kind = check["kind"]
    if kind == "primaryKey":
        return "unique" if check["column"] else "primary key"
    if kind == "length":
        return check["name"].removeprefix(f"{check['column']} ").split()[0]
    if kind == "sla":
        name = check["name"].split()[0]
        return "freshness" if name in ("latency", "freshness") else name
    return QUANTA_FAMILY.get(kind)


def normal(verdict: str | None) -> str:
    return "not run" if verdict is None else "failed" if verdict == "error" else verdict


def keyed(entries: list[tuple[str, str | None, str | None, str, Any]]) -> dict[Key, tuple[str, list[Any]]]:
    """(family, object, column) ► the worst verdict of its checks; SQL rules and row counts keep their
    order instead, since an object can declare several."""
    out: dict[Key, tuple[str, list[Any]]] = {}
    seen: dict[tuple[str, str | None, str | None], int] = {}
    for family, obj, column, verdict, check in entries:
        # Quanta reports SQL rules at the object, even those declared on a property.
        base = (family, obj, None if family == "sql" else column)
        index = seen.get(base, 0)
        if family in ("sql", "rowCount"):
            seen[base] = index + 1
        key = (*base, index)
        if key in out:
            worst, checks = out[key]
            out[key] = (max(worst, normal(verdict), key=SEVERITY.__getitem__), [*checks, check])
        else:
            out[key] = (normal(verdict), [check])
    return out


def logical_names(contract: str) -> dict[str, str]:
    """physicalName (what datacontract-cli reports) ► name (what Quanta reports)."""
    objects = yaml.safe_load(contract).get("schema") or []
    return {o.get("physicalName") or o["name"]: o["name"] for o in objects}


def peer_ran(check: dict[str, Any]) -> bool:
    """False for what datacontract-cli reports it did not check (a warning with a reason that is not a
    measurement: "Checking types in parquet files is not supported yet.", "... is not checked: ..."), and
    for checks left without a result because reading the data failed (a ``general`` check says why)."""
    if check["result"] in (None, "skipped"):  # "skipped": not run, e.g. row checks under --metadata-only
        return False
    return not (check["result"] == "warning" and not (check.get("reason") or "").startswith("Actual"))


@dataclass
class Comparison:
    quanta: dict[Key, tuple[str, list[Any]]]
    peer: dict[Key, tuple[str, list[Any]]]
    peer_unchecked: set[Key]
    missing_columns: set[tuple[str | None, str | None]]

    def lines(self, keys: Iterator[Key]) -> str:
        def peer(key: Key) -> str:
            verdict, checks = self.peer.get(key, ("-", []))
            return f"{verdict} {[c.get('reason') or c['result'] for c in checks]}"

        return "\n".join(f"  {k}: quanta {self.quanta.get(k)} / datacontract {peer(k)}" for k in keys)


def compare(quanta: dict[str, Any], peer: dict[str, Any], contract: str) -> Comparison:
    names = logical_names(contract)
    ours = [c for run in quanta.get("results", {}).values() for c in run["checks"]]
    quanta_entries = [
        (family, c["object"], c["column"], c["verdict"], c["name"])
        for c in ours
        if (family := quanta_family(c)) is not None
    ]
    missing = {
        (c["object"], c["column"]) for c in ours if c["kind"] == "presence" and c["verdict"] != "passed"
    }
    peer_entries = [
        (PEER_FAMILY[c["type"]], names.get(c["model"], c["model"]), c["field"], c["result"], c)
        for c in peer["checks"]
        if c["type"] in PEER_FAMILY
    ]
    compared = Comparison(keyed(quanta_entries), keyed(peer_entries), set(), missing)
    compared.peer_unchecked = {
        k for k, (_, checks) in compared.peer.items() if not any(map(peer_ran, checks))
    }
    # Quanta reports a presence check only for a column that is missing; a present one passed.
    for key in compared.peer:
        if key[0] == "present" and key not in compared.quanta:
            compared.quanta[key] = ("passed", ["(present)"])
    return compared


# --- the test ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_verdicts_agree_with_datacontract_cli(case: Case, tmp_path: Path, datacontract: Path) -> None:
    assert_parity(case, tmp_path, datacontract)


def assert_parity(case: Case, tmp_path: Path, datacontract: Path) -> dict[str, Any]:
    """Run ``case`` through both tools and assert the same verdicts; Quanta's JSON report is returned
    for further assertions. Other parity modules call this with their own cases."""
    if not case.contract:
        pytest.skip(f"the ODCS examples are not in {EXAMPLES}")
    write_data(tmp_path, case)
    (tmp_path / case.contract_path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / case.contract_path).write_text(case.contract, encoding="utf-8")
    quanta, peer = run_both(tmp_path, datacontract, case)
    assert "results" in quanta, f"quanta test did not run: {quanta}"
    compared = compare(quanta, peer, case.contract)
    by_name = {c["name"]: c for run in quanta["results"].values() for c in run["checks"]}

    if case.peer_unreadable:  # the peer's failure is the documented one, and says nothing about the data
        reasons = " ".join(str(c.get("reason")) for c in peer["checks"])
        assert case.peer_unreadable in reasons, f"datacontract-cli read the data after all: {reasons[:500]}"
        peer_verdicts: dict[Key, tuple[str, list[Any]]] = {}
    else:
        peer_verdicts = {k: v for k, v in compared.peer.items() if k not in compared.peer_unchecked}
        # A missing column is reported once by Quanta; the peer also fails every rule on it.
        peer_verdicts = {
            k: v
            for k, v in peer_verdicts.items()
            if k[0] == "present" or k[1:3] not in compared.missing_columns
        }

    disagree = [
        k for k in peer_verdicts if k in compared.quanta and compared.quanta[k][0] != peer_verdicts[k][0]
    ]
    assert not disagree, "verdicts differ:\n" + compared.lines(iter(disagree))
    unchecked_by_quanta = [k for k in peer_verdicts if k not in compared.quanta]
    assert not unchecked_by_quanta, "datacontract-cli checks what Quanta does not:\n" + compared.lines(
        iter(unchecked_by_quanta)
    )

    # What only Quanta checks: the verdicts the case expects, and otherwise nothing failing.
    only_quanta = {
        name for k, (_, names) in compared.quanta.items() if k not in peer_verdicts for name in names
    }
    for name, verdict in case.expect.items():
        assert name in by_name, f"Quanta made no check {name!r}: {sorted(by_name)}"
        assert by_name[name]["verdict"] == verdict, f"{name}: {by_name[name]}"
    unexpected = {
        name: by_name[name]["verdict"]
        for name in only_quanta & set(by_name)
        if name not in case.expect and by_name[name]["verdict"] in ("failed", "error")
    }
    assert not unexpected, f"Quanta fails checks the peer does not make: {unexpected}"

    peer_ok = peer["result"] in ("passed", "warning", "unknown")
    expected_ok = case.ok if case.ok is not None else peer_ok
    source = "the case" if case.ok is not None else "datacontract-cli"
    assert quanta["ok"] is expected_ok, f"Quanta ok={quanta['ok']}; {source} says ok={expected_ok}"
    return quanta
