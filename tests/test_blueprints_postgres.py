"""The database blueprint over PostgreSQL (issue 16, part 2): a throwaway cluster's table rendered,
built and published; ``quanta new --from postgresql://...`` infers the contract from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.mesh import Mesh
from tests.conftest import run_cli

pytestmark = pytest.mark.postgres


def _customers(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as db:
        db.execute(
            sa.text("create table customer (id integer primary key, label text not null, amount real)")
        )
        db.execute(
            sa.text("insert into customer values (:id, :label, :amount)"),
            [{"id": i, "label": f"c{i}", "amount": i * 1.5} for i in range(1, 31)],
        )
    engine.dispose()


def test_the_database_blueprint_reads_a_postgresql_table(workspace: Path, pg_database_url: str) -> None:
    _customers(pg_database_url)
    made = run_cli(
        "new", "database", "--domain", "crm", "--name", "customers",
        "--data", f"database_url={pg_database_url}", "--data", "table=customer", cwd=workspace,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    [built] = Mesh.open(workspace).build(["crm.customers"])
    assert built.status == "published", built
    assert Mesh.open(workspace).query("select count(*) as n from crm.customers").column("n")[0].as_py() == 30


def test_a_contract_is_inferred_from_a_postgresql_table(workspace: Path, pg_database_url: str) -> None:
    _customers(pg_database_url)
    plain = pg_database_url.replace("postgresql+psycopg://", "postgresql://")  # as a user types it
    made = run_cli("new", "--from", plain, "--data", "table=customer", "--domain", "crm", cwd=workspace)
    assert made.returncode == 0, made.stderr
    assert "contract inferred from table customer" in made.stdout and "30 rows" in made.stdout
    contract = (workspace / "domains/crm/customer/customer.odcs.yaml").read_text()
    assert "required: true  # no nulls in 30 rows" in contract and "primaryKey: true" in contract
    [built] = Mesh.open(workspace).build(["crm.customer"])
    assert built.status == "published", built


def test_the_warehouse_blueprint_reads_hub_and_spokes_of_a_postgresql_schema(
    workspace: Path, pg_database_url: str
) -> None:
    """The insurer's hub-and-spoke warehouse in a schema of its own (dw.policy, dw.policy_premium):
    input ports are named after the tables, the consumer view joins them."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg_database_url)
    with engine.begin() as db:
        db.execute(sa.text("create schema dw"))
        db.execute(
            sa.text("create table dw.policy (policy_id integer primary key, product_line text not null)")
        )
        db.execute(
            sa.text("create table dw.policy_premium (policy_id integer primary key, annual_premium real)")
        )
        for i in range(1, 21):
            db.execute(
                sa.text("insert into dw.policy values (:i, :line)"),
                {"i": i, "line": ["home", "motor"][i % 2]},
            )
            db.execute(sa.text("insert into dw.policy_premium values (:i, :p)"), {"i": i, "p": 100.0 + i})
    engine.dispose()
    made = run_cli(
        "new", "warehouse", "--domain", "claims", "--name", "policies",
        "--data", f"database_url={pg_database_url}", "--data", "hub=dw.policy",
        "--data", "spokes=dw.policy_premium", cwd=workspace,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    descriptor = (workspace / "domains/claims/policies/product.yaml").read_text()
    assert "- name: policy_premium" in descriptor and 'table: "dw.policy_premium"' in descriptor
    [built] = Mesh.open(workspace).build(["claims.policies"])
    assert built.status == "published", built
    rows = Mesh.open(workspace).query(
        "select count(*) as n, sum(annual_premium) as total from claims.policies"
    )
    assert rows.to_pylist() == [{"n": 20, "total": 2210.0}]
