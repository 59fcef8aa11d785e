"""`quanta validate` catches what `quanta build` would fail on (issue 12, item 12), and what can still
fail at build time shows the engine's message in the build output and `quanta quarantine show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

PRODUCT = """\
apiVersion: v1.0.0
kind: DataProduct
id: hr.staff
name: Staff
version: 1.0.0
domain: hr
status: active
type: source-aligned
owner: erin
inputPorts:
  - name: people
    source: {type: file, path: data/people.csv, format: csv}
outputPorts:
  - name: staff
    contract: staff.odcs.yaml
build:
  transform: {sql: transform.sql}
"""
TRANSFORM = "select id as staff_id, name, dept as department from people\n"
CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: hr.staff.staff
version: 1.0.0
status: active
schema:
  - name: staff
    properties:
      - name: staff_id
        logicalType: integer
        required: true
      - name: name
        logicalType: string
      - name: department
        logicalType: string
{rules}"""
OK_RULES = """\
    quality:
      - type: sql
        query: select count(*) from staff where staff_id < 0
        mustBe: 0
"""


def write_hr(root: Path, product: str = PRODUCT, contract: str = CONTRACT.format(rules=OK_RULES)) -> None:
    """The user's own domain ``hr`` in the workspace at ``root``: one product reading a CSV."""
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "people.csv").write_text("id,name,dept\n1,Ana,eng\n2,Bo,ops\n", encoding="utf-8")
    folder = root / "domains" / "hr" / "staff"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "product.yaml").write_text(product, encoding="utf-8")
    (folder / "transform.sql").write_text(TRANSFORM, encoding="utf-8")
    (folder / "staff.odcs.yaml").write_text(contract, encoding="utf-8")


@pytest.fixture
def hr(workspace: Path) -> Path:
    """A workspace with the user's own domain ``hr``."""
    write_hr(workspace)
    return workspace


def _contract(root: Path, rules: str) -> None:
    (root / "domains/hr/staff/staff.odcs.yaml").write_text(CONTRACT.format(rules=rules), encoding="utf-8")


@pytest.mark.parametrize("args", [(), ("domains/hr",), ("domains/hr/staff/product.yaml",)])
def test_validate_reports_the_transform_sql_parse_error_with_or_without_a_path(
    hr: Path, args: tuple[str, ...]
) -> None:
    (hr / "domains/hr/staff/transform.sql").write_text(
        "select id, name\nfrom people where )\n", encoding="utf-8"
    )
    result = run_cli("validate", *args, cwd=hr)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "domains/hr/staff/transform.sql:2:19: error: SQL does not parse" in result.stderr


RULE_CASES = {
    "duplicateValues on an unknown property": (
        """\
    quality:
      - metric: duplicateValues
        arguments:
          properties: [staff_id, salary]
        mustBe: 0
""",
        "staff.odcs.yaml:19:34: error: 'salary' is not a property of 'staff'",
        "use one of: staff_id, name, department",
    ),
    "SQL rule on an unknown column": (
        """\
    quality:
      - type: sql
        query: select count(*) from staff where salary < 0
        mustBe: 0
""",
        "staff.odcs.yaml:18:49: error: the SQL rule uses column 'salary', which staff does not have",
        "use one of: department, name, staff_id",
    ),
    "SQL rule on an unknown table (multi-line query)": (
        """\
    quality:
      - type: sql
        query: |
          select count(*)
          from staff join payroll using (staff_id)
        mustBe: 0
""",
        "staff.odcs.yaml:20:27: error: the SQL rule reads 'payroll', which is not a table here",
        "read one of: people, staff",
    ),
    "relationship to an unknown column": (
        """\
    relationships:
      - type: foreignKey
        from: staff.manager_id
        to: staff.staff_id
""",
        "staff.odcs.yaml:18:9: error: relationship points to 'staff.manager_id' but 'staff' has no",
        "use one of: department, name, staff_id",
    ),
    "relationship to an unknown object": (
        """\
    relationships:
      - type: foreignKey
        from: staff.department
        to: departments.id
""",
        "staff.odcs.yaml:19:9: error: relationship points to 'departments.id' but no table 'departments'",
        "name one of: people, staff",
    ),
    "validValues written as a string": (
        """\
    quality:
      - metric: invalidValues
        arguments:
          validValues: "eng, ops"
        mustBe: 0
""",
        "staff.odcs.yaml:19:11: error: 'validValues' must be a list, got a str 'eng, ops'",
        "write a YAML list: validValues: [eng, ops]",
    ),
}


@pytest.mark.parametrize("case", list(RULE_CASES), ids=list(RULE_CASES))
def test_validate_catches_rules_the_build_would_fail_on(hr: Path, case: str) -> None:
    rules, message, hint = RULE_CASES[case]
    _contract(hr, rules)
    for args in [(), ("domains/hr",)]:
        result = run_cli("validate", *args, cwd=hr)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"domains/hr/staff/{message}" in result.stderr
        assert f"hint: {hint}" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_valid_contract_passes_and_builds(hr: Path) -> None:
    assert run_cli("validate", "domains/hr", cwd=hr).returncode == 0
    assert run_cli("apply", cwd=hr).returncode == 0
    built = run_cli("build", "hr.staff", cwd=hr)
    assert built.returncode == 0, built.stdout + built.stderr


def test_a_rule_that_cannot_run_shows_the_engine_message_in_build_and_quarantine(hr: Path) -> None:
    # Valid as far as validate can tell (the cast only fails on the data), so the build runs it.
    _contract(
        hr,
        """\
    quality:
      - type: sql
        query: select count(*) from staff where cast(name as integer) > 0
        mustBe: 0
""",
    )
    assert run_cli("validate", cwd=hr).returncode == 0
    assert run_cli("apply", cwd=hr).returncode == 0
    built = run_cli("build", "hr.staff", cwd=hr)
    assert built.returncode == 1
    text = " ".join(built.stdout.split())
    assert "Conversion Error" in text
    assert "measured None" not in text
    run_id = json.loads(run_cli("quarantine", "ls", "--json", cwd=hr).stdout)[-1]["run_id"]
    shown = run_cli("quarantine", "show", "hr.staff", run_id, cwd=hr, env={"COLUMNS": "250"})
    row = next(line for line in shown.stdout.splitlines() if "│ error" in line)
    assert "Conversion Error: Could not convert string 'Ana'" in row
    assert "measured None" not in shown.stdout
