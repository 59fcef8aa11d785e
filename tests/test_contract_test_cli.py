"""``quanta test``'s command line, driven as a user would: datacontract-cli's option names and report
spelling, and a clear error (never a silent default) for what it cannot do."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli

CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: orders
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: id
        logicalType: integer
        required: true
      - name: name
        logicalType: string
        quality:
          - id: name-complete
            metric: nullValues
            mustBe: 0
            dimension: completeness
            tags: [nightly]
slaProperties:
  - property: retention
    value: 3650
    unit: d
    element: orders.placed
servers:
  - server: local
    type: local
    path: ./data/{model}.parquet
    format: parquet
"""


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    rows = "select * from (values (1, 'a', current_date), (2, null, current_date)) as t(id, name, placed)"
    duckdb.sql(f"copy ({rows}) to '{tmp_path / 'data' / 'orders.parquet'}' (format parquet)")
    path = tmp_path / "orders.odcs.yaml"
    path.write_text(CONTRACT, encoding="utf-8")
    return path


def kinds(stdout: str) -> set[str]:
    return {c["kind"] for run in json.loads(stdout)["results"].values() for c in run["checks"]}


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("properties", {"type", "required"}),
        ("SCHEMA", {"type", "required"}),
        ("quality", {"nullValues"}),
        ("slaProperties", {"sla"}),
        ("servicelevel", {"sla"}),
        ("schema, quality", {"type", "required", "nullValues"}),
        ("custom", set()),
    ],
)
def test_checks_take_datacontract_cli_names(contract: Path, spelling: str, expected: set[str]) -> None:
    result = run_cli("test", contract.name, "--checks", spelling, "--json", cwd=contract.parent)
    assert kinds(result.stdout) == expected, result.stderr


@pytest.mark.parametrize("value", ["", " , "])
def test_empty_checks_is_an_error(contract: Path, value: str) -> None:
    result = run_cli("test", contract.name, "--checks", value, cwd=contract.parent)
    assert result.returncode == 1
    assert "--checks is empty" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr and "passed" not in result.stdout


def test_unknown_output_is_an_error(contract: Path) -> None:
    result = run_cli("test", contract.name, "--output", "yaml", cwd=contract.parent)
    assert result.returncode == 1
    assert "unknown --output value 'yaml'" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("fmt", "marker"), [("table", "nullValues of name"), ("json", '"ok": false')])
def test_output_file_is_written_for_table_and_json(contract: Path, fmt: str, marker: str) -> None:
    report = contract.parent / f"report.{fmt}"
    result = run_cli(
        "test", contract.name, "--output", fmt, "--output-file", str(report), cwd=contract.parent
    )
    assert result.returncode == 1  # name has a null
    assert marker in report.read_text(encoding="utf-8")
    assert marker not in result.stdout


@pytest.mark.parametrize(
    ("args", "root"),
    [
        (["--output-format", "junit", "--output", "out/TEST-orders.xml"], "<testsuites"),
        (["--output", "out/TEST-orders.xml"], "<testsuites"),  # the peer infers the format from the suffix
        (["--output-format", "json", "--output", "out/results"], '"results"'),
    ],
)
def test_datacontract_cli_report_spelling(contract: Path, args: list[str], root: str) -> None:
    result = run_cli("test", contract.name, *args, cwd=contract.parent)
    assert result.returncode == 1, result.stderr
    written = contract.parent / args[-1]
    assert root in written.read_text(encoding="utf-8")
    assert "nullValues of name" in result.stdout  # the table still goes to the terminal


def test_output_path_without_a_known_suffix_needs_a_format(contract: Path) -> None:
    result = run_cli("test", contract.name, "--output", "out/report.txt", cwd=contract.parent)
    assert result.returncode == 1
    assert "cannot tell the report format" in result.stderr and "--output-format" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quality-id", "nosuch"], "--quality-id nosuch: no quality rule"),
        (["--dimension", "speed"], "unknown values for --dimension: speed"),
        (["--filter", "id = 1", "--filters", '{"orders": "id = 1"}'], "--filter and --filters"),
        (["--filters", '{"customers": "id = 1"}'], "does not have"),
        (["--filters", "id = 1"], "--filters is not valid JSON"),
        (["--filter", "nosuch > 1"], "nosuch"),
    ],
)
def test_selection_mistakes_are_clear(contract: Path, args: list[str], message: str) -> None:
    result = run_cli("test", contract.name, *args, cwd=contract.parent)
    assert result.returncode == 1
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_selection_by_tag_quality_id_and_dimension(contract: Path) -> None:
    for args in (["--tag", "nightly"], ["--quality-id", "name-complete"]):
        result = run_cli("test", contract.name, *args, "--json", cwd=contract.parent)
        assert kinds(result.stdout) == {"nullValues"}
    result = run_cli("test", contract.name, "--dimension", "completeness", "--json", cwd=contract.parent)
    assert kinds(result.stdout) == {"nullValues", "required"}
    result = run_cli("test", contract.name, "--metadata-only", "--json", cwd=contract.parent)
    assert kinds(result.stdout) == {"type"} and result.returncode == 0


