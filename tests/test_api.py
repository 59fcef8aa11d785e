"""The REST API over the demo mesh: discovery, observability, control, governed queries, problem
details for every kind of bad input, tokens in server mode; and the SDK in process and remote."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import quanta
from quanta.errors import AuthenticationError, NotFoundError, PermissionDenied
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from tests.conftest import serve_app

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def local(built_demo: Path) -> TestClient:
    return TestClient(create_app(Mesh.open(built_demo)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def server(built_demo: Path) -> TestClient:
    return TestClient(create_app(Mesh.open(built_demo), server_mode=True), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def ana_token(built_demo: Path) -> str:
    token, _ = Mesh.open(built_demo).create_token("api-tests", scopes=["read", "request"], principal_id="ana")
    return token


def problem_of(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_discovery(local: TestClient) -> None:
    listed = local.get("/api/v1/products", params={"limit": 2, "offset": 1}).json()
    assert listed["total"] == 7 and len(listed["items"]) == 2 and listed["offset"] == 1
    assert {
        p["domain"] for p in local.get("/api/v1/products", params={"domain": "sales"}).json()["items"]
    } == {"sales"}
    detail = local.get("/api/v1/products/sales.orders").json()
    assert detail["product"]["id"] == "sales.orders" and detail["versions"][0]["version"] == "1.0.0"
    schema = local.get("/api/v1/products/customers.customers/schema").json()
    phone = next(c for c in schema if c["name"] == "phone")
    assert phone["classification"] == "confidential" and phone["tags"] == ["pii"]
    contract = local.get("/api/v1/products/sales.orders/contract").json()
    assert next(iter(contract.values()))["kind"] == "DataContract"


def test_search(local: TestClient) -> None:
    found = local.get("/api/v1/search", params={"q": "revnue"}).json()
    assert (
        found["hits"][0]["product_id"] == "finance.revenue_by_nation"
        and found["corrected_query"] == "revenue"
    )
    column = local.get("/api/v1/search", params={"q": "lifetime_value"}).json()["hits"][0]
    assert "column lifetime_value" in column["matched"]
    browse = local.get("/api/v1/search", params={"domain": "sales"}).json()
    assert browse["total"] == 2 and browse["facets"]["domain"]


def test_observability(local: TestClient) -> None:
    runs = local.get("/api/v1/runs", params={"product": "sales.orders"}).json()
    assert runs["items"] and runs["items"][0]["status"] in ("published", "skipped")
    checks = local.get("/api/v1/products/sales.orders/checks").json()
    assert checks["summary"]["failed"] == 0 and checks["checks"]
    fresh = local.get("/api/v1/products/sales.orders/freshness").json()
    assert fresh["age_seconds"] >= 0 and fresh["rows"]["orders"] == 15000


def test_governed_queries_json_and_arrow(server: TestClient, ana_token: str) -> None:
    auth = {"Authorization": f"Bearer {ana_token}"}
    sql = (
        "select phone, tier from marketing.customer_segments "
        "join customers.customers using (customer_id) limit 3"
    )
    refused = server.post("/api/v1/query", json={"sql": sql}, headers=auth)
    assert problem_of(refused, 403)["detail"].startswith("access denied to customers.customers")  # type: ignore[union-attr]
    rows = server.post(
        "/api/v1/query", json={"sql": "select tier from marketing.customer_segments limit 3"}, headers=auth
    ).json()
    assert rows["row_count"] == 3 and {r["tier"] for r in rows["rows"]} == {"****"}
    assert rows["masked"] == {"marketing.customer_segments": {"tier": "redact"}}
    stream = server.post(
        "/api/v1/query",
        json={"sql": "select count(*) as n from finance.revenue_by_nation", "format": "arrow"},
        headers=auth,
    )
    assert stream.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(stream.content).read_all()
    assert table.column("n")[0].as_py() == 35  # ana's row filter: region EUROPE only
    bad = server.post("/api/v1/query", json={"sql": "select * from read_csv('/etc/passwd')"}, headers=auth)
    assert "not allowed" in problem_of(bad, 400)["detail"]  # type: ignore[operator]


def test_access_request_flow(server: TestClient, built_demo: Path, ana_token: str) -> None:
    admin_token, _ = Mesh.open(built_demo).create_token("api-admin", scopes=["read", "admin"])
    ana, admin = {"Authorization": f"Bearer {ana_token}"}, {"Authorization": f"Bearer {admin_token}"}
    created = server.post(
        "/api/v1/access-requests",
        json={"product_id": "supply.suppliers", "purpose": "vendor review", "days": 7},
        headers=ana,
    )
    assert created.status_code == 201 and created.json()["status"] == "requested"
    request_id = created.json()["id"]
    problem_of(server.post(f"/api/v1/access-requests/{request_id}/approve", headers=ana), 403)
    read_only, _ = Mesh.open(built_demo).create_token("read-only", scopes=["read"], principal_id="ana")
    scoped = server.post(
        "/api/v1/access-requests",
        json={"product_id": "supply.parts", "purpose": "pricing"},
        headers={"Authorization": f"Bearer {read_only}"},
    )
    assert "do not include 'request'" in problem_of(scoped, 403)["detail"]  # type: ignore[operator]
    # write covers what request guards: a producer's read,write token may ask for access too
    producer, _ = Mesh.open(built_demo).create_token("etl", scopes=["read", "write"], principal_id="sam")
    asked = server.post(
        "/api/v1/access-requests",
        json={"product_id": "supply.parts", "purpose": "pricing", "columns": ["part_id"]},
        headers={"Authorization": f"Bearer {producer}"},
    )
    assert asked.status_code == 201 and asked.json()["principal"] == "sam", asked.text
    approved = server.post(
        f"/api/v1/access-requests/{request_id}/approve", json={"reason": "ok"}, headers=admin
    )
    assert approved.json()["status"] == "granted"
    rows = server.post(
        "/api/v1/query", json={"sql": "select count(*) as n from supply.suppliers"}, headers=ana
    )
    assert rows.json()["rows"] == [{"n": 100}]
    mine = server.get("/api/v1/access-requests", headers=ana).json()["items"]
    assert {g["principal"] for g in mine} == {"ana"}
    audit = server.get("/api/v1/audit", params={"domain": "supply"}, headers=admin).json()["items"]
    assert {"access.request", "access.grant"} <= {e["kind"] for e in audit}
    assert server.get("/api/v1/policies", headers=ana).json()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "fragment"),
    [
        (
            "post",
            "/api/v1/query",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
            "body",
        ),
        ("post", "/api/v1/query", {"json": {"sql": 42}}, 422, "body.sql"),
        ("post", "/api/v1/query", {"json": {"sql": "select 1", "limit": "many"}}, 422, "body.limit"),
        ("post", "/api/v1/query", {"json": {"sql": "select 1", "extra": 1}}, 422, "body.extra"),
        ("post", "/api/v1/query", {"json": {"sql": "x" * 2_000_000}}, 413, "over"),
        ("get", "/api/v1/products", {"params": {"limit": -1}}, 422, "query.limit"),
        ("get", "/api/v1/products/nope.nothing", {}, 404, "nope.nothing"),
        ("get", "/api/v1/products/sales.orders/contract", {"params": {"version": "9.9.9"}}, 404, "9.9.9"),
        ("post", "/api/v1/access-requests/999999/approve", {}, 404, "999999"),
        (
            "post",
            "/api/v1/access-requests",
            {"json": {"product_id": "sales.orders", "purpose": "x", "days": 0}},
            422,
            "body.days",
        ),
        ("get", "/api/v1/search", {"params": {"q": "a", "limit": 1000}}, 422, "query.limit"),
        ("get", "/api/v1/nowhere", {}, 404, "Not Found"),
    ],
)
def test_bad_input_is_a_problem_never_a_500(
    local: TestClient, method: str, path: str, kwargs: dict[str, object], status: int, fragment: str
) -> None:
    body = problem_of(getattr(local, method)(path, **kwargs), status)
    assert fragment in str(body)


def test_server_mode_needs_a_valid_token(server: TestClient, built_demo: Path) -> None:
    assert problem_of(server.get("/api/v1/products"), 401)["detail"] == "this server needs a token"
    problem_of(server.get("/api/v1/products", headers={"Authorization": "Basic abc"}), 401)
    problem_of(server.get("/api/v1/products", headers={"Authorization": "Bearer qt_x_y"}), 401)
    mesh = Mesh.open(built_demo)
    token, record = mesh.create_token("short-lived", principal_id="carl")
    assert server.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with mesh.registry.engine.begin() as connection:
        connection.execute(
            text("update tokens set expires_at = '2000-01-01 00:00:00' where id = :i"), {"i": record.id}
        )
    expired = server.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert "expired on 2000-01-01" in problem_of(expired, 401)["detail"]  # type: ignore[operator]
    assert expired.headers["www-authenticate"] == "Bearer"


def test_openapi_is_published(local: TestClient) -> None:
    spec = local.get("/openapi.json").json()
    assert (
        spec["openapi"].startswith("3.")
        and "/api/v1/query" in spec["paths"]
        and "/api/v1/search" in spec["paths"]
    )


def test_sdk_in_process(built_demo: Path) -> None:
    client = quanta.connect(workspace=built_demo)
    assert client.search("revenue")[0]["product_id"] == "finance.revenue_by_nation"
    orders = client.product("sales.orders")
    assert {c["name"] for c in orders.schema} >= {"order_id", "status"}
    assert orders.contract["kind"] == "DataContract" and orders.versions[0] == "1.0.0"
    frame = orders.to_pandas(limit=5)
    assert len(frame) == 5 and "order_id" in frame.columns
    assert orders.to_polars(limit=3).height == 3
    assert client.sql("select count(*) as n from sales.orders").column("n")[0].as_py() == 15000
    assert "<table>" in orders._repr_html_()


def test_sdk_observability_lineage_and_maturity(built_demo: Path) -> None:
    client = quanta.connect(workspace=built_demo)
    health = client.health("sales.orders")
    assert health["freshness"]["status"] == "breached"  # TPC-H order dates end in 1998
    [incident] = client.incidents("sales.orders", status="open")
    assert incident["kind"] == "freshness" and incident["product_id"] == "sales.orders"
    downstream = client.lineage("sales.orders")
    assert "finance.revenue_by_nation" in json.dumps(downstream)
    touched = client.impact("sales.lineitems", "extended_price")
    assert "finance.revenue_by_nation.revenue" in json.dumps(touched)
    maturity = client.maturity("sales.orders")
    assert maturity["level"] in {"bronze", "silver", "gold"} and len(maturity["dimensions"]) == 6


@pytest.fixture(scope="module")
def live(built_demo: Path) -> Iterator[str]:
    yield from serve_app(Mesh.open(built_demo), server_mode=True)


def test_sdk_remote_is_governed_like_everything_else(live: str, ana_token: str) -> None:
    ana = quanta.connect(live, token=ana_token)
    assert ana.search("segments")[0]["product_id"] == "marketing.customer_segments"
    tiers = ana.product("marketing.customer_segments").to_arrow(limit=5).column("tier").to_pylist()
    assert set(tiers) == {"****"}
    with pytest.raises(PermissionDenied, match=r"access denied to customers\.customers"):
        ana.sql("select * from customers.customers")
    with pytest.raises(AuthenticationError):
        quanta.connect(live, token="qt_nope_nope").products()


def test_the_sdk_answers_alike_in_process_and_over_http(
    live: str, ana_token: str, built_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Local mode shapes its answers with the same code as the REST routes (quanta.mesh.answers),
    # without importing the web stack: the same documents, the same errors.
    monkeypatch.setenv("QUANTA_USER", "ana")
    local, remote = quanta.connect(workspace=built_demo), quanta.connect(live, token=ana_token)
    for ask in (
        lambda c: c.search("revenue"),
        lambda c: c.products(domain="finance"),
        lambda c: c.product("finance.revenue_by_nation").detail,
        lambda c: c.product("finance.revenue_by_nation").schema,
        lambda c: c.checks("finance.revenue_by_nation"),
        lambda c: c.runs("finance.revenue_by_nation"),
        lambda c: c.lineage("finance.revenue_by_nation", columns=True),
        lambda c: c.impact("marketing.customer_segments"),
        lambda c: c.query("select nation, revenue from finance.revenue_by_nation order by 1, 2 limit 3"),
    ):
        here, there = ask(local), ask(remote)
        if isinstance(here, dict):
            here.pop("receipt", None)  # signed per read
            there.pop("receipt", None)
        assert here == there
    for client in (local, remote):
        with pytest.raises(PermissionDenied, match=r"access denied to customers\.customers"):
            client.sql("select * from customers.customers")
        with pytest.raises(NotFoundError, match=r"nope\.nothing"):
            client.product("nope.nothing")


def test_the_sdk_local_mode_does_not_load_the_web_stack(built_demo: Path) -> None:
    code = (
        "import sys, quanta; c = quanta.connect(workspace=sys.argv[1]); c.product('sales.orders').schema; "
        "c.search('revenue'); "
        "print(sorted(m for m in ('fastapi', 'starlette', 'quanta.interfaces') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(built_demo)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_example_notebook_runs(built_demo: Path, tmp_path: Path) -> None:
    """Every code cell of examples/first-query.ipynb, in order, against a built demo mesh."""
    import json

    notebook = json.loads((Path(__file__).parents[1] / "examples" / "first-query.ipynb").read_text())
    scope: dict[str, object] = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]).replace('"../demo-mesh"', repr(str(built_demo)))
            exec(compile(source, "first-query.ipynb", "exec"), scope)
    assert scope["frame"].shape[0] > 0  # type: ignore[attr-defined]


def test_subscriptions_apply_and_build_over_the_api(own_demo: Path) -> None:
    client = TestClient(create_app(Mesh.open(own_demo)), raise_server_exceptions=False)
    assert client.put("/api/v1/products/sales.orders/subscription").status_code == 204
    problem_of(client.put("/api/v1/products/nope.nothing/subscription"), 404)
    assert client.get("/api/v1/subscriptions").json() == ["sales.orders"]
    assert client.post("/api/v1/apply").json()["applied"]
    built = client.post("/api/v1/products/sales.orders/build", params={"force": "true"}).json()
    assert built[0]["status"] == "published"
    heard = client.get("/api/v1/notifications").json()
    assert heard[0]["product_id"] == "sales.orders" and heard[0]["kind"] == "product.published"
    assert client.delete("/api/v1/products/sales.orders/subscription").status_code == 204
    assert client.get("/api/v1/notifications").json() == []


def test_serve_runs_the_scheduler_in_the_background(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    fired: list[str] = []
    real = mesh.run_schedule

    def run_schedule(now: object = None, owner: str = "scheduler") -> list[object]:
        fired.append(owner)
        return list(real(owner=owner))  # the real scheduler: nothing is due right after a build

    mesh.run_schedule = run_schedule  # type: ignore[method-assign]
    with TestClient(create_app(mesh, scheduler=0.1)) as client:
        deadline = time.monotonic() + 20
        while len(fired) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/api/v1/products").status_code == 200
    assert len(fired) >= 2 and fired[0].startswith("serve-")
