"""The execution plan of a contract test: SQL rules folded into the scan when they only count rows, and
Parquet footers answering null and bound rules of standalone files without a scan."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from quanta.contracts.aggregates import Metric
from quanta.contracts.sqlrules import SqlQuery, prepare
from quanta.engines.base import FileScan
from quanta.engines.footers import file_stats
from quanta.spec.contract import Contract
from tests.conftest import run_cli

OBJ = Contract.model_validate(
    {
        "apiVersion": "v3.2.0",
        "kind": "DataContract",
        "id": "c",
        "version": "1.0.0",
        "status": "active",
        "schema": [{"name": "lines", "properties": [{"name": "a", "logicalType": "integer"}]}],
    }
).objects[0]


def prepared(query: str) -> Metric | SqlQuery | object:
    from quanta.spec.contract import QualityRule

    rule = QualityRule.model_validate({"type": "sql", "query": query, "mustBe": 0})
    return prepare(rule, OBJ, "a", ["lines", "other"])


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ("select count(*) from lines where a < b", "a < b"),
        ("SELECT COUNT(*) AS n FROM lines l WHERE l.a < l.b AND b IS NOT NULL", "__table.a < __table.b"),
        ("select count(*) from {object} where {property} > 3", '"a" > 3'),
        ("select count(*) from lines", "true"),
    ],
)
def test_row_counts_of_the_own_table_join_the_scan(query: str, predicate: str) -> None:
    found = prepared(query)
    assert isinstance(found, Metric) and found.kind == "sql"
    assert found.predicate is not None and predicate in found.predicate


@pytest.mark.parametrize(
    "query",
    [
        "select count(*) from other where a < 0",
        "select count(*) from lines join other using (a)",
        "select count(distinct a) from lines",
        "select sum(a) from lines",
        "select count(*) from lines group by a",
        "select count(*) from lines where a in (select a from other)",
        "select count(*) from lines limit 1",
        "with x as (select * from lines) select count(*) from x",
    ],
)
def test_other_queries_run_on_their_own(query: str) -> None:
    assert isinstance(prepared(query), SqlQuery)


def test_writing_or_reading_files_is_refused_not_folded() -> None:
    found = prepared("select count(*) from read_csv('/etc/passwd')")
    assert not isinstance(found, (Metric, SqlQuery))
    assert "only read the contract's tables" in (getattr(found, "message", "") or "")


def parquet(path: Path, sql: str, row_group_size: int = 2) -> Path:
    duckdb.sql(f"copy ({sql}) to '{path}' (format parquet, row_group_size {row_group_size})")
    return path


def test_footer_statistics_merge_row_groups_and_files(tmp_path: Path) -> None:
    rows = "(1, 'x', date '2020-01-01'), (5, NULL, NULL), (3, 'y', date '2021-06-01')"
    first = parquet(tmp_path / "1.parquet", f"select * from (values {rows}) v(n, s, d)")
    second = parquet(tmp_path / "2.parquet", "select * from (values (-2, 'z', date '2019-05-05')) v(n, s, d)")
    stats = file_stats(FileScan([str(first), str(second)], "parquet"))
    assert (stats["n"].rows, stats["n"].nulls, stats["n"].lower, stats["n"].upper) == (4, 0, -2, 5)
    assert stats["s"].nulls == 1 and stats["s"].lower is None  # string bounds are not trusted
    assert str(stats["d"].lower) == "2019-05-05" and str(stats["d"].upper) == "2021-06-01"
    assert file_stats(FileScan([str(first)], "csv")) == {}
    assert file_stats(FileScan([str(first)], "parquet", where="n > 1")) == {}


CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: plan
version: 1.0.0
status: active
servers:
  - server: local
    type: local
    path: ./{model}.parquet
    format: parquet
schema:
  - name: t
    properties:
      - name: n
        logicalType: integer
        required: true
        logicalTypeOptions: {minimum: 0, maximum: 10}
    quality:
      - type: sql
        query: select count(*) from t where n > 5
        mustBeLessThan: 2
"""


