"""Column lineage: traced from SQL (sqlglot), declared for Python transforms (checked, with positions),
recorded when versions are applied, served from a cache that follows the registry, shown only as far
as the viewer may read (CLI, REST API).

The ``ops`` workspace used here (and by test_impact.py, test_openlineage.py)::

    events.csv ► ops.events (SQL) ► ops.summary (Python, declared) ► ops.report (SQL)
                                 └► ops.blind (Python, no declaration)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta.errors import NotFoundError, SpecError
from quanta.mesh import Mesh
from tests.conftest import mesh_as, run_cli

REVENUE = "finance.revenue_by_nation"
SOURCE_ALIGNED = ("sales.orders", "sales.lineitems", "customers.customers", "supply.suppliers")

EVENTS_CSV = "id,kind,amount,user\n1,login,2.5,ana\n2,logout,1.0,bob\n3,login,4.0,ana\n4,noise,0,zed\n"


def _contract(product: str, columns: dict[str, str], quality: str = "") -> str:
    properties = "\n".join(f"      - {{name: {name}, logicalType: {kind}}}" for name, kind in columns.items())
    return (
        f"apiVersion: v3.2.0\nkind: DataContract\nid: {product}\nversion: 1.0.0\nstatus: active\n"
        f"schema:\n  - name: {product.split('.')[1]}\n    properties:\n{properties}\n{quality}"
    )


def _product(product: str, inputs: str, transform: str, extra: str = "") -> str:
    return (
        f"apiVersion: v1.0.0\nkind: DataProduct\nid: {product}\nversion: 1.0.0\ntype: aggregate\n"
        f"owner: olga\nstatus: active\ndescription:\n  purpose: {product} for lineage tests.\n"
        f"inputPorts:\n{inputs}outputPorts:\n  - name: {product.split('.')[1]}\n"
        f"    contract: contract.odcs.yaml\nbuild:\n  transform:\n    {transform}\n{extra}"
    )


SUMMARY_LINEAGE = """\
customProperties:
  - property: lineage
    value:
      kind: [ops.events.kind]
      total: [ops.events.cents]
