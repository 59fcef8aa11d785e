"""Access requests decided by Rego access policies (real rego-cpp evaluation on the demo mesh): the
shipped ones approve internal data at once for the mesh's own organisation and never approve personal
or restricted data for a service; a workspace policy refuses with its reason. Grants are time-bound
(at most what the approving policy allows) and every read under one shows its purpose in the audit;
every term of use the contract states (price, usage, limitations, custom terms, linked terms) is
shown and must be accepted, the grant carries which terms (their id) and every read under it names
them. CLI, REST, web and MCP name the policy and the terms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta.governance.model import GovernanceError
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh, TermsNotAccepted, terms_digest
from tests.conftest import mesh_as, run_cli

CUSTOMERS = "customers.customers"
INTERNAL = ["customer_id", "nation_key", "market_segment"]
NO_RESALE = """# METADATA
# title: Data is not resold
# stage: enforced
# events: [access]
package quanta.no_resale

import rego.v1

deny contains "reselling data is not a purpose this mesh grants access for" if {
\tcontains(lower(input.request.purpose), "resale")
}
"""


PRICED = """price:
  priceAmount: 0.01
  priceCurrency: EUR
  priceUnit: row
customProperties:
  - property: termsOfUse
    value: Internal analytics only; no export to third parties.
description:
  authoritativeDefinitions:
    - type: termsOfUse
      url: https://northwind.example.com/data-terms
      description: Northwind data sharing agreement
