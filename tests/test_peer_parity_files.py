"""Verdict parity with datacontract-cli on how contract data is found and read (issue 12, items 1, 3, 5,
8 and 9): relative paths from the contract's folder and from a project root above it; CSV, JSON,
NDJSON, Parquet and DuckDB-database data typed by the contract; globs over files whose columns differ;
SLA columns that are not dates; several objects reading one file. The harness is ``test_peer_parity``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.test_peer_parity import Case, assert_parity, datacontract, rows

pytestmark = pytest.mark.slow
__all__ = ["datacontract"]  # the fixture, used by name

NOW = int(datetime.now(UTC).timestamp())


def contract(
    server: str, *, properties: str = "", objects: str = "", sla: str = "", physical: bool = False
) -> str:
    """An ODCS contract of ``orders`` (id, code, placed, amount) with one server entry (YAML lines)."""
    types = {"id": "integer", "code": "string", "placed": "date", "amount": "number"}
    physical_types = {"id": "bigint", "code": "varchar", "placed": "date", "amount": "double"}
    lines = []
    for name, kind in types.items():
        lines.append(f"      - name: {name}\n        logicalType: {kind}\n")
        if physical:
            lines.append(f"        physicalType: {physical_types[name]}\n")
        if name == "id":
            lines.append("        required: true\n")
    return (
        "apiVersion: v3.0.2\nkind: DataContract\nid: shop-orders\nversion: 1.0.0\nstatus: active\n"
        "schema:\n  - name: orders\n    properties:\n"
        + "".join(lines)
        + properties
        + objects
        + sla
        + "servers:\n  - server: local\n"
        + server
    )


def local(path: str, fmt: str) -> str:
    return f"    type: local\n    path: {path}\n    format: {fmt}\n"


def duckdb_server(database: str) -> str:
    return f"    type: duckdb\n    database: {database}\n    schema: main\n"


GOOD = rows(
    "id, code, placed, amount",
    "(1, '2006-01-01', date '2024-01-01', 1.5)",
    "(2, '2006-01-02', date '2024-01-02', 2.5)",
)
BROKEN = rows(
    "id, code, placed, amount",
    "(1, '2006-01-01', date '2024-01-01', 1.5)",
    "(null::int, '2006-01-02', date '2024-01-02', 2.5)",
)
IN_FOLDER = {"contract_path": "contracts/orders.odcs.yaml", "cwd": "contracts"}
FROM_ROOT = {"contract_path": "contracts/orders.odcs.yaml", "cwd": "."}

# 1. Relative paths: the contract's folder first, then the working directory (the project root).
RELATIVE = {
    "csv-from-contract-folder": Case(
        contract(local("./data/orders.csv", "csv")), {"contracts/data/orders.csv": GOOD}, **IN_FOLDER
    ),
    "csv-from-project-root": Case(
        contract(local("data/orders.csv", "csv")), {"data/orders.csv": GOOD}, **FROM_ROOT
    ),
    "parquet-from-project-root-broken": Case(
        contract(local("data/orders.parquet", "parquet")), {"data/orders.parquet": BROKEN}, **FROM_ROOT
    ),
    "glob-from-project-root": Case(
        contract(local("data/*/orders.csv", "csv")),
        {"data/2023/orders.csv": GOOD, "data/2024/orders.csv": GOOD},
        **FROM_ROOT,
    ),
    "duckdb-from-project-root": Case(
        contract(duckdb_server("db/shop.duckdb")),
        {"db/shop.duckdb:main.orders": GOOD},
        **FROM_ROOT,
    ),
    "duckdb-from-contract-folder-broken": Case(
        contract(duckdb_server("shop.duckdb")),
        {"contracts/shop.duckdb:main.orders": BROKEN},
        **IN_FOLDER,
    ),
    # The peer reads paths against the working directory only, so it finds no data when run from the
    # project root with a path written relative to the contract; Quanta looks in the contract's folder
    # first (where the path was written from) and tests the data.
    "path-relative-to-contract-run-from-root": Case(
        contract(local("./data/orders.csv", "csv")),
        {"contracts/data/orders.csv": GOOD},
        ok=True,
        peer_unreadable="No files found",
        **FROM_ROOT,
    ),
}

# 3. Text formats typed by the contract: a string column holding dates stays a string.
DATES_AS_TEXT = {
    "csv-string-holding-dates": Case(
        contract(local("./orders.csv", "csv"), physical=True),
        {},
        files={
            "orders.csv": "id,code,placed,amount\n1,2006-01-01,2024-01-01,1.5\n2,2006-01-02,2024-01-02,2\n"
        },
        contract_path="orders.odcs.yaml",
    ),
    "json-string-holding-dates": Case(
        contract(local("./orders.json", "json"), physical=True),
        {"orders.json": GOOD},
        contract_path="orders.odcs.yaml",
    ),
    "ndjson-string-holding-dates": Case(
        contract(local("./orders.ndjson", "json"), physical=True),
        {"orders.ndjson": GOOD},
        contract_path="orders.odcs.yaml",
    ),
    "ndjson-broken": Case(
        contract(local("./orders.ndjson", "json")),
        {"orders.ndjson": BROKEN},
        contract_path="orders.odcs.yaml",
    ),
    "parquet-string-holding-dates": Case(
        contract(local("./orders.parquet", "parquet")),
        {"orders.parquet": GOOD},
        contract_path="orders.odcs.yaml",
    ),
    "csv-timestamp-written-as-dates": Case(
        contract(local("./orders.csv", "csv")).replace("logicalType: date", "logicalType: timestamp"),
        {},
        files={"orders.csv": "id,code,placed,amount\n1,a,2024-01-01,1\n"},
        contract_path="orders.odcs.yaml",
    ),
    # A date column with a value that is no date: the peer cannot read the file at all (its CSV reader
    # stops on the conversion error); Quanta reads the column as text and fails its type check.
    "csv-date-column-with-a-non-date": Case(
        contract(local("./orders.csv", "csv"), physical=True),
        {},
        files={"orders.csv": "id,code,placed,amount\n1,a,2024-01-01,1\n2,b,03.10.2022,1\n"},
        contract_path="orders.odcs.yaml",
        expect={"placed has type date": "failed"},
        ok=False,
        peer_unreadable="Conversion Error",
    ),
    "csv-required-missing-value": Case(
        contract(local("./orders.csv", "csv")),
        {},
        files={"orders.csv": "id,code,placed,amount\n1,2006-01-01,2024-01-01,1\n,2006-01-01,2024-01-01,1\n"},
        contract_path="orders.odcs.yaml",
    ),
}

# 5. Globs over files written before and after a column was added.
DISCOUNT = "      - name: discount\n        logicalType: number\n"
OLD = rows("id, code, placed, amount", "(1, 'a', date '2023-01-01', 1.0)")
NEW = rows("id, code, placed, amount, discount", "(2, 'b', date '2024-01-01', 2.0, 0.5)")
EVOLVED = {"data/2023/orders.{fmt}": OLD, "data/2024/orders.{fmt}": NEW}


def evolved(fmt: str, suffix: str, required: bool = False, **extra: object) -> Case:
    discount = DISCOUNT + ("        required: true\n" if required else "")
    return Case(
        contract(local(f"./data/*/orders.{suffix}", fmt), properties=discount),
        {k.format(fmt=suffix): v for k, v in EVOLVED.items()},
        contract_path="orders.odcs.yaml",
        **extra,  # type: ignore[arg-type]
    )


# The peer fails a required column that an old file lacks through its NULLs; Quanta also names the file.
MISSING_FROM_OLD = {"discount is present in every file": "failed"}
GLOBS = {
    "csv-new-optional-column": evolved("csv", "csv"),
    "parquet-new-optional-column": evolved("parquet", "parquet"),
    "ndjson-new-optional-column": evolved("json", "ndjson"),
    "json-new-optional-column": evolved("json", "json"),
    "csv-new-required-column": evolved("csv", "csv", required=True, expect=MISSING_FROM_OLD, ok=False),
    "parquet-new-required-column": evolved(
        "parquet", "parquet", required=True, expect=MISSING_FROM_OLD, ok=False
    ),
    "csv-glob-run-from-root": Case(
        contract(local("data/*/orders.csv", "csv"), properties=DISCOUNT),
        {"data/2023/orders.csv": OLD, "data/2024/orders.csv": NEW},
        **FROM_ROOT,
    ),
}

# 8. DuckDB databases that lack a table, and SLA elements that are not dates.
CUSTOMERS = "  - name: customers\n    properties:\n      - name: customer_id\n        logicalType: integer\n"


def sla(kind: str, value: int, unit: str = "d", element: str = "orders.placed") -> str:
    head = f"slaProperties:\n  - property: {kind}\n    value: {value}\n"
    return head + f"    unit: {unit}\n    element: {element}\n"


def epoch_rows(*ages_in_days: int) -> str:
    return rows(
        "id, code, placed, amount",
        *(f"({i}, 'a', {NOW - days * 86400}, 1.0)" for i, days in enumerate(ages_in_days, start=1)),
    )


EPOCH = {"placed": "integer"}
DATABASES_AND_SLAS = {
    "duckdb-good": Case(contract(duckdb_server("shop.duckdb")), {"shop.duckdb:main.orders": GOOD}),
    "duckdb-missing-table": Case(
        contract(duckdb_server("shop.duckdb"), objects=CUSTOMERS), {"shop.duckdb:main.orders": GOOD}
    ),
    "freshness-on-a-date-column": Case(
        contract(local("./orders.csv", "csv"), sla=sla("freshness", 3)),
        {"orders.csv": rows("id, code, placed, amount", "(1, 'a', current_date, 1.0)")},
    ),
    # ODCS leaves the unit of a number open; the peer reads it as nanoseconds (pandas' Timestamp of an
    # integer), so a row written a moment ago is 56 years old to it. Quanta reads seconds since the epoch,
    # how timestamps are stored as integers (Unix time), so fresh data passes.
    "freshness-on-epoch-seconds": Case(
        contract(duckdb_server("shop.duckdb"), sla=sla("freshness", 3)).replace(
            "logicalType: date", "logicalType: integer"
        ),
        {"shop.duckdb:main.orders": epoch_rows(0, 1)},
        expect={"freshness 3d": "passed"},
        ok=True,
        peer_unreadable="Freshness is",
    ),
    "freshness-on-stale-epoch-seconds": Case(
        contract(duckdb_server("shop.duckdb"), sla=sla("freshness", 3)).replace(
            "logicalType: date", "logicalType: integer"
        ),
        {"shop.duckdb:main.orders": epoch_rows(10, 20)},
    ),
    "retention-on-text-timestamps": Case(
        contract(local("./orders.csv", "csv"), sla=sla("retention", 1, "y")).replace(
            "logicalType: date", "logicalType: string"
        ),
        {},
        files={"orders.csv": "id,code,placed,amount\n1,a,2020-01-01T00:00:00,1\n"},
    ),
}

# 9. Several objects reading one file (no {model} in the path): each reads the same file, as the peer does.
SUMMARY = "  - name: order_amounts\n    properties:\n      - name: amount\n        logicalType: number\n"
SHARED_PATH = {
    "csv-two-objects-one-file": Case(
        contract(local("./orders.csv", "csv"), objects=SUMMARY), {"orders.csv": GOOD}
    ),
    "parquet-two-objects-one-file-broken": Case(
        contract(
            local("./orders.parquet", "parquet"),
            objects=SUMMARY + "        required: true\n",
        ),
        {"orders.parquet": rows("id, code, placed, amount", "(1, 'a', date '2024-01-01', null::double)")},
    ),
    "ndjson-two-objects-one-file-from-root": Case(
        contract(local("data/orders.ndjson", "json"), objects=SUMMARY),
        {"data/orders.ndjson": GOOD},
        **FROM_ROOT,
    ),
}

CASES = {
    **{f"relative-{k}": v for k, v in RELATIVE.items()},
    **{f"text-{k}": v for k, v in DATES_AS_TEXT.items()},
    **{f"glob-{k}": v for k, v in GLOBS.items()},
    **{f"crash-{k}": v for k, v in DATABASES_AND_SLAS.items()},
    **{f"shared-path-{k}": v for k, v in SHARED_PATH.items()},
}


def test_enough_cases() -> None:
    assert len(CASES) >= 28


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_reads_data_as_datacontract_cli_does(case: Case, tmp_path: Path, datacontract: Path) -> None:
    assert_parity(case, tmp_path, datacontract)