"""

PRODUCTS = {
    "events": (
        "  - name: raw\n    source: {type: file, path: data/events.csv, format: csv}\n",
        "sql: select id, kind, amount * 100 as cents, upper(\"user\") as who from raw where kind <> 'noise'",
        {"id": "integer", "kind": "string", "cents": "number", "who": "string"},
        "",
    ),
    "summary": (
        "  - name: events\n    product: ops.events\n",
        "python: transform.py:build",
        {"kind": "string", "total": "number"},
        SUMMARY_LINEAGE,
    ),
    "report": (
        "  - name: summary\n    product: ops.summary\n",
        "sql: select kind, total from summary where total > 0",
        {"kind": "string", "total": "number"},
        "",
    ),
    "blind": (
        "  - name: events\n    product: ops.events\n",
        "python: transform.py:build",
        {"kind": "string", "n": "integer"},
        "",
    ),
}
PYTHON = {
    "summary": "def build(events):\n    return events.aggregate('kind, sum(cents) as total', 'kind')\n",
    "blind": "def build(events):\n    return events.aggregate('kind, count(*) as n', 'kind')\n",
}


def ops_workspace(root: Path, *, summary_lineage: str | None = None, events_quality: str = "") -> Path:
    """Write the workspace at ``root`` (not applied); ``summary_lineage`` replaces the declaration."""
    Mesh.init(root)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "events.csv").write_text(EVENTS_CSV, encoding="utf-8")
    for name, (inputs, transform, columns, extra) in PRODUCTS.items():
        folder = root / "domains" / "ops" / name
        folder.mkdir(parents=True, exist_ok=True)
        declared = summary_lineage if name == "summary" and summary_lineage is not None else extra
        (folder / "product.yaml").write_text(
            _product(f"ops.{name}", inputs, transform, declared), encoding="utf-8"
        )
        quality = events_quality if name == "events" else ""
        (folder / "contract.odcs.yaml").write_text(
            _contract(f"ops.{name}", columns, quality), encoding="utf-8"
        )
        if name in PYTHON:
            (folder / "transform.py").write_text(PYTHON[name], encoding="utf-8")
    return root


def ops_mesh(root: Path, user: str = "local-admin") -> Mesh:
    """The ops workspace at ``root``, applied (lineage recorded), not built."""
    from quanta.settings import Settings

    ops_workspace(root)
    mesh = Mesh.open(root, settings=Settings(workspace=root, user=user, database_url=None))
    mesh.apply()
    return mesh


def links(mesh: Mesh, product_id: str) -> set[tuple[str, str, str, str, str]]:
    """(upstream node, column, product, column, transformation) of every column edge into the product."""
    view = mesh.lineage(product_id, direction="upstream", depth=1, columns=True)
    return {
        (c.source, c.source_column, c.target, c.target_column, c.transformation)
        for c in view.column_links
        if c.target == product_id
    }


# --- recorded when applied -----------------------------------------------------------------------


def test_sql_and_declared_lineage_are_recorded_when_versions_are_applied(tmp_path: Path) -> None:
    mesh = ops_mesh(tmp_path / "ws")

    recorded = mesh.registry.recorded_lineage(["ops.events", "ops.summary", "ops.report", "ops.blind"])
    assert recorded == {(f"ops.{p}", "1.0.0") for p in ("events", "summary", "report", "blind")}
    methods = {p: n.method for p, n in mesh.lineage_graph().products.items()}
    assert methods == {
        "ops.events": "sql",
        "ops.summary": "declared",
        "ops.report": "sql",
        "ops.blind": "none",
    }
    assert links(mesh, "ops.events") == {
        ("ops.events:raw", "id", "ops.events", "id", "IDENTITY"),
        ("ops.events:raw", "kind", "ops.events", "kind", "IDENTITY"),
        ("ops.events:raw", "amount", "ops.events", "cents", "TRANSFORMATION"),
        ("ops.events:raw", "user", "ops.events", "who", "TRANSFORMATION"),
    }
    assert links(mesh, "ops.summary") == {
        ("ops.events", "kind", "ops.summary", "kind", "TRANSFORMATION"),
        ("ops.events", "cents", "ops.summary", "total", "TRANSFORMATION"),
    }
    assert links(mesh, "ops.report") == {
        ("ops.summary", "kind", "ops.report", "kind", "IDENTITY"),
        ("ops.summary", "total", "ops.report", "total", "IDENTITY"),
    }
    assert links(mesh, "ops.blind") == set()


def test_the_graph_is_cached_until_the_registry_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = ops_mesh(tmp_path / "ws")
    loads: list[int] = []
    real = mesh.registry.lineage_rows
    monkeypatch.setattr(mesh.registry, "lineage_rows", lambda: loads.append(1) or real())

    first = mesh.lineage_graph()
    assert mesh.lineage_graph() is first and mesh.impact("ops.events.kind").products
    assert len(loads) == 1  # reads use the cache: no recomputation, no reload

    report = tmp_path / "ws" / "domains" / "ops" / "report"
    for name in ("product.yaml", "contract.odcs.yaml"):
        path = report / name
        path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.1.0", 1))
    (report / "product.yaml").write_text(
        (report / "product.yaml").read_text().replace("select kind, total", "select kind, total * 2 as total")
    )
    # Another process (here: another Mesh on the same registry) registers a new version.
    other = Mesh.open(tmp_path / "ws", settings=mesh.settings)
    assert [
        a.registration.status for a in other.apply().applied if a.registration.product_id == "ops.report"
    ] == ["new-version"]
    second = mesh.lineage_graph()
    assert second is not first and len(loads) == 2
    assert links(mesh, "ops.report") >= {("ops.summary", "total", "ops.report", "total", "TRANSFORMATION")}


BAD_DECLARATION = """\
customProperties:
  - property: lineage
    value:
      kind: [ops.events.kind]
      totl: [ops.events.cents]
      total: [ops.evnts.cents, ops.events.cent, nowhere.thing.cents, justaword]
