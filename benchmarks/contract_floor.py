"""The children of ``python -m benchmarks contracts`` that are not a CLI: the hand-written DuckDB floor of
each benchmark contract, and Great Expectations (lineitem only).

Run as ``contract_floor.py floor|gx CASE DATA_DIR``, where ``DATA_DIR`` holds the TPC-H Parquet files.
At import this needs nothing outside the standard library: the GX venv has no Quanta.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

FRESH_DAYS = 15000  # both contracts' freshness SLA


def _literal(value: Any) -> str:
    return f"date '{value}'" if isinstance(value, date) else repr(value)


# --- lineitem.odcs.yaml -----------------------------------------------------------------------------

ENUMS = {
    "l_returnflag": ["A", "N", "R"],
    "l_linestatus": ["F", "O"],
    "l_shipinstruct": ["COLLECT COD", "DELIVER IN PERSON", "NONE", "TAKE BACK RETURN"],
    "l_shipmode": ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"],
}
RANGES: dict[str, tuple[Any, Any]] = {
    "l_linenumber": (1, 7),
    "l_partkey": (1, 200000),
    "l_suppkey": (1, 10000),
    "l_quantity": (1, 50),
    "l_extendedprice": (900, 105000),
    "l_discount": (0, 0.1),
    "l_tax": (0, 0.08),
    "l_shipdate": (date(1992, 1, 1), date(1998, 12, 31)),
}
REQUIRED = [
    "l_orderkey",
    "l_linenumber",
    "l_partkey",
    "l_suppkey",
    "l_shipdate",
    "l_commitdate",
    "l_receiptdate",
]
ROW_COUNT = (6000000, 6100000)
PATTERN = ("l_shipmode", "^[A-Z ]+$")
MAX_LENGTH = ("l_comment", 44)


def lineitem_sql(data: Path) -> list[str]:
    """Every metric of the contract in one query: one pass over lineitem, the orders lookups as subqueries."""
    counts = [f"count(*) filter (where {c} is null)" for c in REQUIRED]
    counts += [
        f"count(*) filter (where {c} < {_literal(low)} or {c} > {_literal(high)})"
        for c, (low, high) in RANGES.items()
    ]
    counts += [f"count(*) filter (where {c} not in ({', '.join(map(repr, v))}))" for c, v in ENUMS.items()]
    counts += [
        f"count(*) filter (where not regexp_full_match({PATTERN[0]}, '{PATTERN[1]}'))",
        f"count(*) filter (where length({MAX_LENGTH[0]}) > {MAX_LENGTH[1]})",
        "count(*) filter (where l_comment is null)",
        "count(*) filter (where l_receiptdate < l_shipdate)",  # the SQL rule
        "count(*) - count(distinct (l_orderkey, l_linenumber))",  # the composite primary key
        "(select count(*) from lines anti join keys on lines.l_orderkey = keys.o_orderkey)",  # relationship
        "(select count(*) filter (where o_orderkey is null) from keys)",
        "(select count(*) - count(distinct o_orderkey) from keys)",
    ]
    query = (
        f"with lines as not materialized (select * from read_parquet('{data / 'lineitem.parquet'}')), "
        f"keys as not materialized (select o_orderkey from read_parquet('{data / 'orders.parquet'}')) "
        f"select count(*), max(l_shipdate), {', '.join(counts)} from lines"
    )
    return [query]


# --- orders_wide.odcs.yaml ---------------------------------------------------------------------------

ORDER_RULES = [
    "o_orderkey is null",
    "o_custkey is null",
    "o_orderstatus not in ('F', 'O', 'P')",
    "o_orderstatus is null or o_orderstatus in ('', 'N/A', 'n/a', 'NULL', 'null')",  # missingValues
    "o_totalprice < 0",
    "o_orderdate is null",
    "o_orderdate < date '1992-01-01' or o_orderdate > date '1998-12-31'",
    "o_orderpriority not in ('1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW')",
    "not regexp_full_match(o_orderpriority, '[1-5]-[A-Z ]+')",
    "not regexp_full_match(o_clerk, 'Clerk#[0-9]{9}')",
    "length(o_clerk) <> 15",
    "length(o_comment) > 79",
    "o_comment is null",
    "o_orderstatus = 'F' and o_orderdate > date '1995-06-17'",  # the SQL rule
]
CUSTOMER_RULES = [
    "c_custkey is null",
    "c_name is null",
    "not regexp_full_match(c_name, 'Customer#[0-9]{9}')",
    "length(c_address) > 40",
    "c_nationkey < 0 or c_nationkey > 24",
    "not regexp_full_match(c_phone, '[0-9]{2}-[0-9]{3}-[0-9]{3}-[0-9]{4}')",
    "length(c_phone) > 15",
    "c_acctbal < -999.99 or c_acctbal > 9999.99",
    "c_mktsegment not in ('AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY')",
    "c_comment is null",
    "length(c_comment) > 117",
]
ORDER_COUNT = (1400000, 1600000)


def orders_wide_sql(data: Path) -> list[str]:
    """One pass over orders (the customer keys looked up in a subquery), one over customer."""
    orders, customer = data / "orders.parquet", data / "customer.parquet"
    counts = [f"count(*) filter (where {rule})" for rule in ORDER_RULES]
    counts += [
        "count(*) - count(distinct o_orderkey)",
        "(select count(*) from o anti join (select c_custkey from c) k on o.o_custkey = k.c_custkey)",
    ]
    main = (
        f"with o as not materialized (select * from read_parquet('{orders}')), "
        f"c as not materialized (select * from read_parquet('{customer}')) "
        f"select count(*), max(o_orderdate), {', '.join(counts)} from o"
    )
    keys = ["count(*) - count(distinct c_custkey)", "count(c_name) - count(distinct c_name)"]
    customers = ", ".join([*(f"count(*) filter (where {rule})" for rule in CUSTOMER_RULES), *keys])
    return [main, f"select {customers} from read_parquet('{customer}')"]


CASES = {"lineitem": (lineitem_sql, ROW_COUNT), "orders_wide": (orders_wide_sql, ORDER_COUNT)}


def child_floor(case: str, data: Path) -> dict[str, Any]:
    """The first query returns the row count, the newest date, then violation counts; the others only
    violation counts."""
    import duckdb

    queries, (low, high) = CASES[case][0](data), CASES[case][1]
    with duckdb.connect(":memory:") as connection:
        rows = [connection.execute(sql).fetchone() for sql in queries]
    assert all(row is not None for row in rows)
    (count, newest, *violations), *others = rows
    violations += [v for row in others for v in row]  # type: ignore[union-attr]
    failed: list[Any] = [i for i, v in enumerate(violations) if v]
    if not low <= count <= high:
        failed.append("rowCount")
    if newest < date.today() - timedelta(days=FRESH_DAYS):
        failed.append("freshness")
    return {"checks": len(violations) + 2, "failed": failed}


# --- lineitem.odcs.yaml as a Great Expectations suite ----------------------------------------------------


def child_gx(case: str, data: Path) -> dict[str, Any]:
    """The contract as a Great Expectations suite, validated on the Parquet files read with pandas."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    if case != "lineitem":
        raise SystemExit(f"Great Expectations is measured on lineitem only, not {case}")
    lines = pd.read_parquet(data / "lineitem.parquet")
    keys = pd.read_parquet(data / "orders.parquet", columns=["o_orderkey"])
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("tpch")
    line_suite = gx.ExpectationSuite("lineitem")
    for column in [*REQUIRED, "l_comment"]:
        line_suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    for column, (low, high) in RANGES.items():
        bounds = (str(low), str(high)) if isinstance(low, date) else (low, high)
        line_suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=bounds[0], max_value=bounds[1])
        )
    for column, values in ENUMS.items():
        line_suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values))
    expectations = [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["l_orderkey", "l_linenumber"]),
        gxe.ExpectColumnValuesToMatchRegex(column=PATTERN[0], regex=PATTERN[1]),
        gxe.ExpectColumnValueLengthsToBeBetween(column=MAX_LENGTH[0], max_value=MAX_LENGTH[1]),
        gxe.ExpectTableRowCountToBeBetween(min_value=ROW_COUNT[0], max_value=ROW_COUNT[1]),
        # the SQL rule: no line is received before it is shipped
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="l_receiptdate", column_B="l_shipdate", or_equal=True
        ),
        gxe.ExpectColumnValuesToBeInSet(column="l_orderkey", value_set=keys["o_orderkey"].unique().tolist()),
        gxe.ExpectColumnMaxToBeBetween(
            column="l_shipdate", min_value=str(date.today() - timedelta(days=FRESH_DAYS))
        ),
    ]
    for expectation in expectations:
        line_suite.add_expectation(expectation)
    key_suite = gx.ExpectationSuite("orders")
    key_suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="o_orderkey"))
    key_suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="o_orderkey"))
    failed: list[str] = []
    checks = 0
    for name, frame, suite in (("lineitem", lines, line_suite), ("orders", keys, key_suite)):
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        result = batch.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
        checks += len(result.results)
        failed += [r.expectation_config.type for r in result.results if not r.success]
    return {"checks": checks, "failed": failed}


def main(kind: str, case: str, data: Path) -> int:
    result = child_floor(case, data) if kind == "floor" else child_gx(case, data)
    sys.stdout.write(json.dumps(result) + "\n")
    return 1 if result["failed"] else 0


if __name__ == "__main__":  # run as a file: the GX venv cannot import the benchmarks package
    if len(sys.argv) != 4 or sys.argv[1] not in ("floor", "gx") or sys.argv[2] not in CASES:
        raise SystemExit(f"usage: contract_floor.py floor|gx {'|'.join(CASES)} DATA_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
