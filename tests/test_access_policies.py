"""Access requests decided by Rego access policies (real rego-cpp evaluation on the demo mesh): the
shipped ones approve internal data at once for the mesh's own organisation and never approve personal
or restricted data for a service; a workspace policy refuses with its reason. Grants are time-bound
(at most what the approving policy allows) and every read under one shows its purpose in the audit;
terms of use from the contract are shown and must be accepted. CLI, REST and web name the policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta.governance.model import GovernanceError
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
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
"""


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
    request = ana.request_access(CUSTOMERS, "segment sizes per nation", columns=INTERNAL, days=90)
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
    request = ana.request_access(CUSTOMERS, "churn calls", columns=["customer_id", "phone"])
    grant = next(g for g in ana.access_requests(CUSTOMERS) if g.id == request)
    assert grant.status == "requested" and grant.decided_by is None
    assert grant.policy_reason == "no access policy approves it: the owners decide"


def test_personal_data_is_never_approved_for_a_service(org_demo: Path) -> None:
    bot = mesh_as(org_demo, "etl-bot")
    routed = bot.request_access(CUSTOMERS, "nightly sync to the CRM", columns=["customer_id", "phone"])
    grant = next(g for g in bot.access_requests(CUSTOMERS) if g.id == routed)
    assert grant.status == "requested"
    assert (grant.policy or "").startswith("quanta.no_auto_approve_sensitive_for_services@sha256:")
    assert "a service principal asks for personal (pii) or restricted data" in (grant.policy_reason or "")
    # the same service, asking only for internal columns, is approved
    approved = bot.request_access(CUSTOMERS, "nightly sync to the CRM", columns=INTERNAL)
    assert next(g for g in bot.access_requests(CUSTOMERS) if g.id == approved).status == "granted"


def test_a_deny_policy_refuses_with_its_reason_and_version(org_demo: Path) -> None:
    ana = mesh_as(org_demo, "ana")
    before = len(ana.access_requests())
    with pytest.raises(
        GovernanceError, match=r"refused by policy quanta.no_resale@sha256:[0-9a-f]{12}: resell"
    ):
        ana.request_access(CUSTOMERS, "resale to a broker", columns=INTERNAL)
    assert len(ana.access_requests()) == before
    [entry] = [e for e in Mesh.open(org_demo).audit_log()[-3:] if e.kind == "access.request"][-1:]
    assert entry.decision == "deny" and entry.details["policy"].startswith("quanta.no_resale@")


def test_terms_of_use_are_shown_and_must_be_accepted(org_demo: Path) -> None:
    ana = mesh_as(org_demo, "ana")
    terms = ana.access_terms("sales.orders")
    assert [(t.kind, t.text) for t in terms if t.binding] == [
        ("price", "0.01 EUR per row"), ("terms", "Internal analytics only; no export to third parties.")
    ]  # fmt: skip
    assert {t.kind for t in terms} == {"price", "usage", "limitations", "terms"}
    with pytest.raises(GovernanceError, match="has terms of use that the request must accept") as refused:
        ana.request_access("sales.orders", "order volume forecast")
    assert "--accept-terms" in (refused.value.hint or "")
    request = ana.request_access("sales.orders", "order volume forecast", accept_terms=True)
    grant = next(g for g in ana.access_requests("sales.orders") if g.id == request)
    assert grant.terms is not None and grant.terms["digest"].startswith("sha256:")
    assert [t["kind"] for t in grant.terms["terms"]] == [t.kind for t in terms]


def test_cli_shows_the_deciding_policy(org_demo: Path) -> None:
    env = {"QUANTA_USER": "ana"}
    ask = ("access", "request", CUSTOMERS, "--purpose", "nation report", "--columns")
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
    unaccepted = run_cli("access", "request", "sales.orders", "--purpose", "volumes", cwd=org_demo, env=env)
    assert unaccepted.returncode != 0 and "--accept-terms" in unaccepted.stderr
    assert "Traceback" not in unaccepted.stderr
    listed = run_cli("policy", "ls", cwd=org_demo)
    assert "quanta.auto_approve_internal" in listed.stdout and "sha256:" in listed.stdout


def test_rest_and_web_show_the_deciding_policy(org_demo: Path) -> None:
    admin = Mesh.open(org_demo)
    token, _ = admin.create_token("policy-tests", scopes=["read", "request"], principal_id="ana")
    client = TestClient(create_app(Mesh.open(org_demo), server_mode=True), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"product_id": CUSTOMERS, "purpose": "segments", "columns": ["market_segment"], "days": 200}
    answer = client.post("/api/v1/access-requests", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    grant = answer.json()
    assert grant["status"] == "granted" and grant["requested_days"] == 30
    assert grant["policy"].startswith("quanta.auto_approve_internal@sha256:")
    refused = client.post("/api/v1/access-requests", json={**body, "purpose": "resale"}, headers=headers)
    assert refused.status_code == 403 and "quanta.no_resale@sha256:" in refused.json()["detail"]
    terms = client.get("/api/v1/products/sales.orders/access-terms", headers=headers).json()
    assert {t["kind"] for t in terms} == {"price", "usage", "limitations", "terms"}
    orders = {**body, "product_id": "sales.orders", "columns": None}
    no_terms = client.post("/api/v1/access-requests", json=orders, headers=headers)
    assert no_terms.status_code == 403 and "terms of use" in no_terms.json()["detail"]
    policies = client.get("/api/v1/policies", headers=headers).json()
    assert all(p["version"].startswith("sha256:") for p in policies)
    local = TestClient(create_app(Mesh.open(org_demo)), raise_server_exceptions=False)
    page = local.get("/access", params={"sent": grant["id"]})
    assert page.status_code == 200 and "approved by policy quanta.auto_approve_internal@sha256:" in page.text
    form = local.get("/access", params={"product": "sales.orders"})
    assert "Terms of use of sales.orders" in form.text and 'name="accept_terms"' in form.text
