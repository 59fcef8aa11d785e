"""DATSIS maturity scoring on the real demo mesh: every product explained criterion by criterion,
better metadata raising the score, failed builds and incidents lowering Trustworthy, the trend kept in
the registry (SQLite and PostgreSQL), publish policies gating on the level, and the API and CLI."""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quanta.discovery.maturity.scoring import DIMENSIONS, LEVELS, Maturity
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from quanta.registry import Registry
from quanta.registry.stores.maturity_scores import MaturityRecord
from tests.conftest import run_cli

DEMO = {
    "customers.customers",
    "finance.revenue_by_nation",
    "marketing.customer_segments",
    "sales.lineitems",
    "sales.orders",
    "supply.parts",
    "supply.suppliers",
}
GOLD_FOR_FINANCE = """\
# METADATA
# title: Consumer-aligned finance products are gold
# description: The board pack reads them; below gold they are not trusted enough.
# stage: {stage}
# events: [publish]
package quanta.finance.gold_consumer_products

import rego.v1

deny contains msg if {{
\tinput.product.type == "consumer-aligned"
\tinput.maturity.level < 3
\tmsg := concat("", [
\t\t"maturity ", input.maturity.name, " (", format_int(input.maturity.score, 10), ") is below gold: raise ",
\t\tconcat(", ", [d | input.maturity.dimensions[d] < 75]),
\t])
}}
"""


def criterion(maturity: Maturity, criterion_id: str) -> Any:
    return next(c for c in maturity.criteria if c.id == criterion_id)


def dimension(maturity: Maturity, name: str) -> int:
    return next(d.score for d in maturity.dimensions if d.name == name)


def bump(path: Path, old: str, new: str, *edits: tuple[str, str]) -> None:
    """Register a new version of a descriptor or contract: its first ``version:`` and some edits."""
    text = path.read_text().replace(f"version: {old}", f"version: {new}", 1)
    for before, after in edits:
        assert before in text, before
        text = text.replace(before, after)
    path.write_text(text)


# --- every demo product, explained ------------------------------------------------------------------


