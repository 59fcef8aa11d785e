"""Reading a standalone contract's server data: where relative paths are looked for, what the errors
say, how SLA columns become moments, and what ``quanta test`` tells the user about it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from quanta.build.sources import SourceError, first_matching
from quanta.contracts.server_data import resolve_file, search_roots
from quanta.contracts.servers import ServerError
from quanta.contracts.sla import as_datetime
from tests.conftest import run_cli

HEAD = """\
apiVersion: v3.0.2
kind: DataContract
id: shop
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: id
        logicalType: integer
        required: true
"""
CONTRACT = (
    HEAD
    + """\
      - name: placed
        logicalType: {placed_type}
{sla}servers:
  - server: local
    type: local
    path: {path}
    format: csv
  - server: db
    type: duckdb
    database: {database}
    schema: main
"""
)


def write_contract(
    folder: Path, path: str, database: str = "shop.duckdb", placed_type: str = "date", sla: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    contract = folder / "orders.odcs.yaml"
    contract.write_text(CONTRACT.format(path=path, database=database, placed_type=placed_type, sla=sla))
    return contract


# --- resolution order and hints ----------------------------------------------------------------------


def test_search_roots_are_the_contract_folder_then_the_working_directory(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    assert search_roots(contracts, tmp_path) == [
        ("the contract's folder", contracts.resolve()),
        ("the working directory", tmp_path.resolve()),
    ]
    assert search_roots(contracts, contracts) == [("the contract's folder", contracts.resolve())]


def test_a_file_in_the_contract_folder_wins_over_one_in_the_working_directory(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    (contracts / "data").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    for folder in (contracts, tmp_path):
        (folder / "data" / "a.csv").write_text("id\n1\n")
    roots = search_roots(contracts, tmp_path)
    assert first_matching("data/*.csv", roots) == ([str(contracts / "data" / "a.csv")], contracts.resolve())
    assert resolve_file("data/a.csv", roots, "DuckDB database") == (contracts / "data" / "a.csv", None)
    (contracts / "data" / "a.csv").unlink()
    assert first_matching("data/*.csv", roots) == ([str(tmp_path / "data" / "a.csv")], tmp_path.resolve())
    found, note = resolve_file("data/a.csv", roots, "DuckDB database")
    assert found == tmp_path / "data" / "a.csv"
    assert note == f"DuckDB database 'data/a.csv' read relative to the working directory {tmp_path}"


def test_no_files_match_names_every_folder_searched(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "other.txt").write_text("x")
    with pytest.raises(SourceError) as caught:
        first_matching("data/*.csv", search_roots(contracts, tmp_path))
    assert caught.value.message == (
        f"no files match 'data/*.csv' (searched {contracts / 'data'}, {tmp_path / 'data'})"
    )
    # the folder that exists is the one listed
    assert caught.value.hint == f"{tmp_path / 'data'} holds: other.txt; fix the pattern or add the files"
    with pytest.raises(SourceError) as nowhere:
        first_matching("nothing/*.csv", search_roots(contracts, tmp_path))
    assert nowhere.value.hint == (
        f"{contracts / 'nothing'} does not exist: create it or fix the path (relative to the contract's "
        f"folder {contracts}, then the working directory {tmp_path})"
    )


def test_a_missing_database_names_every_place_searched(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    with pytest.raises(ServerError) as caught:
        resolve_file("shop.duckdb", search_roots(contracts, tmp_path), "DuckDB database")
    assert caught.value.message == (
        f"DuckDB database 'shop.duckdb' does not exist (searched {contracts / 'shop.duckdb'}, "
        f"{tmp_path / 'shop.duckdb'})"
    )
    assert caught.value.hint is not None
    assert (
        f"the contract's folder ({contracts}), then the working directory ({tmp_path})" in caught.value.hint
    )


# --- SLA values --------------------------------------------------------------------------------------


def test_sla_values_become_moments_in_utc() -> None:
    assert as_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert as_datetime(1_700_000_000.5) == datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)
    assert as_datetime(Decimal(86400)) == datetime(1970, 1, 2, tzinfo=UTC)
    assert as_datetime("2024-01-02T03:04:05") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert as_datetime(date(2024, 1, 2)) == datetime(2024, 1, 2, tzinfo=UTC)
    for not_a_moment in ("yesterday", True, 10**20, b"2024-01-01", None):
        assert as_datetime(not_a_moment) is None


# --- the CLI -----------------------------------------------------------------------------------------


def test_paths_relative_to_the_project_root_work_and_are_noted(tmp_path: Path) -> None:
    contract = write_contract(tmp_path / "contracts", "data/orders.csv")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("id,placed\n1,2024-01-01\n")
    result = run_cli("test", "contracts/orders.odcs.yaml", "--server", "local", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"note: path 'data/orders.csv' read relative to the working directory {tmp_path}" in " ".join(
        result.stdout.split()
    )
    # from the contract's folder the working directory is not searched: the error says where it looked
    failed = run_cli("test", contract.name, "--server", "local", cwd=contract.parent)
    assert failed.returncode == 1
    assert f"no files match 'data/orders.csv' (searched {contract.parent / 'data'})" in failed.stderr
    assert "internal error" not in failed.stderr


def test_duckdb_server_problems_are_clear_errors_or_checks(tmp_path: Path) -> None:
    write_contract(tmp_path, "x.csv")
    missing = run_cli("test", "orders.odcs.yaml", "--server", "db", cwd=tmp_path)
    assert missing.returncode == 1
    assert f"DuckDB database 'shop.duckdb' does not exist (searched {tmp_path / 'shop.duckdb'})" in (
        missing.stderr
    )
    (tmp_path / "shop.duckdb").write_text("not a database")
    broken = run_cli("test", "orders.odcs.yaml", "--server", "db", cwd=tmp_path)
    assert broken.returncode == 1
    assert f"cannot open DuckDB database {tmp_path / 'shop.duckdb'}" in broken.stderr
    assert "internal error" not in broken.stderr
    (tmp_path / "shop.duckdb").unlink()
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as db:
        db.execute("create table customers as select 1 as id")
    no_table = run_cli("test", "orders.odcs.yaml", "--server", "db", "--json", cwd=tmp_path)
    assert no_table.returncode == 1, no_table.stderr
    checks = json.loads(no_table.stdout)["results"]["orders.odcs.yaml"]["checks"]
    assert {(c["name"], c["verdict"]) for c in checks} == {
        ("id is present", "failed"),
        ("placed is present", "failed"),
    }
    assert (
        f"table main.orders does not exist in {tmp_path / 'shop.duckdb'} (it has: main.customers)"
        == (checks[0]["message"])
    )


FRESHNESS = "slaProperties:\n  - property: freshness\n    value: 2\n    unit: d\n    element: orders.placed\n"


@pytest.mark.parametrize(
    ("placed_type", "value", "verdict"),
    [("integer", "{now}", "passed"), ("integer", "86400", "failed"), ("string", "soon", "error")],
)
def test_freshness_on_a_column_that_is_not_a_date(
    tmp_path: Path, placed_type: str, value: str, verdict: str
) -> None:
    write_contract(tmp_path, "orders.csv", placed_type=placed_type, sla=FRESHNESS)
    now = int(datetime.now(UTC).timestamp())
    (tmp_path / "orders.csv").write_text(f"id,placed\n1,{value.format(now=now)}\n")
    result = run_cli("test", "orders.odcs.yaml", "--server", "local", "--json", cwd=tmp_path)
    assert "internal error" not in result.stderr, result.stderr
    checks = json.loads(result.stdout)["results"]["orders.odcs.yaml"]["checks"]
    freshness = next(c for c in checks if c["kind"] == "sla")
    assert freshness["verdict"] == verdict, freshness
    if verdict == "error":
        assert "orders.placed holds 'soon': not a date, a timestamp or epoch seconds" in freshness["message"]


GLOB_CONTRACT = (
    HEAD
    + """\
      - name: code
        logicalType: string
      - name: discount
        logicalType: number
        required: {required}