def test_filter_tests_only_the_rows_asked_for(contract: Path) -> None:
    result = run_cli("test", contract.name, "--filter", "id = 1", "--logs", "--json", cwd=contract.parent)
    assert result.returncode == 0, result.stdout
    assert "only rows where id = 1" in result.stderr  # --logs


def test_server_all_is_the_first_server(contract: Path) -> None:
    result = run_cli("test", contract.name, "--server", "all", "--checks", "schema", cwd=contract.parent)
    assert result.returncode == 0, result.stderr


def test_duckdb_environment_overrides(tmp_path: Path) -> None:
    database = tmp_path / "other.duckdb"
    with duckdb.connect(str(database)) as db:
        db.execute("create schema sales; create table sales.orders as select 1 as id, 'a' as name")
    head = CONTRACT.partition("slaProperties:")[0]
    text = head + "servers:\n  - server: db\n    type: duckdb\n    database: missing.duckdb\n"
    (tmp_path / "c.odcs.yaml").write_text(text, encoding="utf-8")
    env = {"DATACONTRACT_DUCKDB_DATABASE": str(database), "DATACONTRACT_DUCKDB_SCHEMA": "sales"}
    result = run_cli("test", "c.odcs.yaml", "--logs", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from DATACONTRACT_DUCKDB_DATABASE" in result.stderr


JSON_CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: people
version: 1.0.0
status: active
schema:
  - name: people
    properties:
      - name: id
        logicalType: integer
        required: true
servers:
  - server: local
    type: local
    path: ./data/people.{suffix}
    format: json
    delimiter: {delimiter}
"""


def json_files(folder: Path) -> None:
    (folder / "data").mkdir()
    rows = "select * from (values (1), (2)) as t(id)"
    duckdb.sql(f"copy ({rows}) to '{folder / 'data' / 'people.ndjson'}' (format json)")
    duckdb.sql(f"copy ({rows}) to '{folder / 'data' / 'people.json'}' (format json, array true)")


@pytest.mark.parametrize(("suffix", "delimiter"), [("ndjson", "new_line"), ("json", "array")])
def test_delimiter_on_a_local_json_server_runs_with_a_warning(
    tmp_path: Path, suffix: str, delimiter: str
) -> None:
    json_files(tmp_path)
    text = JSON_CONTRACT.format(suffix=suffix, delimiter=delimiter)
    (tmp_path / "c.odcs.yaml").write_text(text, encoding="utf-8")
    result = run_cli("test", "c.odcs.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = next(iter(json.loads(result.stdout)["results"].values()))["checks"]
    lint = [c for c in checks if c["kind"] == "lint"]
    assert [c["verdict"] for c in lint] == ["warning"] and "'delimiter'" in lint[0]["name"]
    assert "servers of type" in lint[0]["message"] and "did you mean" not in lint[0]["message"]
    assert {c["name"]: c["verdict"] for c in checks}["id is required"] == "passed"


def test_json_laid_out_otherwise_than_the_delimiter_says_is_an_error_check(tmp_path: Path) -> None:
    json_files(tmp_path)
    text = JSON_CONTRACT.format(suffix="ndjson", delimiter="array")
    (tmp_path / "c.odcs.yaml").write_text(text, encoding="utf-8")
    result = run_cli("test", "c.odcs.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 1
    checks = next(iter(json.loads(result.stdout)["results"].values()))["checks"]
    assert {c["name"]: c["verdict"] for c in checks}["people is readable"] == "error"


def test_validate_stays_strict_unless_lenient(tmp_path: Path) -> None:
    text = JSON_CONTRACT.format(suffix="ndjson", delimiter="new_line")
    (tmp_path / "c.odcs.yaml").write_text(text, encoding="utf-8")
    strict = run_cli("validate", "c.odcs.yaml", cwd=tmp_path)
    assert strict.returncode == 1
    assert "c.odcs.yaml:17:5: error: unknown field 'delimiter'" in strict.stderr
    assert "did you mean 'delimiter'" not in strict.stderr
    assert "allowed only in servers of type azure, custom, s3, sftp" in strict.stderr
    lenient = run_cli("validate", "c.odcs.yaml", "--lenient", cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stderr
    assert "warning: unknown field 'delimiter'" in lenient.stdout + lenient.stderr


DCS = """\
dataContractSpecification: 1.1.0
id: items
info:
  title: Items
  version: 1.0.0
servers:
  local:
    type: local
    path: ./data/{model}.parquet
    format: parquet
models:
  items:
    type: table
    fields:
      payload:
        type: bytes
      nums:
        type: array
        items:
          type: integer
      info:
        type: object
        fields:
          n:
            type: integer
"""


@pytest.mark.parametrize(
    ("columns", "failing"),
    [
        ("'abc'::blob as payload, [1, 2] as nums, {'n': 1} as info", set()),
        ("'abc'::blob as payload, ['a'] as nums, {'n': 1} as info", {"nums has type array"}),
        ("'abc'::blob as payload, [1] as nums, {'n': 'x'} as info", {"info has type object"}),
        ("42 as payload, [1] as nums, {'n': 1} as info", {"payload has type string"}),
    ],
)
def test_dcs_bytes_and_nested_types(tmp_path: Path, columns: str, failing: set[str]) -> None:
    (tmp_path / "data").mkdir()
    duckdb.sql(f"copy (select {columns}) to '{tmp_path / 'data' / 'items.parquet'}' (format parquet)")
    (tmp_path / "dcs.yaml").write_text(DCS, encoding="utf-8")
    result = run_cli("test", "dcs.yaml", "--json", cwd=tmp_path)
    checks = next(iter(json.loads(result.stdout)["results"].values()))["checks"]
    assert {c["name"] for c in checks if c["verdict"] == "failed"} == failing
    assert result.returncode == (1 if failing else 0)


@pytest.mark.postgres
def test_postgres_environment_overrides(tmp_path: Path, pg_database_url: str) -> None:
    import sqlalchemy as sa

    url = sa.make_url(pg_database_url)
    engine = sa.create_engine(pg_database_url)
    with engine.begin() as con:
        con.execute(sa.text("create schema if not exists envshop"))
        con.execute(sa.text("create table envshop.orders as select 1 as id, 'a' as name"))
    engine.dispose()
    head = CONTRACT.partition("slaProperties:")[0]
    server = "  - server: pg\n    type: postgres\n    host: nowhere.invalid\n    port: 1\n"
    server += "    database: nodb\n    schema: public\n"
    (tmp_path / "c.odcs.yaml").write_text(head + "servers:\n" + server, encoding="utf-8")
    env = {
        "DATACONTRACT_POSTGRES_HOST": str(url.host),
        "DATACONTRACT_POSTGRES_PORT": str(url.port),
        "DATACONTRACT_POSTGRES_DATABASE": str(url.database),
        "DATACONTRACT_POSTGRES_SCHEMA": "envshop",
        "DATACONTRACT_POSTGRES_USERNAME": url.username or "postgres",
    }
    result = run_cli("test", "c.odcs.yaml", "--checks", "schema", "--logs", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from DATACONTRACT_POSTGRES_HOST" in result.stderr
    assert kinds(result.stdout) == {"type", "required"}


def test_no_include_failed_samples_leaves_samples_out(contract: Path) -> None:
    def samples(*args: str) -> object:
        result = run_cli("test", contract.name, "--checks", "quality", *args, "--json", cwd=contract.parent)
        return next(iter(json.loads(result.stdout)["results"].values()))["checks"][0]["samples"]

    found = samples("--include-failed-samples")
    assert isinstance(found, list) and [(r["id"], r["name"]) for r in found] == [(2, None)]
    assert samples("--no-include-failed-samples") is None


def test_schema_name_picks_one_object(contract: Path) -> None:
    result = run_cli("test", contract.name, "--schema-name", "nosuch", cwd=contract.parent)
    assert (
        result.returncode == 1
        and "--schema-name 'nosuch'" in result.stderr
        and "objects: orders" in result.stderr
    )
    result = run_cli("test", contract.name, "--schema-name", "all", "--checks", "schema", cwd=contract.parent)
    assert result.returncode == 0, result.stderr