def test_every_demo_product_is_explained_criterion_by_criterion(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    found, total = mesh.maturity_all()
    assert total == 7 and {m.product_id for m in found} == DEMO
    for maturity in found:
        assert [d.name for d in maturity.dimensions] == list(DIMENSIONS)
        assert 0 <= maturity.score <= 100 and all(0 <= d.score <= 100 for d in maturity.dimensions)
        assert maturity.score == round(sum(d.score for d in maturity.dimensions) / 6)
        reached = [
            lv
            for lv in LEVELS
            if maturity.score >= lv.score and min(d.score for d in maturity.dimensions) >= lv.floor
        ]
        assert maturity.level == reached[-1].name and maturity.rank == reached[-1].rank
        assert len(maturity.criteria) >= 30
        for c in maturity.criteria:
            assert c.evidence, c.id
            # a criterion not met always says how to meet it, naming what to change
            assert c.met or (c.hint and len(c.hint) > 15), c.id
        if maturity.next_level:
            assert maturity.next_level.startswith(LEVELS[maturity.rank + 1].name)


def test_real_gaps_of_demo_products_are_counted_and_located(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    suppliers = mesh.maturity("supply.suppliers")
    classified = criterion(suppliers, "secure.classified-columns")
    assert not classified.met and classified.evidence == "3 of 7 columns classified"
    assert "supplier_id, name, nation_key, comment" in classified.hint
    assert (
        "domains/supply/suppliers/suppliers.odcs.yaml: schema[0].properties[0] (supplier_id).classification"
        in (classified.hint)
    )
    described = criterion(suppliers, "self-describing.contract-description")
    assert (
        not described.met
        and described.evidence == "no description.purpose and no description.usage in the contract"
    )
    assert (
        described.hint
        == "add description.purpose and description.usage to domains/supply/suppliers/suppliers.odcs.yaml"
    )
    relationships = criterion(suppliers, "interoperable.relationships")
    assert (
        relationships.evidence == "0 of 1 reference column with relationships"
        and "nation_key" in relationships.hint
    )

    revenue = mesh.maturity("finance.revenue_by_nation")
    assert criterion(revenue, "secure.classified-columns").evidence == "0 of 5 columns classified"
    assert criterion(mesh.maturity("supply.parts"), "self-describing.examples").evidence == (
        "0 of 9 columns with examples or allowed values"
    )

    orders = mesh.maturity("sales.orders")
    for met in ("self-describing.documented-columns", "interoperable.odcs", "interoperable.odps",
                "addressable.published", "addressable.management", "trustworthy.last-build"):  # fmt: skip
        assert criterion(orders, met).met, met
    assert criterion(orders, "self-describing.documented-columns").evidence == "9 of 9 columns documented"
    assert (
        criterion(orders, "trustworthy.quality-rules").evidence
        == "4 quality rules (3 on tables, 1 on columns)"
    )
    # customers' personal columns were detected on landing and are classified in its contract
    landing = criterion(mesh.maturity("customers.customers"), "secure.unmasked-sensitive")
    assert landing.met and landing.evidence.endswith("found on landing, all classified")
    # the version history criterion only applies once there is a previous version
    assert not criterion(orders, "addressable.history").applicable


def test_scoring_one_product_is_fast_and_stores_only_changes(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    mesh.maturity("sales.lineitems")
    rows = len(mesh.registry.maturity_history("sales.lineitems"))
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        mesh.maturity("sales.lineitems")
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.05, timings
    assert len(mesh.registry.maturity_history("sales.lineitems")) == rows  # unchanged: nothing stored
    levels = mesh.registry.maturity_levels()
    assert set(levels) == DEMO and levels["sales.lineitems"] == mesh.maturity("sales.lineitems").level


# --- metadata and observations move the score ------------------------------------------------------------


def test_documenting_columns_raises_the_score_and_the_trend_shows_it(own_demo: Path) -> None:
    mesh = Mesh.open(own_demo)
    contract = own_demo / "domains/supply/parts/parts.odcs.yaml"
    product = contract.parent / "product.yaml"
    original = contract.read_text()
    before = mesh.maturity("supply.parts")

    undocumented = [
        ("        description: Descriptive name.\n", ""),
        ("        description: Brand, e.g. Brand#13.\n", ""),
        ("        description: Container, e.g. JUMBO PKG.\n", ""),
    ]
    bump(contract, "1.0.0", "1.1.0", *undocumented)
    bump(product, "1.0.0", "1.1.0")
    mesh.apply()
    worse = mesh.maturity("supply.parts")
    documented = criterion(worse, "self-describing.documented-columns")
    assert not documented.met and documented.evidence == "6 of 9 columns documented"
    assert documented.hint == (
        "add a description to 3 column(s): domains/supply/parts/parts.odcs.yaml: schema[0].properties[1] "
        "(name).description (also brand, container)"
    )
    assert worse.score < before.score and dimension(worse, "self-describing") < dimension(
        before, "self-describing"
    )

    # document them again, with examples on most columns this time
    text = original.replace("version: 1.0.0", "version: 1.2.0", 1)
    examples = {
        "part_id": "[1, 2]",
        "manufacturer": "[Manufacturer#1]",
        "brand": "[Brand#13]",
        "size": "[7, 49]",
        "container": "[JUMBO PKG, SM CASE]",
    }
    for column, values in examples.items():
        text = text.replace(
            f"      - name: {column}\n", f"      - name: {column}\n        examples: {values}\n"
        )
    contract.write_text(text)
    bump(product, "1.1.0", "1.2.0")
    mesh.apply()
    better = mesh.maturity("supply.parts")
    assert criterion(better, "self-describing.documented-columns").met
    assert criterion(better, "self-describing.examples").met
    assert better.score > before.score > worse.score
    assert dimension(better, "self-describing") > dimension(before, "self-describing")

    history = mesh.maturity_history("supply.parts")
    assert [(r.version, r.score) for r in history[-3:]] == [
        ("1.0.0", before.score),
        ("1.1.0", worse.score),
        ("1.2.0", better.score),
    ]
    assert history[0].trigger == "publish" and history[-1].trigger == "demand"


def test_a_failed_build_and_its_incident_lower_trustworthy(own_demo: Path) -> None:
    mesh = Mesh.open(own_demo)
    before = mesh.maturity("supply.suppliers")
    assert criterion(before, "trustworthy.last-build").met and criterion(before, "trustworthy.incidents").met
    contract = own_demo / "domains/supply/suppliers/suppliers.odcs.yaml"
    bump(contract, "1.0.0", "2.0.0", ("          maximum: 24", "          maximum: 10"))
    bump(contract.parent / "product.yaml", "1.0.0", "2.0.0")
    [result] = mesh.build(["supply.suppliers"], force=True)
    assert result.status == "failed" and "contract checks failed" in (result.error or "")

    after = mesh.maturity("supply.suppliers")
    assert dimension(after, "trustworthy") < dimension(before, "trustworthy")
    last = criterion(after, "trustworthy.last-build")
    assert (
        not last.met and last.hint == f"inspect it: quanta quarantine show supply.suppliers {result.run_id}"
    )
    assert criterion(after, "trustworthy.pass-rate").evidence == "1 of 2 recent builds published"
    incidents = mesh.registry.open_incidents("supply.suppliers")
    assert incidents, "the contract failure opens an incident"
    found = criterion(after, "trustworthy.incidents")
    assert not found.met and found.evidence.startswith(f"{len(incidents)} open incident")
    # the failed build stored a score: the trend shows the drop
    builds = [r for r in mesh.maturity_history("supply.suppliers") if r.trigger == "build"]
    assert builds and builds[-1].version == "2.0.0"
    assert builds[-1].dimensions["trustworthy"] == dimension(after, "trustworthy")


# --- the publish policies gate on the level -------------------------------------------------------------


def test_a_policy_refuses_to_publish_below_the_required_level(own_demo: Path) -> None:
    policies = own_demo / "domains/finance/policies"
    policies.mkdir(parents=True)
    policy = policies / "gold_consumer_products.rego"
    policy.write_text(GOLD_FOR_FINANCE.format(stage="grace"))
    mesh = Mesh.open(own_demo)
    current = mesh.maturity("finance.revenue_by_nation")
    assert current.rank < 3

    # in its grace period the policy warns, recorded with the publish
    [warned] = mesh.build(["finance.revenue_by_nation"], force=True)
    assert warned.status == "published"
    decisions = {d["policy"]: d for d in warned.checks["governance"]["policies"]}
    gate = decisions["quanta.finance.gold_consumer_products"]
    assert gate["outcome"] == "warn" and "is below gold: raise" in gate["messages"][0]

    # enforced, it refuses: the version stays in quarantine and consumers keep the previous one
    policy.write_text(GOLD_FOR_FINANCE.format(stage="enforced"))
    mesh = Mesh.open(own_demo)
    published = mesh.registry.current_publish("finance.revenue_by_nation")
    [refused] = mesh.build(["finance.revenue_by_nation"], force=True)
    assert refused.status == "failed"
    assert "refused by policy: quanta.finance.gold_consumer_products: maturity " in (refused.error or "")
    assert "is below gold" in (refused.error or "")
    assert mesh.quarantine("finance.revenue_by_nation")
    assert mesh.registry.current_publish("finance.revenue_by_nation") == published
    # a product of another type in the same domain is not concerned
    document = {"product": {"type": "aggregate", "domain": "finance"}, "maturity": {"level": 0}}
    [other] = [d for d in mesh.policies.evaluate("publish", document) if d.policy == gate["policy"]]
    assert other.outcome == "allow"


def test_the_build_scores_the_candidate_version_for_the_policies(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    [loaded] = [p for p in mesh.validate().products if p.product.id == "supply.suppliers"]
    clean = mesh.maturity_for_build(loaded, [])
    assert set(clean) == {"level", "name", "score", "dimensions", "unmet"}
    assert clean["name"] == LEVELS[clean["level"]].name and set(clean["dimensions"]) == set(DIMENSIONS)
    assert "addressable.published" not in clean["unmet"]  # this build's data passed its contract
    leaked = mesh.maturity_for_build(
        loaded, [{"column": "comment", "tag": "pii", "kind": "email", "level": "confidential"}]
    )
    assert (
        "secure.unmasked-sensitive" in leaked["unmet"] and "secure.unmasked-sensitive" not in clean["unmet"]
    )
    assert leaked["dimensions"]["secure"] < clean["dimensions"]["secure"]


# --- the registry keeps the trend, on every backend ------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = (
        f"sqlite:///{tmp_path / 'registry.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_database_url")
    )
    reg = Registry.open(url)
    yield reg
    reg.close()


def record(
    product_id: str, score: int, level: str, fingerprint: str, version: str = "1.0.0"
) -> MaturityRecord:
    dims = dict.fromkeys(DIMENSIONS, score)
    return MaturityRecord(
        product_id, version, datetime.now(UTC), score, level, dims, ["a"], ["b"], "demand", fingerprint
    )


def test_the_registry_stores_changes_only_and_answers_the_latest_level(registry: Registry) -> None:
    assert registry.record_maturity(record("sales.orders", 60, "bronze", "f1"))
    assert not registry.record_maturity(record("sales.orders", 60, "bronze", "f1"))  # same score: not stored
    assert registry.record_maturity(record("sales.orders", 72, "silver", "f2", "1.1.0"))
    assert registry.record_maturity(record("supply.parts", 40, "basic", "f3"))
    history = registry.maturity_history("sales.orders")
    assert [(r.score, r.level, r.version) for r in history] == [
        (60, "bronze", "1.0.0"),
        (72, "silver", "1.1.0"),
    ]
    assert history[-1].dimensions["secure"] == 72 and history[-1].met == ["a"] and history[-1].unmet == ["b"]
    assert registry.maturity_levels() == {"sales.orders": "silver", "supply.parts": "basic"}
    assert set(registry.latest_maturity(["supply.parts"])) == {"supply.parts"}
    assert [r.score for r in registry.maturity_history("sales.orders", limit=1)] == [72]


# --- API and CLI ---------------------------------------------------------------------------------------


def test_the_api_serves_scores_criteria_and_history_to_those_who_may_see_them(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    local = TestClient(create_app(mesh), raise_server_exceptions=False)
    listed = local.get("/api/v1/maturity", params={"limit": 3}).json()
    assert listed["total"] == 7 and len(listed["items"]) == 3
    assert set(listed["items"][0]["dimensions"]) == set(DIMENSIONS)
    detail = local.get("/api/v1/products/supply.suppliers/maturity").json()
    assert detail["level"] == mesh.maturity("supply.suppliers").level
    secure = next(d for d in detail["dimensions"] if d["name"] == "secure")
    classified = next(c for c in secure["criteria"] if c["id"] == "secure.classified-columns")
    assert (
        classified["met"] is False
        and classified["evidence"] == "3 of 7 columns classified"
        and classified["hint"]
    )
    history = local.get("/api/v1/products/supply.suppliers/maturity/history").json()
    assert history["total"] >= 1 and history["items"][0]["score"] == detail["score"]
    missing = local.get("/api/v1/products/nope.nothing/maturity")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "application/problem+json"
    )

    # a partner sees the scores of what was shared into its space only
    token, _ = mesh.create_token("datsis-partner", scopes=["read"], principal_id="acme")
    server = TestClient(create_app(mesh, server_mode=True), raise_server_exceptions=False)
    partner = {"Authorization": f"Bearer {token}"}
    shared = server.get("/api/v1/maturity", headers=partner).json()
    assert [m["product_id"] for m in shared["items"]] == ["finance.revenue_by_nation"]
    refused = server.get("/api/v1/products/sales.orders/maturity", headers=partner)
    assert refused.status_code == 403 and "not shared into your space" in refused.json()["detail"]
    assert server.get("/api/v1/products/sales.orders/maturity/history", headers=partner).status_code == 403


def test_the_cli_scores_every_product_and_explains_one(built_demo: Path) -> None:
    table = run_cli("score", cwd=built_demo)
    assert table.returncode == 0, table.stderr
    assert all(pid in table.stdout for pid in ("sales.orders", "supply.parts")) and "Sec" in table.stdout
    listed = json.loads(run_cli("score", "--json", cwd=built_demo).stdout)
    assert {m["product_id"] for m in listed} == DEMO
    one = run_cli("score", "supply.suppliers", cwd=built_demo)
    assert (
        one.returncode == 0
        and "✗ Every column is classified (public included): 3 of 7 columns classified" in one.stdout
    )
    assert "how: set classification" in one.stdout and "Secure" in one.stdout
    detail = json.loads(run_cli("score", "supply.suppliers", "--json", cwd=built_demo).stdout)
    assert detail["product_id"] == "supply.suppliers" and len(detail["dimensions"]) == 6
    trend = json.loads(run_cli("score", "supply.suppliers", "--history", "--json", cwd=built_demo).stdout)
    assert trend and trend[-1]["score"] == detail["score"]
    unknown = run_cli("score", "supply.partz", cwd=built_demo)
    assert unknown.returncode == 1 and "supply.parts" in unknown.stderr and "Traceback" not in unknown.stderr


def test_the_marketplace_facets_products_by_their_maturity_level(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    levels = mesh.registry.maturity_levels()
    assert set(levels) == {p.id for p in mesh.products()}
    found = mesh.search("orders")
    expected: dict[str, int] = {}
    for hit in found.hits:
        expected[levels[hit.product_id]] = expected.get(levels[hit.product_id], 0) + 1
    assert found.facets["maturity"] == expected and found.total_exact
    one = next(iter(expected))
    assert {h.product_id for h in mesh.search("orders", filters={"maturity": one}).hits} == {
        h.product_id for h in found.hits if levels[h.product_id] == one
    }