servers:
  - server: local
    type: local
    path: data/*/orders.csv
    format: csv
"""
)


@pytest.mark.parametrize("required", [True, False])
def test_globs_read_columns_by_name_and_required_ones_are_checked_per_file(
    tmp_path: Path, required: bool
) -> None:
    (tmp_path / "orders.odcs.yaml").write_text(GLOB_CONTRACT.format(required=str(required).lower()))
    for year, text in (("2023", "id,code\n1,2006-01-01\n"), ("2024", "id,code,discount\n2,x,0.5\n")):
        (tmp_path / "data" / year).mkdir(parents=True)
        (tmp_path / "data" / year / "orders.csv").write_text(text)
    result = run_cli("test", "orders.odcs.yaml", "--json", cwd=tmp_path)
    checks = {c["name"]: c for c in json.loads(result.stdout)["results"]["orders.odcs.yaml"]["checks"]}
    assert "discount is present" not in checks  # the later file's column is read, not dropped
    assert checks["code has type string"]["verdict"] == "passed"  # '2006-01-01' stays text
    assert checks["id is present in every file"]["verdict"] == "passed"
    if required:
        assert result.returncode == 1
        per_file = checks["discount is present in every file"]
        assert per_file["verdict"] == "failed"
        assert per_file["message"] == "no column 'discount' in 2023/orders.csv"
        assert checks["discount is required"]["verdict"] == "failed"
    else:
        assert result.returncode == 0, result.stdout
        assert "discount is present in every file" not in checks


def test_a_csv_column_only_some_rows_of_which_convert_fails_its_type_check(tmp_path: Path) -> None:
    # DuckDB sniffs %d.%m.%Y from the second row and would fail reading the first: read it as text.
    write_contract(tmp_path, "orders.csv")
    (tmp_path / "orders.csv").write_text("id,placed\n1,2024-01-01\n2,03.10.2022\n")
    result = run_cli("test", "orders.odcs.yaml", "--server", "local", "--json", cwd=tmp_path)
    checks = {c["name"]: c for c in json.loads(result.stdout)["results"]["orders.odcs.yaml"]["checks"]}
    assert (checks["placed has type date"]["verdict"], checks["placed has type date"]["measured"]) == (
        "failed",
        "VARCHAR",
    )
    assert checks["id is required"]["verdict"] == "passed"


def test_footers_know_nothing_of_a_column_some_files_lack(tmp_path: Path) -> None:
    # Read by name, the old file's rows are NULL in `discount`: its footer cannot prove "no nulls".
    from quanta.engines.base import FileScan
    from quanta.engines.footers import file_stats

    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    with duckdb.connect() as db:
        db.execute(f"copy (select 1 as id) to '{old}' (format parquet)")
        db.execute(f"copy (select 2 as id, 0.5 as discount) to '{new}' (format parquet)")
    stats = file_stats(FileScan([str(old), str(new)], "parquet", {"union_by_name": True}))
    assert set(stats) == {"id"}
    assert (stats["id"].rows, stats["id"].nulls) == (2, 0)
