"""Governance end to end on the demo mesh: access requests, tokens, partner spaces, egress, policies at
validate and publish time, classification on landing and tags inherited through lineage."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from quanta.errors import AuthenticationError, NotFoundError
from quanta.governance.model import GovernanceError
from quanta.mesh import Mesh
from quanta.query.products import QueryError
from tests.conftest import mesh_as, run_cli


def test_access_request_lifecycle(built_demo: Path) -> None:
    carl, admin = mesh_as(built_demo, "carl"), Mesh.open(built_demo)
    with pytest.raises(QueryError, match="visible to domain customers only"):
        carl.query("select phone from customers.customers")
    request = carl.request_access(
        "customers.customers", "support tickets", columns=["customer_id", "phone"], days=5, accept_terms=True
    )
    with pytest.raises(GovernanceError, match="may not decide"):
        carl.decide_access(request, True)
    grant = admin.decide_access(request, True, "ticket #42")
    assert grant.status == "granted" and grant.expires_at is not None
    assert grant.expires_at - grant.requested_at > timedelta(days=4)
    # carl is cleared for pii: the phone comes back in clear; columns outside the grant do not exist for him
    phone = carl.query("select phone from customers.customers where customer_id = 1").column(0)[0].as_py()
    assert phone == "25-989-741-2988"
    with pytest.raises(QueryError, match="address"):
        carl.query("select address from customers.customers")
    with pytest.raises(GovernanceError, match="already granted"):
        admin.decide_access(request, False)
    admin.revoke_access(grant.id, "ticket closed")
    with pytest.raises(QueryError, match="visible to domain customers only"):
        carl.query("select phone from customers.customers")
    kinds = [e.kind for e in admin.audit_log(domain="customers")]
    assert {"access.request", "access.grant", "access.revoke"} <= set(kinds)


def test_an_expired_grant_no_longer_opens_the_product(built_demo: Path) -> None:
    sam, admin = mesh_as(built_demo, "sam"), Mesh.open(built_demo)
    grant = admin.decide_access(
        sam.request_access("customers.customers", "one-off check", days=1, accept_terms=True), True
    )
    assert sam.query("select count(*) from customers.customers").column(0)[0].as_py() > 0
    with admin.registry.engine.begin() as connection:
        connection.execute(
            text("update grants set expires_at = '2000-01-01 00:00:00' where id = :id"), {"id": grant.id}
        )
    with pytest.raises(QueryError, match="access denied"):
        sam.query("select count(*) from customers.customers")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope.nothing", "x"), "nope.nothing"),
        (("customers.customers", "  "), "needs a purpose"),
        (("customers.customers", "x", ["customer_id", "shoe_size"]), "has no column shoe_size"),
        (("customers.customers", "x", None, 0), "out of range"),
    ],
)
def test_bad_access_requests_are_refused_and_leave_nothing(
    built_demo: Path, args: tuple, message: str
) -> None:
    ana = mesh_as(built_demo, "ana")
    before = len(ana.access_requests())
    product, purpose, *rest = args
    columns = rest[0] if rest else None
    days = rest[1] if len(rest) > 1 else 90
    with pytest.raises((GovernanceError, NotFoundError), match=message):
        ana.request_access(product, purpose, columns=columns, days=days, accept_terms=True)
    assert len(ana.access_requests()) == before  # no partial grant


def test_tokens_authenticate_expire_and_revoke(built_demo: Path) -> None:
    admin = Mesh.open(built_demo)
    token, record = admin.create_token("bi-tool", scopes=["read"], days=7, principal_id="ana")
    principal, scopes = admin.authenticate(token)
    assert (principal.id, scopes) == ("ana", ["read"])
    stored = str(admin.registry.tokens("ana"))
    assert token.split("_", 2)[2] not in stored  # only the hash is kept (the secret may hold "_" too)
    for bad, message in [
        ("hello", "not a Quanta API token"),
        (token[:-2] + "xx", "unknown or wrong"),
        ("qt_000000000000_abc", "unknown or wrong"),
    ]:
        with pytest.raises(AuthenticationError, match=message):
            admin.authenticate(bad)
    with admin.registry.engine.begin() as connection:
        connection.execute(
            text("update tokens set expires_at = '2000-01-01 00:00:00' where id = :id"), {"id": record.id}
        )
    with pytest.raises(AuthenticationError, match="expired on 2000-01-01"):
        admin.authenticate(token)
    fresh, fresh_record = admin.create_token("ci", scopes=["read", "write"], principal_id="sam")
    admin.revoke_token(fresh_record.id)
    with pytest.raises(AuthenticationError, match="revoked"):
        admin.authenticate(fresh)
    with pytest.raises(GovernanceError, match="ana cannot hold scope admin"):
        admin.create_token("x", scopes=["admin"], principal_id="ana")
    with pytest.raises(GovernanceError, match="unknown scope"):
        admin.create_token("x", scopes=["root"])
    with pytest.raises(GovernanceError, match="may not create tokens for"):
        mesh_as(built_demo, "ana").create_token("x", principal_id="gina")


def test_the_cli_prints_a_token_once(built_demo: Path) -> None:
    created = run_cli("token", "create", "notebook", "--scopes", "read", cwd=built_demo)
    assert created.returncode == 0 and created.stdout.startswith("qt_")
    listed = run_cli("token", "ls", "--json", cwd=built_demo)
    assert created.stdout.strip().split("_", 2)[2] not in listed.stdout and '"notebook"' in listed.stdout


def test_partner_spaces_take_only_what_policy_allows(built_demo: Path) -> None:
    admin, acme = Mesh.open(built_demo), mesh_as(built_demo, "acme")
    with pytest.raises(GovernanceError, match="restricted or pii data"):
        admin.share("partner-acme", "customers.customers")
    with pytest.raises(QueryError, match="not shared into space partner-acme"):
        acme.query("select count(*) from marketing.customer_segments")
    admin.share("partner-acme", "marketing.customer_segments")
    tiers = {
        r["tier"] for r in acme.query("select distinct tier from marketing.customer_segments").to_pylist()
    }
    assert tiers == {"****"}  # tier is computed from financial data: inherited through lineage, masked
    with pytest.raises(GovernanceError, match="unknown space"):
        admin.share("partner-nobody", "marketing.customer_segments")
    with pytest.raises(GovernanceError, match="may not share"):
        mesh_as(built_demo, "ana").share("partner-acme", "finance.revenue_by_nation")


def test_lineage_tags_are_recorded_and_masked(built_demo: Path) -> None:
    admin = Mesh.open(built_demo)
    lineage = admin.publishes("marketing.customer_segments")[-1].checks["governance"]["lineage"]
    assert "financial" in lineage["tier"]["tags"] and "orders.total_price" in lineage["tier"]["from"]
    assert "customer_id" not in lineage  # internal in its source: nothing to inherit
    ana = mesh_as(built_demo, "ana")
    row = ana.query("select tier, market_segment from marketing.customer_segments limit 1").to_pylist()[0]
    assert row["tier"] == "****" and row["market_segment"] != "****"
    assert admin.query("select tier from marketing.customer_segments limit 1").column(0)[0].as_py() != "****"


def test_export_obeys_the_egress_policy(own_demo: Path, tmp_path: Path) -> None:
    built_demo = own_demo
    admin = Mesh.open(built_demo)
    out = tmp_path / "segments.parquet"
    result = admin.export_data("select customer_id, tier from marketing.customer_segments", out)
    assert out.exists() and result == 1500
    contract = built_demo / "domains/customers/customers/customers.odcs.yaml"
    original = contract.read_text()
    contract.write_text(
        original.replace("version: 1.0.0", "version: 2.0.0", 1).replace(
            "description: Current account balance in USD (negative when the customer owes money).\n"
            "        classification: confidential",
            "description: Current account balance in USD (negative when the customer owes money).\n"
            "        classification: restricted",
        )
    )
    product = contract.parent / "product.yaml"
    product.write_text(product.read_text().replace("version: 1.0.0", "version: 2.0.0", 1))
    try:
        admin.apply()
        with pytest.raises(GovernanceError, match="exporting restricted data is not allowed"):
            admin.export_data("select account_balance from customers.customers", tmp_path / "x.csv")
        assert not (tmp_path / "x.csv").exists()
        # the same columns masked are not restricted data any more: ana's export goes through
        fine = admin.export_data("select customer_id from customers.customers", tmp_path / "ids.csv")
        assert fine == 1500
    finally:
        contract.write_text(original)
        product.write_text(product.read_text().replace("version: 2.0.0", "version: 1.0.0", 1))


def test_validate_runs_global_and_domain_policies(built_demo: Path) -> None:
    policies = built_demo / "domains/sales/policies"
    policies.mkdir()
    (policies / "orders_described.rego").write_text(
        "# METADATA\n# title: Sales products say what they are for\n# stage: enforced\n# events: [validate]\n"
        "package quanta.sales_described\n\nimport rego.v1\n\n"
        "deny contains msg if {\n\tnot input.product.description.purpose\n"
        '\tmsg := "sales products need description.purpose"\n}\n'
    )
    try:
        result = run_cli("validate", "--json", cwd=built_demo)
        problems = [p["message"] for p in __import__("json").loads(result.stdout)["problems"]]
        sales = [p for p in problems if "sales_described" in p]
        assert all("sales products need" in p for p in sales)
        listed = run_cli("policy", "ls", "--json", cwd=built_demo)
        assert '"scope": "sales"' in listed.stdout
    finally:
        (policies / "orders_described.rego").unlink()
        policies.rmdir()


def test_publish_is_refused_when_sensitive_columns_are_unclassified(own_demo: Path) -> None:
    built_demo = own_demo
    contract = built_demo / "domains/supply/suppliers/suppliers.odcs.yaml"
    product = contract.parent / "product.yaml"
    original, descriptor = contract.read_text(), product.read_text()
    contract.write_text(
        original.replace("version: 1.0.0", "version: 1.0.1", 1).replace(
            "description: Business phone number (found as a phone number on landing, so classified).\n"
            "        classification: confidential",
            "description: Business phone number.\n        classification: internal",
        )
    )
    product.write_text(descriptor.replace("version: 1.0.0", "version: 1.0.1", 1))
    try:
        admin = Mesh.open(built_demo)
        [result] = admin.build(["supply.suppliers"], force=True)
        assert result.status == "failed" and "quanta.pii_classified" in (result.error or "")
        assert "phone" in (result.error or "")
        assert admin.quarantine("supply.suppliers")  # nothing visible, the snapshot is kept for inspection
        last = admin.audit_log(domain="supply")[-1]
        assert (last.kind, last.decision) == ("publish", "deny")
    finally:
        contract.write_text(original)
        product.write_text(descriptor)


def test_the_access_flow_from_the_cli(built_demo: Path) -> None:
    as_ana = {"QUANTA_USER": "ana"}
    denied = run_cli("query", "select * from supply.parts limit 1", cwd=built_demo, env=as_ana)
    assert denied.returncode == 1 and "quanta access request supply.parts" in denied.stderr
    asked = run_cli(
        "access",
        "request",
        "supply.parts",
        "--purpose",
        "pricing study",
        "--json",
        cwd=built_demo,
        env=as_ana,
    )
    request = __import__("json").loads(asked.stdout)["request"]
    refused = run_cli("access", "approve", str(request), cwd=built_demo, env=as_ana)
    assert refused.returncode == 1 and "may not decide" in refused.stderr
    approved = run_cli("access", "approve", str(request), "--reason", "ok", cwd=built_demo)
    assert approved.returncode == 0 and "granted until" in approved.stdout
    allowed = run_cli("query", "select count(*) as n from supply.parts", "--json", cwd=built_demo, env=as_ana)
    assert allowed.returncode == 0 and '"n": 2000' in allowed.stdout
    listed = run_cli("access", "ls", "supply.parts", "--json", cwd=built_demo)
    assert '"status": "granted"' in listed.stdout and '"purpose": "pricing study"' in listed.stdout
    audit = run_cli("audit", "ls", "--domain", "supply", "--json", cwd=built_demo)
    assert '"access.grant"' in audit.stdout and '"access.request"' in audit.stdout


def test_only_producers_of_a_domain_publish_in_it(built_demo: Path) -> None:
    with pytest.raises(GovernanceError, match=r"ana may not publish sales\.orders"):
        mesh_as(built_demo, "ana").build(["sales.orders"], force=True)
    [result] = mesh_as(built_demo, "sam").build(["sales.orders"], force=True)  # sam produces for sales
    assert result.status == "published"
    with pytest.raises(GovernanceError, match=r"sam may not publish supply\.parts"):
        mesh_as(built_demo, "sam").build(["supply.parts"], force=True)


def test_access_policies_decide_on_requests(built_demo: Path) -> None:
    folder = built_demo / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "purpose_sentence.rego").write_text(
        "# METADATA\n# title: Requests say what the data is for\n# stage: enforced\n# events: [access]\n"
        "package quanta.purpose_sentence\n\nimport rego.v1\n\n"
        "deny contains msg if {\n\tcount(input.request.purpose) < 10\n"
        '\tmsg := "describe the purpose in a sentence"\n}\n'
    )
    try:
        ana = mesh_as(built_demo, "ana")
        before = len(ana.access_requests())
        with pytest.raises(GovernanceError, match="describe the purpose in a sentence"):
            ana.request_access("sales.orders", "x", accept_terms=True)
        assert len(ana.access_requests()) == before
        assert ana.request_access("sales.orders", "forecast the Q3 order volume", accept_terms=True) > 0
    finally:
        (folder / "purpose_sentence.rego").unlink()
        folder.rmdir()
