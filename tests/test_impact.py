"""Impact analysis: every downstream product, column and consumer a change would touch, with paths;
products whose column lineage is unknown are "maybe"; hidden products are counted, never named; the
fast path (the cached graph) agrees with a recursive SQL query over the same registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quanta.errors import NotFoundError
from quanta.mesh import Mesh
from tests.conftest import mesh_as, run_cli
from tests.test_lineage import REVENUE, ops_mesh
from tests.test_registry import registry_backends

SEGMENTS = "marketing.customer_segments"


def touched(mesh: Mesh, ref: str, depth: int | None = None) -> dict[str, tuple[str, list[str], list[str]]]:
    """product ► (how, path, columns) of ``mesh.impact(ref)``."""
    return {p.product_id: (p.via, p.path, p.columns) for p in mesh.impact(ref, depth=depth).products}


def test_a_column_change_reaches_the_columns_computed_from_it(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    found = mesh.impact("sales.orders.order_date")

    assert touched(mesh, "sales.orders.order_date") == {
        REVENUE: ("columns", ["sales.orders", REVENUE], ["order_year"]),
        SEGMENTS: ("columns", ["sales.orders", SEGMENTS], ["last_order_date"]),
    }
    assert [(c.product_id, c.column, c.transformation, c.path) for c in found.columns] == [
        (REVENUE, "order_year", "TRANSFORMATION", ["sales.orders.order_date", f"{REVENUE}.order_year"]),
        (
            SEGMENTS,
            "last_order_date",
            "AGGREGATION",
            ["sales.orders.order_date", f"{SEGMENTS}.last_order_date"],
        ),
    ]
    assert found.hidden == 0


def test_a_join_key_change_touches_the_rows_of_the_products_joining_on_it(built_demo: Path) -> None:
    # customer_id of orders is in no output column, but both consumer-aligned products join on it
    assert touched(Mesh.open(built_demo), "sales.orders.customer_id") == {
        REVENUE: ("rows", ["sales.orders", REVENUE], []),
        SEGMENTS: ("rows", ["sales.orders", SEGMENTS], []),
    }


def test_a_product_change_reaches_everything_downstream(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)

    assert touched(mesh, "sales.lineitems") == {
        REVENUE: ("product", ["sales.lineitems", REVENUE], ["revenue"]),
    }
    assert touched(mesh, "customers.customers")[SEGMENTS][2] == ["customer_id", "market_segment"]
    assert touched(mesh, REVENUE) == {}


def test_unknown_column_lineage_makes_a_product_a_maybe_and_depth_limits_the_walk(tmp_path: Path) -> None:
    mesh = ops_mesh(tmp_path / "ws")

    assert touched(mesh, "ops.events.cents") == {
        "ops.summary": ("columns", ["ops.events", "ops.summary"], ["total"]),
        "ops.report": ("columns", ["ops.events", "ops.summary", "ops.report"], ["total"]),
        "ops.blind": ("unknown", ["ops.events", "ops.blind"], []),  # a Python transform that declares nothing
    }
    assert set(touched(mesh, "ops.events.cents", depth=1)) == {"ops.summary", "ops.blind"}
    # who is in no declaration: only the product without known lineage may be touched
    assert touched(mesh, "ops.events.who") == {"ops.blind": ("unknown", ["ops.events", "ops.blind"], [])}
    assert [c.path for c in mesh.impact("ops.events.cents").columns] == [
        ["ops.events.cents", "ops.summary.total"],
        ["ops.events.cents", "ops.summary.total", "ops.report.total"],
    ]


def test_consumers_are_principals_with_grants_or_queries(own_demo: Path) -> None:
    admin = Mesh.open(own_demo)
    mesh_as(own_demo, "ana").query(f"select count(*) from {REVENUE}")  # recorded in the audit log
    carl = mesh_as(own_demo, "carl")
    request = carl.request_access("sales.orders", "churn study", days=30, accept_terms=True)
    admin.decide_access(request, True)

    consumers = {
        (c.principal, c.product_id, c.via) for c in admin.impact("sales.orders.order_date").consumers
    }
    assert {("ana", REVENUE, "query"), ("carl", "sales.orders", "grant")} <= consumers
    assert "gina" not in {c[0] for c in consumers}
    # the audit log is read incrementally: a query after the first analysis shows in the next one
    mesh_as(own_demo, "gina").query("select count(*) from marketing.customer_segments")
    again = {(c.principal, c.product_id, c.via) for c in admin.impact("sales.orders.order_date").consumers}
    assert ("gina", SEGMENTS, "query") in again
    assert not {c for c in again if c[1] == "sales.lineitems"}  # not touched by this change


def test_products_the_viewer_may_not_read_are_counted_not_named(built_demo: Path) -> None:
    ana = mesh_as(built_demo, "ana").impact("sales.orders.order_date")
    assert [p.product_id for p in ana.products] == [REVENUE, SEGMENTS]  # both organisation-visible

    acme = mesh_as(built_demo, "acme").impact("sales.orders.order_date")  # a partner: revenue only
    assert [p.product_id for p in acme.products] == [REVENUE]
    assert acme.hidden == 1
    assert SEGMENTS not in json.dumps(
        acme, default=lambda o: o.__dict__ if hasattr(o, "__dict__") else str(o)
    )


def test_unknown_products_and_columns_say_what_exists(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    with pytest.raises(NotFoundError) as column:
        mesh.impact("sales.orders.order_dat")
    assert column.value.hint == "did you mean sales.orders.order_date?"
    with pytest.raises(NotFoundError) as product:
        mesh.impact("sales.ordrs")
    assert product.value.hint == "did you mean 'sales.orders'?"


def test_quanta_impact_lists_products_columns_and_consumers(built_demo: Path) -> None:
    result = run_cli("impact", "sales.orders.order_date", cwd=built_demo)
    assert result.returncode == 0, result.stderr
    assert "Changing sales.orders.order_date touches 2 products, 2 columns" in result.stdout
    assert f"sales.orders ► {REVENUE}" in result.stdout

    data = json.loads(run_cli("impact", "sales.orders", "--json", cwd=built_demo).stdout)
    assert {p["product_id"] for p in data["products"]} == {REVENUE, SEGMENTS}
    assert data["column"] is None and data["hidden"] == 0


def test_the_cached_graph_agrees_with_a_recursive_sql_query(tmp_path: Path) -> None:
    from benchmarks.impact import baseline_impact, generate, targets

    from quanta.registry import Registry
    from quanta.settings import Settings

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry = Registry.open(url)
    generate(registry, products=300, columns=3000, seed=7)
    mesh = Mesh(None, Settings(database_url=url, user="local-admin"))
    for ref in targets(registry, 12, seed=3):
        fast = mesh.impact(ref)
        slow = baseline_impact(registry, ref)
        # the SQL walks edges only; Quanta also lists what may be touched (downstream of changed rows)
        assert {p.product_id for p in fast.products if p.certain} == slow.products, ref
        assert {(c.product_id, c.column) for c in fast.columns} == slow.columns, ref


@pytest.fixture(params=registry_backends())
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty registry database: a SQLite file, or a fresh database on a throwaway PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


def test_lineage_and_impact_on_every_registry_backend(backend_url: str, tmp_path: Path) -> None:
    from benchmarks.impact import baseline_impact
    from pydantic import SecretStr

    from quanta.settings import Settings
    from tests.test_lineage import ops_workspace

    registry_url = backend_url

    root = ops_workspace(tmp_path / "ws")
    mesh = Mesh.open(root, settings=Settings(workspace=root, database_url=SecretStr(registry_url)))
    mesh.apply()

    assert touched(mesh, "ops.events.cents")["ops.report"] == (
        "columns", ["ops.events", "ops.summary", "ops.report"], ["total"],
    )  # fmt: skip
    assert {(c.product_id, c.column) for c in mesh.impact("ops.events.cents").columns} == baseline_impact(
        mesh.registry, "ops.events.cents"
    ).columns
    assert {n.id for n in mesh.lineage("ops.report", direction="upstream").nodes} == {
        "ops.report", "ops.summary", "ops.events", "ops.events:raw",
    }  # fmt: skip