@pytest.mark.parametrize(
    ("rows", "verdicts"),
    [
        (
            "(1), (2), (9)",
            {"n is required": "metadata", "n minimum 0": "metadata", "n maximum 10": "metadata"},
        ),
        (
            "(1), (NULL), (11)",
            {"n is required": "failed", "n minimum 0": "metadata", "n maximum 10": "failed"},
        ),
    ],
)
def test_file_servers_answer_from_footers_and_scan_the_rest(
    tmp_path: Path, rows: str, verdicts: dict[str, str]
) -> None:
    parquet(tmp_path / "t.parquet", f"select * from (values {rows}) v(n)")
    (tmp_path / "c.yaml").write_text(CONTRACT)
    result = run_cli("test", str(tmp_path / "c.yaml"), "--json", cwd=tmp_path)
    payload = json.loads(result.stdout)
    checks = {c["name"]: c for run in payload["results"].values() for c in run["checks"]}
    for name, expected in verdicts.items():
        check = checks[name]
        if expected == "metadata":
            assert (check["verdict"], check["message"]) == ("passed", "answered from table metadata")
        else:
            assert check["verdict"] == expected and check["samples"], check
    sql = next(c for c in checks.values() if c["kind"] == "sql")
    assert sql["measured"] == 1 and sql["verdict"] == "passed"


def test_short_value_lists_compare_value_by_value_with_the_same_verdicts(tmp_path: Path) -> None:
    from quanta.contracts.aggregates import CHAINED_VALUES, property_metrics
    from quanta.spec.contract import SchemaProperty

    short = SchemaProperty.model_validate({"name": "s", "enum": [{"value": "A"}, {"value": "B"}]})
    assert property_metrics(short)[0].predicate == """("s" <> 'A' and "s" <> 'B')"""
    many = [{"value": str(i)} for i in range(CHAINED_VALUES + 1)]
    long = SchemaProperty.model_validate({"name": "s", "enum": many})
    assert '"s" not in (' in (property_metrics(long)[0].predicate or "")
    parquet(tmp_path / "t.parquet", "select * from (values ('A'), ('B'), ('C'), (NULL)) v(s)", 100)
    (tmp_path / "c.yaml").write_text(ENUM_CONTRACT)
    result = run_cli("test", str(tmp_path / "c.yaml"), "--json", cwd=tmp_path)
    checks = {c["name"]: c for run in json.loads(result.stdout)["results"].values() for c in run["checks"]}
    # NULL is neither in the enum nor invalid; C is both (NOT IN and the chain agree on that).
    assert (checks["s in enum"]["verdict"], checks["s in enum"]["measured"]) == ("failed", 1)
    assert [r["s"] for r in checks["s in enum"]["samples"]] == ["C"]
    assert (checks["invalid"]["verdict"], checks["invalid"]["measured"]) == ("passed", 0)


ENUM_CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: enum
version: 1.0.0
status: active
servers: [{server: local, type: local, path: t.parquet, format: parquet}]
schema:
  - name: t
    properties:
      - name: s
        logicalType: string
        enum: [{value: A}, {value: B}]
        quality:
          - {metric: invalidValues, name: invalid, arguments: {validValues: [A, B, C]}, mustBe: 0}
"""


def test_a_contract_test_keeps_duckdb_within_its_memory_cap(tmp_path: Path) -> None:
    """A composite key over 6 million rows: uncapped, DuckDB's buffers took this run to ~500 MiB."""
    import os
    import sys

    from tests.conftest import run_with_peak_rss

    rows = "select i // 4 as a, i % 4 as b, 'comment ' || (i % 1000) as c from range(6000000) t(i)"
    parquet(tmp_path / "keys.parquet", rows, 122880)
    (tmp_path / "c.yaml").write_text(KEYS_CONTRACT)
    command = [sys.executable, "-m", "quanta.interfaces.cli.main", "test", "c.yaml", "--json"]
    with (tmp_path / "out.json").open("wb") as out:
        code, peak = run_with_peak_rss(command, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"}, stdout=out)
    assert code == 0, (tmp_path / "out.json").read_text()
    assert peak / 2**20 < 420  # MiB: Python and its imports ~110, DuckDB capped at 300 MB
    assert not (tmp_path / ".tmp").exists()  # DuckDB's default spill folder is never the user's cwd


KEYS_CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: keys
version: 1.0.0
status: active
servers: [{server: local, type: local, path: keys.parquet, format: parquet}]
schema:
  - name: keys
    properties:
      - {name: a, logicalType: integer, primaryKey: true, primaryKeyPosition: 1}
      - {name: b, logicalType: integer, primaryKey: true, primaryKeyPosition: 2}
      - {name: c, logicalType: string, logicalTypeOptions: {maxLength: 20}}
"""
