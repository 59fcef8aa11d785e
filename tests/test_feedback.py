"""Consumer feedback: ratings (1-5) and comments on products, through the facade, the registry on
SQLite and PostgreSQL, the REST API and the CLI; who may rate, the "used it" mark, moderation, and
every kind of bad input refused with what is wrong and how to fix it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta.errors import NotFoundError, PermissionDenied
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from quanta.mesh.kpis import FeedbackError
from quanta.registry import Registry
from tests.conftest import mesh_as, run_cli
from tests.test_registry import registry_backends

REVENUE = "finance.revenue_by_nation"  # consumer-aligned: the whole organisation may read it
SEGMENTS = "marketing.customer_segments"
ORDERS = "sales.orders"  # source-aligned: visible to the sales domain only


def test_one_feedback_per_principal_and_updates_keep_what_was_not_changed(built_demo: Path) -> None:
    ana = mesh_as(built_demo, "ana")
    first = ana.rate(SEGMENTS, 3)
    again = ana.rate(SEGMENTS, comment="  Tiers match what the CRM says.  ")
    last = ana.rate(SEGMENTS, 5)
    assert first.id == again.id == last.id
    assert (last.rating, last.comment) == (5, "Tiers match what the CRM says.")
    seen = ana.product_feedback(SEGMENTS)
    assert [e.principal for e in seen.entries] == ["ana"] and seen.mine == seen.entries[0]
    assert (seen.summary.count, seen.summary.average, seen.summary.comments) == (1, 5.0, 1)
    assert seen.summary.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}
    assert seen.may_rate and seen.why_not is None and not seen.may_moderate
    audited = [e for e in ana.registry.audit_entries(domain="marketing") if e.kind == "feedback"]
    assert [e.details["rating"] for e in audited[-3:]] == [3, None, 5] and audited[-3].details["new"]


@pytest.mark.parametrize(
    ("rating", "comment", "message", "hint"),
    [
        (0, None, "rating 0 is out of range (at rating)", "rate from 1 (poor) to 5 (excellent)"),
        (6, None, "rating 6 is out of range (at rating)", "rate from 1 (poor) to 5 (excellent)"),
        (None, "   ", "the comment is empty (at comment)", "write what you found, or leave it out"),
        (4, "x" * 2001, "the comment has 2,001 characters, more than 2,000 (at comment)", "shorten it"),
        (None, None, "give a rating, a comment or both", "--rate 1..5 and/or --comment TEXT"),
    ],
)
def test_bad_feedback_is_refused_with_the_field_and_a_fix(
    built_demo: Path, rating: int | None, comment: str | None, message: str, hint: str
) -> None:
    carl = mesh_as(built_demo, "carl")
    before = carl.product_feedback(REVENUE).entries
    with pytest.raises(FeedbackError) as refused:
        carl.rate(REVENUE, rating, comment)
    assert refused.value.message == message and hint in (refused.value.hint or "")
    assert refused.value.status == 422
    assert carl.product_feedback(REVENUE).entries == before  # nothing written


def test_an_unknown_product_cannot_be_rated(built_demo: Path) -> None:
    with pytest.raises(NotFoundError) as unknown:
        mesh_as(built_demo, "ana").rate("finance.revenue_by_natoin", 4)
    assert unknown.value.hint == "did you mean 'finance.revenue_by_nation'?"


def test_only_those_who_may_read_a_product_rate_it(built_demo: Path) -> None:
    ana, admin = mesh_as(built_demo, "ana"), mesh_as(built_demo, "local-admin")
    view = ana.product_feedback(ORDERS)  # everyone in the mesh reads the feedback on the product page
    assert not view.may_rate and "visible to domain sales only" in (view.why_not or "")
    with pytest.raises(PermissionDenied) as refused:
        ana.rate(ORDERS, 4)
    assert (
        refused.value.message == "ana may not rate sales.orders: sales.orders is visible to domain sales only"
    )
    assert "quanta access request sales.orders" in (refused.value.hint or "")
    request = ana.request_access(ORDERS, "order volume dashboard", days=7, accept_terms=True)
    admin.decide_access(request, True)
    assert ana.rate(ORDERS, 4).rating == 4
    # a partner sees and rates only what was shared into its space
    acme = mesh_as(built_demo, "acme")
    assert acme.rate(REVENUE, 4).principal == "acme"
    with pytest.raises(PermissionDenied, match="is not shared with acme"):
        acme.product_feedback(SEGMENTS)


def test_a_consumer_who_queried_the_product_is_marked_as_having_used_it(built_demo: Path) -> None:
    gina = mesh_as(built_demo, "gina")
    assert not gina.rate(REVENUE, 2, "Hard to join with our plans.").used_it
    gina.query(f"select count(*) from {REVENUE}")
    [mine] = [e for e in gina.product_feedback(REVENUE).entries if e.principal == "gina"]
    assert mine.used_it and mine.rating == 2


def test_owners_and_stewards_moderate_authors_delete_their_own(built_demo: Path) -> None:
    sam, carl, gina = (mesh_as(built_demo, who) for who in ("sam", "carl", "gina"))
    spam = sam.rate(SEGMENTS, 1, "buy cheap watches")
    for who in (carl, sam):
        assert not who.product_feedback(SEGMENTS).may_moderate
    with pytest.raises(PermissionDenied) as refused:
        carl.delete_feedback(SEGMENTS, spam.id)
    assert refused.value.message == f"carl may not delete feedback {spam.id} by sam"
    assert "owners of domain marketing and governance stewards" in (refused.value.hint or "")
    assert gina.product_feedback(SEGMENTS).may_moderate
    gina.delete_feedback(SEGMENTS, spam.id)
    assert all(e.id != spam.id for e in gina.product_feedback(SEGMENTS).entries)
    deleted = [e for e in gina.registry.audit_entries(domain="marketing") if e.kind == "feedback.delete"]
    assert (deleted[-1].actor, deleted[-1].details["author"]) == ("gina", "sam")
    own = carl.rate(SEGMENTS, 4)
    carl.delete_feedback(SEGMENTS, own.id)
    with pytest.raises(NotFoundError, match=f"no feedback {own.id} on {SEGMENTS}"):
        carl.delete_feedback(SEGMENTS, own.id)


# --- the registry on both backends -----------------------------------------------------------------


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


def test_the_registry_keeps_one_feedback_per_principal_and_aggregates_in_sql(registry: Registry) -> None:
    for who, stars in (("a", 5), ("b", 4), ("c", 4), ("a", 3)):
        registry.put_feedback("x.p", who, stars, None)
    registry.put_feedback("x.p", "d", None, "no stars, a comment")
    registry.put_feedback("y.q", "a", 1, "bad")
    registry.audit("query", "b", "x.p", "allow", domain="x")
    [x, y] = registry.rating_summaries()
    assert (x.product_id, x.count, x.distribution, x.comments) == (
        "x.p",
        3,
        {1: 0, 2: 0, 3: 1, 4: 2, 5: 0},
        1,
    )
    assert x.average == pytest.approx((3 + 4 + 4) / 3)
    assert (y.count, y.average) == (1, 1.0)
    found = {e.principal: e for e in registry.feedback("x.p")}
    assert set(found) == {"a", "b", "c", "d"} and found["b"].used_it and not found["a"].used_it
    registry.delete_feedback(found["a"].id)
    assert registry.rating_summaries(["x.p"])[0].count == 2


# --- the REST API and the CLI ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(built_demo: Path) -> TestClient:
    return TestClient(create_app(Mesh.open(built_demo), server_mode=True), raise_server_exceptions=False)


def _auth(built_demo: Path, principal: str, scopes: list[str]) -> dict[str, str]:
    token, _ = Mesh.open(built_demo).create_token(f"fb-{principal}", scopes=scopes, principal_id=principal)
    return {"Authorization": f"Bearer {token}"}


def test_the_api_rates_lists_and_deletes(server: TestClient, built_demo: Path) -> None:
    ana, carl = _auth(built_demo, "ana", ["read", "request"]), _auth(built_demo, "carl", ["read", "request"])
    url = f"/api/v1/products/{REVENUE}/feedback"
    posted = server.post(url, json={"rating": 4, "comment": "Regional totals add up."}, headers=ana)
    assert posted.status_code == 200, posted.text
    mine = posted.json()
    assert (mine["rating"], mine["principal"], mine["comment"]) == (4, "ana", "Regional totals add up.")
    listed = server.get(url, headers=carl).json()
    assert mine["id"] in [e["id"] for e in listed["entries"]] and listed["may_rate"] is True
    assert listed["summary"]["count"] == sum(listed["summary"]["distribution"].values())

    too_high = server.post(url, json={"rating": 6}, headers=ana)
    assert too_high.status_code == 422 and too_high.json()["errors"][0]["path"] == "body.rating"
    too_long = server.post(url, json={"comment": "x" * 2001}, headers=ana)
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["path"] == "body.comment"
    empty = server.post(url, json={"comment": " "}, headers=ana)
    assert empty.status_code == 422 and empty.json()["detail"] == "the comment is empty (at comment)"
    unknown = server.post("/api/v1/products/no.such/feedback", json={"rating": 3}, headers=ana)
    assert unknown.status_code == 404 and unknown.json()["title"] == "NotFoundError"
    read_only = server.post(url, json={"rating": 3}, headers=_auth(built_demo, "carl", ["read"]))
    assert read_only.status_code == 403 and "'request'" in read_only.json()["detail"]

    by_carl = server.delete(f"{url}/{mine['id']}", headers=carl)
    assert by_carl.status_code == 403 and by_carl.json()["detail"].startswith("carl may not delete")
    assert server.delete(f"{url}/{mine['id']}", headers=ana).status_code == 204
    assert server.delete(f"{url}/{mine['id']}", headers=ana).status_code == 404


def test_the_cli_rates_lists_and_explains_bad_input(built_demo: Path) -> None:
    as_carl = {"QUANTA_USER": "carl"}
    rated = run_cli("feedback", SEGMENTS, "--rate", "4", "--comment", "Tier names are clear.", cwd=built_demo,
                    env=as_carl)  # fmt: skip
    assert rated.returncode == 0, rated.stderr
    assert rated.stdout.startswith("✓ feedback #") and f"on {SEGMENTS}: 4/5" in rated.stdout
    listed = run_cli("feedback", SEGMENTS, cwd=built_demo, env=as_carl)
    assert listed.returncode == 0 and "Tier names are clear." in listed.stdout and "★★★★☆" in listed.stdout
    as_json = json.loads(run_cli("feedback", SEGMENTS, "--json", cwd=built_demo, env=as_carl).stdout)
    assert any(e["principal"] == "carl" and e["rating"] == 4 for e in as_json["entries"])
    mine = next(e for e in as_json["entries"] if e["principal"] == "carl")
    by_ana = run_cli(
        "feedback", SEGMENTS, "--delete", str(mine["id"]), cwd=built_demo, env={"QUANTA_USER": "ana"}
    )
    assert (
        by_ana.returncode == 1 and f"error: ana may not delete feedback {mine['id']} by carl" in by_ana.stderr
    )
    deleted = run_cli("feedback", SEGMENTS, "--delete", str(mine["id"]), cwd=built_demo, env=as_carl)
    assert (
        deleted.returncode == 0 and f"feedback #{mine['id']} by carl on {SEGMENTS} deleted" in deleted.stdout
    )
    bad = run_cli("feedback", SEGMENTS, "--rate", "6", cwd=built_demo, env=as_carl)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "error: rating 6 is out of range (at rating)" in bad.stderr
    assert "hint: rate from 1 (poor) to 5 (excellent)" in bad.stderr
