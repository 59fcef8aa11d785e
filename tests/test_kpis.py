"""Platform KPIs over a demo mesh where known things happened: consumers queried, one asked for access
and got it, a producer of another domain reused a product, a build failed its contract, consumers
rated; the numbers must be exactly those. Also who may see KPIs (domain owners: their domains only),
the CLI and API, and the same SQL on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta.errors import PermissionDenied
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from quanta.mesh.kpis import KpiError
from quanta.observability.kpis import compute
from quanta.query.products import AccessDenied
from quanta.registry import Registry
from quanta.registry.stores.publishing import PublishRecord
from tests.conftest import mesh_as, run_cli
from tests.test_registry import register, registry_backends

REVENUE = "finance.revenue_by_nation"
ORDERS = "sales.orders"
SUPPLIERS = "supply.suppliers"
ERIN = "  - id: erin  # owner of the finance domain\n    roles: [domain_owner]\n    domains: [finance]\n"


@pytest.fixture(scope="module")
def scenario(built_demo: Path) -> Path:
    """What happened on the mesh; the KPIs must tell exactly this."""
    governance = built_demo / "governance.yaml"
    governance.write_text(governance.read_text().replace("principals:\n", "principals:\n" + ERIN, 1))
    admin, ana, sam = (mesh_as(built_demo, who) for who in ("local-admin", "ana", "sam"))
    ana.query(f"select count(*) from {REVENUE}")
    ana.query(f"select region from {REVENUE} limit 1")
    with pytest.raises(AccessDenied):
        ana.query("select * from supply.parts")
    sam.query(f"select count(*) from {REVENUE}")  # a producer of sales reuses a finance product
    request = ana.request_access(ORDERS, "order volume dashboard", days=7, accept_terms=True)
    admin.decide_access(request, True)
    ana.query(f"select count(*) from {ORDERS}")
    mesh_as(built_demo, "carl").rate(REVENUE, 5, "Matches the ledger.")
    ana.rate(REVENUE, 3)
    contract = built_demo / "domains/supply/suppliers/suppliers.odcs.yaml"  # a rule the data breaks
    contract.write_text(
        contract.read_text()
        .replace("version: 1.0.0", "version: 2.0.0", 1)
        .replace("          maximum: 24", "          maximum: 10")
    )
    product = contract.parent / "product.yaml"
    product.write_text(product.read_text().replace("version: 1.0.0", "version: 2.0.0", 1))
    [failed] = admin.build([SUPPLIERS], force=True)
    assert failed.status == "failed" and "contract checks failed" in (failed.error or "")
    return built_demo


def test_the_kpis_tell_what_happened(scenario: Path) -> None:
    admin = mesh_as(scenario, "local-admin")
    k = admin.kpis(30)
    products = admin.products()
    assert k.domains is None and k.products.total == len(products)
    assert k.products.by_domain == dict(sorted(Counter(p.domain for p in products).items()))
    assert k.products.by_type == dict(sorted(Counter(p.type for p in products).items()))

    use = {u.product_id: u for u in k.use}
    revenue, orders = use[REVENUE], use[ORDERS]
    assert (revenue.consumers, revenue.queries, revenue.reused_by_domains) == (2, 3, ["sales"])
    assert revenue.reused_by_products == []
    assert (orders.consumers, orders.queries) == (1, 1)
    assert orders.reused_by_products == admin.registry.consumers(ORDERS)
    assert set(orders.reused_by_domains) == {p.partition(".")[0] for p in admin.registry.consumers(ORDERS)}
    assert k.reused == sum(1 for u in k.use if u.reused_by_domains)

    assert k.new_consumers == len(k.first_queries) == 3
    assert [f.first_query_at for f in k.first_queries] == sorted(
        (f.first_query_at for f in k.first_queries), reverse=True
    )
    starts = {(f.principal, f.product_id): f for f in k.first_queries}
    assert {key: f.start for key, f in starts.items()} == {
        ("ana", REVENUE): "first seen",
        ("sam", REVENUE): "first seen",
        ("ana", ORDERS): "access request",
    }
    [grant] = admin.registry.grants(principal="ana", product_id=ORDERS)
    first_orders_query = next(
        e for e in admin.registry.audit_entries(domain="sales") if e.kind == "query" and e.actor == "ana"
    )
    asked = starts[("ana", ORDERS)]
    assert (asked.started_at, asked.first_query_at) == (grant.requested_at, first_orders_query.at)
    assert asked.hours == pytest.approx((first_orders_query.at - grant.requested_at).total_seconds() / 3600)

    for lead in k.lead_times:
        assert lead.first_published_at == admin.registry.publishes(lead.product_id)[0].created_at
        assert lead.hours is not None and lead.hours >= 0
    assert k.median_lead_time_hours == statistics.median(t.hours for t in k.lead_times if t.hours is not None)

    runs = admin.registry.runs(limit=1000)
    attempts = sum(1 for r in runs if r.status in ("published", "failed", "crashed"))
    assert (k.publishes.attempts, k.publishes.failed, k.publishes.quarantined) == (attempts, 1, 1)
    assert k.publishes.failure_rate == pytest.approx(1 / attempts)
    assert k.publishes.failing_products == {SUPPLIERS: 1}

    today = next(d for d in k.queries if d.day == datetime.now(UTC).date())
    assert (today.allowed, today.denied, today.errors) == (4, 1, 0)
    assert sum(d.total for d in k.queries) == 5 and len(k.queries) == 31  # every day, gaps included

    incidents = admin.registry.incidents(limit=10_000)
    assert k.incidents.open_now == sum(1 for i in incidents if i.status == "open")
    assert k.feedback is not None
    assert (k.feedback.ratings, k.feedback.average, k.feedback.comments) == (2, 4.0, 1)


def test_a_domain_owner_sees_the_kpis_of_their_domains_only(scenario: Path) -> None:
    k = mesh_as(scenario, "erin").kpis(30)
    assert k.domains == ["finance"] and k.products.by_domain == {"finance": 1}
    assert [u.product_id for u in k.use] == [REVENUE]
    assert sum(d.allowed for d in k.queries) == 3 and sum(d.denied for d in k.queries) == 0
    assert {f.product_id for f in k.first_queries} == {REVENUE}
    assert k.publishes.failing_products == {} and k.feedback and k.feedback.ratings == 2


@pytest.mark.parametrize("who", ["ana", "sam", "acme"])
def test_consumers_producers_and_partners_may_not_see_kpis(scenario: Path, who: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        mesh_as(scenario, who).kpis()
    assert refused.value.message == f"{who} may not see the platform KPIs"
    assert "domain owners their own domains'" in (refused.value.hint or "")


def test_flows_follow_the_period_states_do_not(scenario: Path) -> None:
    admin = mesh_as(scenario, "local-admin")
    later = compute(admin.registry, days=30, now=datetime.now(UTC) + timedelta(days=45))
    assert sum(d.total for d in later.queries) == 0 and later.publishes.attempts == 0
    assert later.products == admin.kpis(30).products
    assert {u.product_id: u.consumers for u in later.use}[REVENUE] == 2  # consumers are all-time
    with pytest.raises(KpiError, match="a period of 0 days is out of range"):
        admin.kpis(0)


def test_the_cli_and_the_api_show_the_same_kpis(scenario: Path) -> None:
    shown = run_cli("kpis", "--json", "--since", "7", cwd=scenario)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["days"] == 7 and data["products"]["total"] == len(Mesh.open(scenario).products())
    text = run_cli("kpis", cwd=scenario)
    assert text.returncode == 0 and "Platform KPIs · all domains · last 30 days" in text.stdout
    assert "builds: " in text.stdout and "failed (1 quarantined)" in text.stdout
    refused = run_cli("kpis", cwd=scenario, env={"QUANTA_USER": "ana"})
    assert refused.returncode == 1 and "error: ana may not see the platform KPIs" in refused.stderr

    mesh = Mesh.open(scenario)
    server = TestClient(create_app(mesh, server_mode=True), raise_server_exceptions=False)
    tokens = {who: mesh.create_token(f"kpi-{who}", principal_id=who)[0] for who in ("erin", "ana")}
    erin = server.get(
        "/api/v1/kpis", params={"since": 7}, headers={"Authorization": f"Bearer {tokens['erin']}"}
    )
    assert erin.status_code == 200 and erin.json()["domains"] == ["finance"]
    assert erin.json()["use"][0]["product_id"] == REVENUE
    ana = server.get("/api/v1/kpis", headers={"Authorization": f"Bearer {tokens['ana']}"})
    assert ana.status_code == 403 and ana.json()["detail"] == "ana may not see the platform KPIs"
    bad = server.get(
        "/api/v1/kpis", params={"since": 0}, headers={"Authorization": f"Bearer {tokens['erin']}"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "query.since"


# --- the same SQL on both registry backends ---------------------------------------------------------


@pytest.fixture(params=registry_backends())
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    url = (
        f"sqlite:///{tmp_path / 'registry.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_database_url")
    )
    reg = Registry.open(url)
    yield reg
    reg.close()


def _publish(registry: Registry, product_id: str, run_id: str) -> None:
    registry.start_run(run_id, product_id, "1.0.0", "manual")
    registry.record_publish(
        PublishRecord(
            product_id,
            "1.0.0",
            run_id,
            {"main": 1},
            {"main": 10},
            {},
            {},
            {},
            "f",
            datetime.now(UTC),
            "alice",
        )
    )


def test_kpis_aggregate_the_same_on_sqlite_and_postgres(registry: Registry) -> None:
    register(registry, "sales.orders")
    register(registry, "finance.revenue", inputs=["sales.orders"])
    _publish(registry, "sales.orders", "r1")
    registry.start_run("r2", "finance.revenue", "1.0.0", "manual")
    registry.finish_run("r2", "failed", "contract checks failed")
    registry.append_event("build.quarantined", "finance.revenue", "alice", {"run": "r2"})
    for actor, product, decision in [("ana", "sales.orders", "allow")] * 3 + [
        ("bob", "sales.orders", "deny")
    ]:
        registry.audit("query", actor, product, decision, domain=product.partition(".")[0])
    registry.put_feedback("sales.orders", "ana", 4, "good")
    k = compute(registry, days=7)
    use = {u.product_id: u for u in k.use}
    assert (use["sales.orders"].consumers, use["sales.orders"].queries) == (1, 3)
    assert use["sales.orders"].reused_by_domains == ["finance"]
    assert (k.publishes.attempts, k.publishes.published, k.publishes.failed, k.publishes.quarantined) == (
        2,
        1,
        1,
        1,
    )
    assert [(d.allowed, d.denied) for d in k.queries if d.total] == [(3, 1)]
    assert k.queries[-1].day == datetime.now(UTC).date()
    [lead] = [t for t in k.lead_times if t.hours is not None]
    assert lead.product_id == "sales.orders" and 0 <= lead.hours < 1 / 60
    assert k.feedback is not None and (k.feedback.ratings, k.feedback.average) == (1, 4.0)
    only_finance = compute(registry, days=7, domains=["finance"])
    assert [u.product_id for u in only_finance.use] == ["finance.revenue"] and not any(
        d.total for d in only_finance.queries
    )
