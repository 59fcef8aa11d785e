"""``quanta new``: shipped blueprints rendered, validated, built and published; contracts inferred from
data that fail on bad rows; bad input refused with a clear message (issue 16, parts 1 to 3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from quanta.mesh import Mesh
from tests.conftest import run_cli

GOOD = "order_id,customer_email,status,amount,placed_on\n" + "".join(
    f"{i},user{i}@example.com,{['open', 'paid', 'shipped'][i % 3]},{i * 1.5:.2f},2024-01-{i % 28 + 1:02d}\n"
    for i in range(1, 41)
)


def _published(root: Path, product_id: str) -> str:
    [result] = Mesh.open(root).build([product_id])
    return result.status


@pytest.mark.parametrize("kind", ["files", "python"])
def test_a_shipped_blueprint_renders_validates_builds_and_publishes(workspace: Path, kind: str) -> None:
    made = run_cli("new", kind, "--domain", "shop", "--name", "things", cwd=workspace)
    assert made.returncode == 0, made.stderr
    # the next two commands to run, and the files a product needs
    assert "quanta validate domains/shop/things" in made.stdout and "quanta build shop.things" in made.stdout
    folder = workspace / "domains/shop/things"
    expected = {"product.yaml", "things.odcs.yaml", "README.md", ".gitlab-ci.yml", ".copier-answers.yml"}
    assert expected <= {p.name for p in folder.iterdir()}
    assert (folder / ("transform.py" if kind == "python" else "transform.sql")).is_file()
    ci = (folder / ".github/workflows/shop-things.yml").read_text()
    assert (
        "quanta ci --output junit" in ci
        and "quanta ci --output junit" in (folder / ".gitlab-ci.yml").read_text()
    )
    assert f"kind: {kind}" in (folder / ".copier-answers.yml").read_text()
    assert _published(workspace, "shop.things") == "published"


def test_the_database_blueprint_reads_a_sqlite_table(workspace: Path) -> None:
    (workspace / "data").mkdir()
    with sqlite3.connect(workspace / "data/crm.db") as db:
        db.execute("create table customer (id integer primary key, label text not null, amount real)")
        db.executemany("insert into customer values (?, ?, ?)", [(1, "a", 2.5), (2, "b", 0.0)])
    made = run_cli(
        "new", "database", "--domain", "crm", "--name", "customers",
        "--data", "database_url=sqlite:///data/crm.db", "--data", "table=customer", cwd=workspace,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert _published(workspace, "crm.customers") == "published"


def _insurer_warehouse(path: Path, *, load_dates: bool = False) -> None:
    """An insurer's hub-and-spoke warehouse: the policy hub (one row per policy) and two spokes, its
    premium (one row per policy) and its risk rating (not every policy rated yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dated = ", load_date text" if load_dates else ""
    with sqlite3.connect(path) as db:
        db.execute(f"create table policy (policy_id integer primary key, policy_number text not null, "
                   f"product_line text not null, start_date date not null{dated})")  # fmt: skip
        db.execute(f"create table policy_premium (policy_id integer primary key, annual_premium real "
                   f"not null, currency text not null{dated})")  # fmt: skip
        db.execute(f"create table policy_risk (policy_id integer primary key, risk_score integer, "
                   f"region text{dated})")  # fmt: skip
        stamp = ("2024-12-31",) if load_dates else ()
        for i in range(1, 41):
            line, month = ["motor", "home", "travel"][i % 3], f"2024-{i % 12 + 1:02d}-01"
            db.execute(f"insert into policy values (?, ?, ?, ?{', ?' if load_dates else ''})",
                       (i, f"POL-{i:05d}", line, month, *stamp))  # fmt: skip
            db.execute(f"insert into policy_premium values (?, ?, ?{', ?' if load_dates else ''})",
                       (i, 250.0 + i * 10, "EUR", *stamp))  # fmt: skip
            if i % 4:
                db.execute(f"insert into policy_risk values (?, ?, ?{', ?' if load_dates else ''})",
                           (i, i % 10, ["north", "south"][i % 2], *stamp))  # fmt: skip


WAREHOUSE = ("--data", "database_url=sqlite:///data/warehouse.db", "--data", "hub=policy",
             "--data", "spokes=policy_premium, policy_risk")  # fmt: skip


def test_the_warehouse_blueprint_joins_hub_and_spokes_into_a_consumer_view(workspace: Path) -> None:
    _insurer_warehouse(workspace / "data/warehouse.db")
    made = run_cli("new", "warehouse", "--domain", "claims", "--name", "policies", *WAREHOUSE, cwd=workspace)
    assert made.returncode == 0, made.stderr
    assert (
        "contract inferred from the join of policy, policy_premium, policy_risk on policy_id" in made.stdout
    )
    folder = workspace / "domains/claims/policies"
    descriptor = (folder / "product.yaml").read_text()
    assert "type: consumer-aligned" in descriptor
    assert [line.strip() for line in descriptor.splitlines() if line.strip().startswith("table:")] == [
        'table: "policy"', 'table: "policy_premium"', 'table: "policy_risk"'
    ]  # fmt: skip
    sql = (folder / "transform.sql").read_text()
    assert "left join policy_risk on policy_risk.policy_id = policy.policy_id" in sql
    contract = (folder / "policies.odcs.yaml").read_text()
    assert "primaryKey: true" in contract and '- name: "annual_premium"' in contract
    assert run_cli("validate", "domains/claims/policies", cwd=workspace).returncode == 0
    assert _published(workspace, "claims.policies") == "published"
    rows = Mesh.open(workspace).query(
        "select count(*) as n, count(region) as rated, min(annual_premium) as low from claims.policies"
    )
    assert rows.to_pylist() == [{"n": 40, "rated": 30, "low": 260.0}]  # a view of every policy
    # a spoke with two rows for one policy breaks the view's key: the build fails, nothing is published
    with sqlite3.connect(workspace / "data/warehouse.db") as db:
        db.execute("create table risk_copy as select * from policy_risk")
        db.execute("drop table policy_risk")
        db.execute("create table policy_risk (policy_id integer, risk_score integer, region text)")
        db.execute("insert into policy_risk select * from risk_copy union all select 1, 7, 'north'")
    [failed] = Mesh.open(workspace).build(["claims.policies"])
    assert failed.status == "failed"
    assert Mesh.open(workspace).query("select count(*) as n from claims.policies").to_pylist() == [{"n": 40}]


def test_warehouse_spokes_sharing_column_names_are_prefixed(workspace: Path) -> None:
    _insurer_warehouse(workspace / "data/warehouse.db", load_dates=True)
    args = ("new", "warehouse", "--domain", "claims", "--name", "policies", *WAREHOUSE)
    shared = run_cli(*args, cwd=workspace)
    assert shared.returncode == 1 and "all have a column 'load_date'" in shared.stderr
    assert "--data prefix_spokes=true" in shared.stderr and not (workspace / "domains/claims").exists()
    made = run_cli(*args, "--data", "prefix_spokes=true", cwd=workspace)
    assert made.returncode == 0, made.stderr
    assert _published(workspace, "claims.policies") == "published"
    found = Mesh.open(workspace).query("select * from claims.policies limit 1").column_names
    assert {"load_date", "policy_premium_load_date", "policy_risk_region"} <= set(found)
    # --from the warehouse's URL with a hub picks this blueprint
    again = run_cli(
        "new", "--from", "sqlite:///data/warehouse.db", "--domain", "sales", "--data", "hub=policy",
        "--data", "spokes=policy_premium", "--data", "prefix_spokes=true", cwd=workspace,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "type: consumer-aligned" in (workspace / "domains/sales/policy_view/product.yaml").read_text()


def test_the_aggregate_blueprint_counts_rows_of_another_product(workspace: Path) -> None:
    assert run_cli("new", "--domain", "shop", "--name", "things", cwd=workspace).returncode == 0
    made = run_cli(
        "new", "aggregate", "--domain", "finance", "--name", "things_by_label",
        "--data", "inputs=shop.things", "--data", "group_by=label", cwd=workspace,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    results = {r.product_id: r.status for r in Mesh.open(workspace).build()}
    assert results == {"shop.things": "published", "finance.things_by_label": "published"}
    rows = Mesh.open(workspace).query("select label, row_count from finance.things_by_label order by label")
    assert rows.num_rows == 3


def test_an_inferred_contract_passes_its_data_and_fails_bad_rows(workspace: Path) -> None:
    data = workspace / "orders.csv"
    data.write_text(GOOD)
    made = run_cli("new", "--from", "orders.csv", "--domain", "shop", cwd=workspace)
    assert made.returncode == 0, made.stderr
    contract = (workspace / "domains/shop/orders/orders.odcs.yaml").read_text()
    # loose rules, each with its evidence; classification from the classifiers; tighter ones as comments
    assert "required: true  # no nulls in 40 rows" in contract
    assert "primaryKey: true" in contract and "exact count" in contract
    assert "classification: confidential  # email" in contract
    assert '# enum? only 3 values in 40 rows: "open", "paid", "shipped"' in contract
    assert "minimum: 0  # every value is at least 0" in contract
    assert _published(workspace, "shop.orders") == "published"
    bad_rows = {
        "wrong type": "x41,a@example.com,open,1.00,2024-01-01\n",
        "null key": ",a@example.com,open,1.00,2024-01-01\n",
        "duplicate key": "40,a@example.com,open,1.00,2024-01-01\n",
        "out of range": "41,a@example.com,open,-5.00,2024-01-01\n",
    }
    for what, row in bad_rows.items():
        data.write_text(GOOD + row)
        assert _published(workspace, "shop.orders") == "failed", what


def test_a_contract_is_inferred_from_a_published_product(workspace: Path) -> None:
    assert run_cli("new", "--domain", "shop", "--name", "things", cwd=workspace).returncode == 0
    assert _published(workspace, "shop.things") == "published"
    made = run_cli("new", "--from", "shop.things", "--domain", "shop", cwd=workspace)
    assert made.returncode == 0, made.stderr
    assert "product shop.things: 3 rows" in made.stdout
    assert _published(workspace, "shop.things_view") == "published"


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["new", "nosuch"], "no blueprint called 'nosuch'", "known blueprints: files, database"),
        (["new", "--data", "owner"], "--data 'owner' is not key=value", "--data owner=carol"),
        (["new", "--data", "colour=red"], "asks no question 'colour'", "its questions:"),
        (["new", "--domain", "Shop"], "refused an answer", "--data value"),
        (["new", "--from", "missing.csv"], "no such file, database URL or registered product", "sqlite:///"),
        (["new", "--from", "sqlite:///data/x.db"], "names a database but no table", "--data table=NAME"),
        (["new", "aggregate", "--data", "kind=files"], "fixes kind=aggregate", "blueprint 'files'"),
    ],
)
def test_bad_input_is_refused_clearly(workspace: Path, args: list[str], message: str, hint: str) -> None:
    done = run_cli(*args, cwd=workspace)
    assert done.returncode == 1
    assert message in done.stderr and hint in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not list((workspace / "domains").iterdir())


