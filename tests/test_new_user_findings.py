"""Found trying Quanta as a new user would (issue 16, part 5): the demo workspace builds right after
``quanta init --demo``; a contract whose relationship names a missing property exports with a warning
(the official schema allows it) and fails validation."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

# After the official example references-relationships.odcs.yaml: a foreign key to a property the other
# table does not have.
DANGLING = """\
apiVersion: v3.1.0
kind: DataContract
id: relationships-example
version: 1.0.0
status: active
schema:
  - name: users
    properties:
      - name: id
        logicalType: integer
        primaryKey: true
      - name: account_id
        logicalType: integer
        relationships:
          - to: accounts.account_number
            type: foreignKey
  - name: accounts
    properties:
      - name: id
        logicalType: integer
"""


def test_a_dangling_relationship_exports_with_a_warning_and_fails_validation(tmp_path: Path) -> None:
    contract = tmp_path / "relationships.odcs.yaml"
    contract.write_text(DANGLING)
    exported = run_cli("export", "odcs", str(contract), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "id: relationships-example" in exported.stdout and "to: accounts.account_number" in exported.stdout
    assert "warning: relationship points to 'accounts.account_number'" in exported.stderr
    validated = run_cli("validate", str(contract), cwd=tmp_path)
    assert validated.returncode == 1
    assert (
        "relationships.odcs.yaml:15:13: error: relationship points to" in validated.stderr + validated.stdout
    )


def test_init_demo_then_build_publishes_every_product(tmp_path: Path) -> None:
    created = run_cli("init", "mesh", "--demo", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "quanta build" in created.stdout
    built = run_cli("build", cwd=tmp_path / "mesh")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "7 published" in built.stdout