"""


def test_declared_lineage_problems_are_positioned_and_refused(tmp_path: Path) -> None:
    root = ops_workspace(tmp_path / "ws", summary_lineage=BAD_DECLARATION)
    mesh = Mesh.open(root)
    validation = mesh.validate()
    problems = mesh.lineage_problems(validation.products)

    descriptor = str(root / "domains" / "ops" / "summary" / "product.yaml")
    lines = (root / "domains" / "ops" / "summary" / "product.yaml").read_text().splitlines()
    found = {(p.message.split(": ", 1)[1], p.line, p.hint) for p in problems}
    assert all(
        p.source is not None and Path(p.source).resolve() == Path(descriptor).resolve() for p in problems
    )
    total = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("total:"))
    totl = total - 1
    assert found == {
        (
            "lineage names output column 'totl', which the contract does not have",
            totl,
            "did you mean 'total'?",
        ),
        (
            "lineage names ops.evnts, which is not an input of this product",
            total,
            "did you mean 'ops.events'? (or add an input port reading it)",
        ),
        (
            "lineage names column 'cent' of ops.events, which has no such column",
            total,
            "did you mean 'cents'?",
        ),
        (
            "lineage names nowhere.thing, which is not an input of this product",
            total,
            "input products: ops.events (or add an input port reading it)",
        ),
        (
            "'justaword' is neither <input product id>.<column> nor <input port>.<column>",
            total,
            "input ports: events",
        ),
    }
    with pytest.raises(SpecError) as refused:
        mesh.apply()
    assert {p.line for p in refused.value.problems} >= {totl, total}


def test_quanta_apply_shows_where_a_declaration_is_wrong(tmp_path: Path) -> None:
    root = ops_workspace(tmp_path / "ws", summary_lineage=BAD_DECLARATION.replace("ops.evnts", "ops.events"))
    result = run_cli("apply", cwd=root)

    assert result.returncode == 1, result.stdout + result.stderr
    text = " ".join(result.stderr.split())
    assert "domains/ops/summary/product.yaml:" in text and "Traceback" not in text
    assert "lineage names output column 'totl', which the contract does not have" in text
    assert "hint: did you mean 'total'?" in text


def test_lineage_views_follow_direction_and_depth(tmp_path: Path) -> None:
    mesh = ops_mesh(tmp_path / "ws")

    down = mesh.lineage("ops.events", direction="downstream")
    assert {(n.id, n.depth) for n in down.nodes} == {
        ("ops.events", 0), ("ops.summary", 1), ("ops.blind", 1), ("ops.report", 2),
    }  # fmt: skip
    assert {(link.source, link.target) for link in down.links} == {
        ("ops.events", "ops.summary"), ("ops.events", "ops.blind"), ("ops.summary", "ops.report"),
    }  # fmt: skip
    assert {n.id for n in mesh.lineage("ops.events", direction="downstream", depth=1).nodes} == {
        "ops.events", "ops.summary", "ops.blind",
    }  # fmt: skip
    up = mesh.lineage("ops.report", direction="upstream")
    assert [(n.id, n.kind, n.depth) for n in up.nodes] == [
        ("ops.events:raw", "source", -3), ("ops.events", "product", -2), ("ops.summary", "product", -1),
        ("ops.report", "product", 0),
    ]  # fmt: skip
    assert up.nodes[0].label == "raw (file data/events.csv)"
    with pytest.raises(NotFoundError) as unknown:
        mesh.lineage("ops.evnts")
    assert unknown.value.hint and "ops.events" in unknown.value.hint


# --- the demo mesh --------------------------------------------------------------------------------


def test_the_demo_revenue_traces_to_its_input_columns(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)

    assert links(mesh, REVENUE) >= {
        ("sales.orders", "order_date", REVENUE, "order_year", "TRANSFORMATION"),
        ("sales.orders", "order_id", REVENUE, "order_count", "AGGREGATION"),
        ("sales.lineitems", "extended_price", REVENUE, "revenue", "AGGREGATION"),
        ("sales.lineitems", "discount", REVENUE, "revenue", "AGGREGATION"),
        (f"{REVENUE}:geography", "nation", REVENUE, "nation", "IDENTITY"),
        (f"{REVENUE}:geography", "region", REVENUE, "region", "IDENTITY"),
    }
    view = mesh.lineage(REVENUE)
    assert {n.id for n in view.nodes if n.kind == "product"} == {REVENUE, *SOURCE_ALIGNED}
    assert view.hidden == 0


@pytest.mark.parametrize(
    ("user", "shown"),
    [
        ("ana", {REVENUE}),  # an analyst reads what the organisation sees, not source-aligned products
        ("acme", {REVENUE}),  # a partner sees only what is shared into its space
        ("sam", {REVENUE, "sales.orders", "sales.lineitems"}),  # a sales producer reads sales' products
        ("gina", {REVENUE, *SOURCE_ALIGNED}),
    ],
)
def test_a_viewer_sees_only_products_they_may_read(built_demo: Path, user: str, shown: set[str]) -> None:
    view = mesh_as(built_demo, user).lineage(REVENUE, columns=True)

    assert {n.id for n in view.nodes if n.kind == "product"} == shown
    assert view.hidden == 5 - len(shown)
    dumped = json.dumps([view.nodes, view.links, view.column_links], default=lambda o: o.__dict__)
    for name in {REVENUE, *SOURCE_ALIGNED} - shown:
        assert name not in dumped  # never named, not even through a source or a column edge


def test_the_api_serves_lineage_and_impact_without_hidden_names(built_demo: Path) -> None:
    from quanta.interfaces.api import create_app

    admin = TestClient(create_app(Mesh.open(built_demo)), raise_server_exceptions=False)
    token, _ = Mesh.open(built_demo).create_token("lineage-api", scopes=["read"], principal_id="ana")
    ana = TestClient(create_app(Mesh.open(built_demo), server_mode=True), raise_server_exceptions=False)
    ana.headers["Authorization"] = f"Bearer {token}"

    full = admin.get(f"/api/v1/products/{REVENUE}/lineage", params={"columns": "true"}).json()
    assert {n["id"] for n in full["nodes"]} >= {REVENUE, *SOURCE_ALIGNED} and full["hidden"] == 0
    edge = {"source": "sales.orders", "source_column": "order_date", "target": REVENUE}
    edge |= {"target_column": "order_year", "transformation": "TRANSFORMATION", "origin": "sql"}
    assert edge in full["column_links"]
    seen = ana.get(f"/api/v1/products/{REVENUE}/lineage", params={"columns": "true", "direction": "upstream"})
    assert seen.status_code == 200 and seen.json()["hidden"] == 4
    assert not any(name in seen.text for name in SOURCE_ALIGNED)

    impact = admin.get("/api/v1/products/sales.orders/impact", params={"column": "order_date"}).json()
    assert {(p["product_id"], p["via"]) for p in impact["products"]} == {
        (REVENUE, "columns"), ("marketing.customer_segments", "columns"),
    }  # fmt: skip
    upstream = ana.get("/api/v1/products/sales.orders/impact", params={"column": "order_date"})
    assert upstream.status_code == 200 and "order_date" in upstream.text  # the product asked about is named
    missing = admin.get("/api/v1/products/sales.ordrs/lineage")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert "sales.orders" in missing.json()["detail"] + str(missing.json().get("hint"))
    bad = admin.get("/api/v1/products/sales.orders/impact", params={"column": "nope"})
    assert bad.status_code == 404 and "no column 'nope'" in bad.json()["detail"]
    assert admin.get(f"/api/v1/products/{REVENUE}/lineage", params={"depth": 0}).status_code == 422


def test_quanta_lineage_prints_a_tree_json_and_dot(built_demo: Path) -> None:
    tree = run_cli("lineage", REVENUE, "--upstream", "--columns", cwd=built_demo)
    assert tree.returncode == 0, tree.stderr
    assert "built from" in tree.stdout and "order_date ► order_year (transformation)" in tree.stdout
    assert "used by" not in tree.stdout

    data = json.loads(run_cli("lineage", "sales.orders", "--downstream", "--json", cwd=built_demo).stdout)
    assert {n["id"] for n in data["nodes"]} == {"sales.orders", REVENUE, "marketing.customer_segments"}

    dot = run_cli("lineage", "sales.orders", "--format", "dot", cwd=built_demo).stdout
    assert dot.startswith("digraph lineage {") and f'"sales.orders" -> "{REVENUE}" [label="orders"];' in dot

    wrong = run_cli("lineage", "sales.ordrs", cwd=built_demo)
    assert wrong.returncode == 1 and "did you mean 'sales.orders'?" in wrong.stderr
    assert "Traceback" not in wrong.stderr