def test_an_existing_product_folder_is_not_overwritten(workspace: Path) -> None:
    assert run_cli("new", "--domain", "shop", "--name", "things", cwd=workspace).returncode == 0
    (workspace / "domains/shop/things/transform.sql").write_text("select 1 as id\n")
    again = run_cli("new", "--domain", "shop", "--name", "things", cwd=workspace)
    assert again.returncode == 1 and "already exists" in again.stderr and "--name" in again.stderr
    assert (workspace / "domains/shop/things/transform.sql").read_text() == "select 1 as id\n"


def test_blueprints_are_listed_and_shown(workspace: Path) -> None:
    listed = run_cli("blueprint", "ls", cwd=workspace)
    assert listed.returncode == 0
    assert all(name in listed.stdout for name in ("files", "database", "aggregate", "python", "warehouse"))
    warehouse = run_cli("blueprint", "show", "warehouse", cwd=workspace)
    assert all(q in warehouse.stdout for q in ("database_url", "hub", "key", "spokes", "prefix_spokes"))
    assert "source_path" not in warehouse.stdout and "inputs" not in warehouse.stdout
    shown = run_cli("blueprint", "show", "aggregate", cwd=workspace)
    assert shown.returncode == 0 and "inputs" in shown.stdout and "source_path" not in shown.stdout
    assert "quanta new aggregate" in shown.stdout