"""
ORDERS_TERMS = [
    ("price", "0.01 EUR per row"),
    ("usage", "Analyse order volume and value over time; join to line items for product detail."),
    ("limitations", "Orders placed today appear after the nightly load."),
    ("terms", "Internal analytics only; no export to third parties."),
    ("terms", "Northwind data sharing agreement (https://northwind.example.com/data-terms)"),
]


@pytest.fixture(scope="module")
def org_demo(built_demo: Path) -> Path:
    """The demo mesh of organisation 'northwind', with a service principal and a no-resale policy."""
    governance = built_demo / "governance.yaml"
    text = (governance.read_text() + "organisation: northwind\n").replace(
        "principals:\n",
        "principals:\n  - id: etl-bot\n    kind: service\n    clearance: confidential\n    tags: [pii]\n",
        1,
    )
    governance.write_text(text)
    (built_demo / "policies").mkdir(exist_ok=True)
    (built_demo / "policies" / "no_resale.rego").write_text(NO_RESALE)
    # sales.orders 1.1.0: its contract now states a price and terms of use
    folder = built_demo / "domains" / "sales" / "orders"
    contract = (folder / "orders.odcs.yaml").read_text().replace("version: 1.0.0", "version: 1.1.0", 1)
    (folder / "orders.odcs.yaml").write_text(contract.replace("description:\n", PRICED, 1))
    (folder / "product.yaml").write_text(
        (folder / "product.yaml").read_text().replace("version: 1.0.0", "version: 1.1.0")
    )
    Mesh.open(built_demo).apply()
    return built_demo


def test_internal_data_is_approved_at_once_for_the_own_organisation(org_demo: Path) -> None:
    ana = mesh_as(org_demo, "ana")
    request = ana.request_access(
        CUSTOMERS, "segment sizes per nation", columns=INTERNAL, days=90, accept_terms=True
    )
    grant = next(g for g in ana.access_requests(CUSTOMERS) if g.id == request)
    version = Mesh.open(org_demo).policies.explain()
    label = next(f"{p['id']}@{p['version']}" for p in version if p["id"] == "quanta.auto_approve_internal")
    assert grant.status == "granted" and grant.decided_by == f"policy {label}"
    assert grant.policy == label and "own organisation" in (grant.reason or "")
    assert grant.requested_days == 30 and grant.expires_at is not None  # capped by the policy's max_days
    assert (grant.expires_at - grant.requested_at).days in (29, 30)
    result = ana.governed_query("select count(*) from customers.customers where nation_key < 5")
    assert result.table.column(0)[0].as_py() > 0
    [entry] = [e for e in Mesh.open(org_demo).audit_log() if e.seq == result.audit_ids[0]]
    assert entry.details["purpose"] == "segment sizes per nation" and entry.details["grant"] == request
    assert result.receipt is not None and label in result.receipt["policies"][CUSTOMERS]


def test_what_no_policy_approves_goes_to_the_owners(org_demo: Path) -> None:
    ana = mesh_as(org_demo, "ana")
    request = ana.request_access(
        CUSTOMERS, "churn calls", columns=["customer_id", "phone"], accept_terms=True
    )
    grant = next(g for g in ana.access_requests(CUSTOMERS) if g.id == request)
    assert grant.status == "requested" and grant.decided_by is None
    assert grant.policy_reason == "no access policy approves it: the owners decide"


def test_personal_data_is_never_approved_for_a_service(org_demo: Path) -> None:
    bot = mesh_as(org_demo, "etl-bot")
    routed = bot.request_access(
        CUSTOMERS, "nightly sync to the CRM", columns=["customer_id", "phone"], accept_terms=True
    )
    grant = next(g for g in bot.access_requests(CUSTOMERS) if g.id == routed)
    assert grant.status == "requested"
    assert (grant.policy or "").startswith("quanta.no_auto_approve_sensitive_for_services@sha256:")
    assert "a service principal asks for personal (pii) or restricted data" in (grant.policy_reason or "")
    # the same service, asking only for internal columns, is approved
    approved = bot.request_access(CUSTOMERS, "nightly sync to the CRM", columns=INTERNAL, accept_terms=True)
    assert next(g for g in bot.access_requests(CUSTOMERS) if g.id == approved).status == "granted"


def test_a_deny_policy_refuses_with_its_reason_and_version(org_demo: Path) -> None:
    ana = mesh_as(org_demo, "ana")
    before = len(ana.access_requests())
    with pytest.raises(
        GovernanceError, match=r"refused by policy quanta.no_resale@sha256:[0-9a-f]{12}: resell"
    ):
        ana.request_access(CUSTOMERS, "resale to a broker", columns=INTERNAL, accept_terms=True)
    assert len(ana.access_requests()) == before
    [entry] = [e for e in Mesh.open(org_demo).audit_log()[-3:] if e.kind == "access.request"][-1:]
    assert entry.decision == "deny" and entry.details["policy"].startswith("quanta.no_resale@")


def test_every_term_of_use_must_be_accepted_and_is_named_on_every_read(org_demo: Path) -> None:
    ana = mesh_as(org_demo, "ana")
    terms = ana.access_terms("sales.orders")
    assert [(t.kind, t.text) for t in terms] == ORDERS_TERMS
    digest = terms_digest(terms)
    # usage and limitations bind as the price does: a request that does not accept them is refused,
    # naming every term, their id and how to accept them
    with pytest.raises(TermsNotAccepted, match="has terms of use that the request must accept") as refused:
        ana.request_access("sales.orders", "order volume forecast")
    said = str(refused.value)
    assert f"terms {digest}" in said and "usage (orders): Analyse order volume" in said
    assert "limitations (orders): Orders placed today" in said and "price (orders): 0.01 EUR" in said
    assert "--accept-terms" in (refused.value.hint or "")
    # the terms read are no longer those in force: refused, saying so
    with pytest.raises(TermsNotAccepted, match="changed since you read them"):
        ana.request_access("sales.orders", "forecast", accept_terms=True, terms_digest="sha256:000000000000")
    # a product whose contract states only limitations binds too (customers.customers)
    with pytest.raises(TermsNotAccepted, match="limitations \\(customers\\): Personal data"):
        ana.request_access(CUSTOMERS, "segment sizes", columns=INTERNAL)
    request = ana.request_access(
        "sales.orders", "order volume forecast", accept_terms=True, terms_digest=digest
    )
    grant = next(g for g in ana.access_requests("sales.orders") if g.id == request)
    assert grant.terms is not None and grant.terms["digest"] == digest
    assert [(t["kind"], t["text"]) for t in grant.terms["terms"]] == ORDERS_TERMS
    assert grant.status == "granted"  # internal data of its own organisation: approved by policy
    admin = Mesh.open(org_demo)
    explained = ana.explain_access("sales.orders")
    assert explained.terms_digest == digest and f"terms {digest} accepted" in explained.reason
    # every read under the grant names its purpose and the accepted terms (audit and receipt)
    result = ana.governed_query("select count(*) from sales.orders")
    [entry] = [e for e in admin.audit_log() if e.seq == result.audit_ids[0]]
    assert entry.details["grant"] == request and entry.details["purpose"] == "order volume forecast"
    assert entry.details["terms"] == digest
    assert result.receipt is not None and f"terms {digest}" in result.receipt["policies"]["sales.orders"]
    assert admin.verify_receipt(result.receipt).valid
    asked = [
        e for e in admin.audit_log() if e.kind == "access.request" and e.details.get("request") == request
    ]
    assert asked and asked[0].details["terms"] == digest


def test_a_product_without_terms_needs_no_acceptance(org_demo: Path) -> None:
    ana = mesh_as(org_demo, "ana")
    assert ana.access_terms("supply.parts") == []
    assert ana.explain_access("supply.parts").terms_digest is None
    request = ana.request_access("supply.parts", "part names for the catalogue", columns=["part_id"])
    assert next(g for g in ana.access_requests("supply.parts") if g.id == request).terms is None


def test_cli_shows_the_deciding_policy(org_demo: Path) -> None:
    env = {"QUANTA_USER": "ana"}
    ask = ("access", "request", CUSTOMERS, "--purpose", "nation report", "--accept-terms", "--columns")
    done = run_cli(*ask, "customer_id,nation_key", "--json", cwd=org_demo, env=env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "granted" and "quanta.auto_approve_internal@sha256:" in answer["decided_by"]
    human = run_cli(*ask, "nation_key", cwd=org_demo, env=env)
    assert (
        "granted until" in human.stdout and "by policy quanta.auto_approve_internal@sha256:" in human.stdout
    )
    terms = run_cli("access", "terms", "sales.orders", cwd=org_demo, env=env)
    assert terms.returncode == 0 and "price (orders): 0.01 EUR per row" in terms.stdout
    assert "usage (orders): Analyse order volume" in terms.stdout
    digest = json.loads(run_cli("access", "terms", "sales.orders", "--json", cwd=org_demo, env=env).stdout)[
        "digest"
    ]
    assert f"terms {digest}" in terms.stdout and "--accept-terms" in terms.stdout
    unaccepted = run_cli("access", "request", "sales.orders", "--purpose", "volumes", cwd=org_demo, env=env)
    assert unaccepted.returncode != 0 and "--accept-terms" in unaccepted.stderr
    assert "limitations (orders): Orders placed today" in unaccepted.stderr and digest in unaccepted.stderr
    assert "Traceback" not in unaccepted.stderr
    accepted = run_cli(
        "access", "request", "sales.orders", "--purpose", "volumes", "--accept-terms", cwd=org_demo, env=env
    )
    assert accepted.returncode == 0, accepted.stderr
    assert f"accepted the terms of use of sales.orders (terms {digest})" in accepted.stdout
    assert "usage (orders): Analyse order volume" in accepted.stdout
    listed = run_cli("policy", "ls", cwd=org_demo)
    assert "quanta.auto_approve_internal" in listed.stdout and "sha256:" in listed.stdout


def test_rest_and_web_show_the_deciding_policy(org_demo: Path) -> None:
    admin = Mesh.open(org_demo)
    token, _ = admin.create_token("policy-tests", scopes=["read", "request"], principal_id="ana")
    client = TestClient(create_app(Mesh.open(org_demo), server_mode=True), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"product_id": CUSTOMERS, "purpose": "segments", "columns": ["market_segment"], "days": 200,
            "accept_terms": True}  # fmt: skip
    answer = client.post("/api/v1/access-requests", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    grant = answer.json()
    assert grant["status"] == "granted" and grant["requested_days"] == 30
    assert grant["policy"].startswith("quanta.auto_approve_internal@sha256:")
    refused = client.post("/api/v1/access-requests", json={**body, "purpose": "resale"}, headers=headers)
    assert refused.status_code == 403 and "quanta.no_resale@sha256:" in refused.json()["detail"]
    listed = client.get("/api/v1/products/sales.orders/access-terms", headers=headers)
    assert [(t["kind"], t["text"]) for t in listed.json()] == ORDERS_TERMS
    digest = listed.headers["x-quanta-terms-digest"]
    orders = {**body, "product_id": "sales.orders", "columns": None, "accept_terms": False}
    no_terms = client.post("/api/v1/access-requests", json=orders, headers=headers)
    problem = no_terms.json()
    assert no_terms.status_code == 403 and "terms of use" in problem["detail"]
    assert problem["terms_digest"] == digest and len(problem["terms"]) == len(ORDERS_TERMS)
    assert '"accept_terms": true' in problem["hint"]
    accepted = client.post(
        "/api/v1/access-requests",
        json={**orders, "accept_terms": True, "terms_digest": digest},
        headers=headers,
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["terms"]["digest"] == digest
    policies = client.get("/api/v1/policies", headers=headers).json()
    assert all(p["version"].startswith("sha256:") for p in policies)
    local = TestClient(create_app(Mesh.open(org_demo)), raise_server_exceptions=False)
    page = local.get("/access", params={"sent": grant["id"]})
    assert page.status_code == 200 and "approved by policy quanta.auto_approve_internal@sha256:" in page.text
    form = local.get("/access", params={"product": "sales.orders"})
    assert "Terms of use of sales.orders" in form.text and 'name="accept_terms"' in form.text
    assert "Analyse order volume" in form.text and f'value="{digest}"' in form.text
    sent = {"product": "sales.orders", "purpose": "web volumes", "days": "30"}
    unticked = local.post("/access/requests", data=sent, follow_redirects=False)
    assert unticked.status_code == 403 and "tick" in unticked.text and "Orders placed today" in unticked.text
    ticked = local.post(
        "/access/requests",
        data={**sent, "accept_terms": "true", "terms_digest": digest},
        follow_redirects=False,
    )
    assert ticked.status_code == 303
