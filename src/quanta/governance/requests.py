"""Access requests decided by policy: auto-approve (for at most some days), deny (with the reason), or
route to the product's owners, and the terms of use a requester accepts with a request.

Access policies (``events: [access]``) may define three rules over the request document
(:func:`request_document`):

- ``deny contains msg``: refuse the request, saying why (this also refuses exports: egress);
- ``route contains msg``: the owners must decide, whatever other policies approve;
- ``approve := {"max_days": n, "reason": "..."}``: grant at once, for at most ``n`` days.

The first that applies decides, in that order; a request no policy approves goes to the owners.
A policy in ``grace`` only warns: its deny and route are reported, never enforced.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from quanta.governance.access import ProductFacts
    from quanta.governance.model import Principal
    from quanta.governance.policies import PolicySet

Outcome = Literal["approve", "deny", "route"]
PRINCIPAL_KINDS = {"user": "human", "service": "service", "agent": "agent"}
_TERM_PROPERTIES = ("terms", "termsofuse", "terms_of_use", "usageterms")


@dataclass(frozen=True)
class RequestDecision:
    """What the access policies decided about one request, and which of them (``id@version``)."""

    outcome: Outcome
    reasons: list[str]
    policies: list[str]
    max_days: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def policy(self) -> str | None:
        """The deciding policies, as stored with the grant and shown everywhere."""
        return ", ".join(self.policies) or None


@dataclass(frozen=True)
class Term:
    """One term of use of a product, from one of its contracts: a price, usage, limitations, or a
    custom term. ``binding`` terms (a price, custom terms) must be accepted to request access; usage
    and limitations are shown with the request and recorded as accepted with it."""

    port: str
    kind: str
    text: str

    @property
    def binding(self) -> bool:
        return self.kind in ("price", "terms")


def terms_of(contracts: dict[str, Any]) -> list[Term]:
    """The terms of use the contracts of a product state (ODCS ``price``, ``description.usage`` and
    ``limitations``, and custom properties named ``terms``/``termsOfUse``)."""
    terms = []
    for port, contract in contracts.items():
        price = contract.get("price") or {}
        if price.get("priceAmount") is not None:
            unit = f" per {price['priceUnit']}" if price.get("priceUnit") else ""
            terms.append(
                Term(
                    port,
                    "price",
                    f"{price['priceAmount']} {price.get('priceCurrency') or ''}{unit}".replace("  ", " "),
                )
            )
        description = contract.get("description") or {}
        for kind in ("usage", "limitations"):
            if description.get(kind):
                terms.append(Term(port, kind, str(description[kind]).strip()))
        for item in contract.get("customProperties") or []:
            if str(item.get("property", "")).lower() in _TERM_PROPERTIES and item.get("value"):
                terms.append(Term(port, "terms", str(item["value"]).strip()))
    return terms


def terms_digest(terms: list[Term]) -> str:
    """Which text of the terms was accepted (a changed term needs accepting again)."""
    text = json.dumps([[t.port, t.kind, t.text] for t in terms], ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RequestInput:
    """One access request, as asked."""

    purpose: str
    columns: list[str]
    days: int
    terms: list[Term]
    terms_accepted: bool


def request_document(
    principal: Principal,
    facts: ProductFacts,
    descriptor: dict[str, Any],
    contracts: dict[str, Any],
    request: RequestInput,
    organisation: str | None,
) -> dict[str, Any]:
    """The input access policies see: ``principal``, ``product`` (the descriptor, plus its
    classification, visibility, tags and sensitive columns), ``contracts`` and ``request``."""
    columns = []
    for contract in contracts.values():
        for obj in contract.get("schema") or []:
            for prop in obj.get("properties") or []:
                tags = sorted({str(t).lower() for t in prop.get("tags") or []})
                level = str(prop.get("classification") or "internal").lower()
                columns.append({"name": prop.get("name"), "classification": level, "tags": tags})
    from quanta.governance.model import level_rank

    wanted = set(request.columns) or {c["name"] for c in columns}
    custom = {c.get("property"): c.get("value") for c in descriptor.get("customProperties") or []}
    product = {
        **descriptor,
        "id": facts.product_id,
        "domain": facts.domain,
        "visibility": facts.effective_visibility,
        "classification": max([c["classification"] for c in columns] or ["internal"], key=level_rank),
        "tags": sorted({*(descriptor.get("tags") or []), *(t for c in columns for t in c["tags"])}),
        "columns": columns,
        "pii_columns": sorted(c["name"] for c in columns if "pii" in c["tags"]),
        "restricted_columns": sorted(c["name"] for c in columns if c["classification"] == "restricted"),
        "organisation": custom.get("organisation") or custom.get("organization") or organisation,
    }
    requested = [c for c in columns if c["name"] in wanted]
    return {
        "principal": principal_document(principal, organisation),
        "product": product,
        "contracts": contracts,
        "request": {
            "purpose": request.purpose,
            "columns": request.columns,
            "days": request.days,
            "duration_days": request.days,
            "classification": max([c["classification"] for c in requested] or ["internal"], key=level_rank),
            "pii": any("pii" in c["tags"] for c in requested),
            "restricted": any(c["classification"] == "restricted" for c in requested),
            "terms": [{"port": t.port, "kind": t.kind, "text": t.text} for t in request.terms],
            "terms_accepted": request.terms_accepted,
        },
    }


def principal_document(principal: Principal, organisation: str | None) -> dict[str, Any]:
    """Who asks: id, kind (human, service or agent), organisation, roles, clearance, tags, space."""
    attributes = principal.attributes
    own = attributes.get("organisation") or attributes.get("organization")
    return {
        "id": principal.id,
        "kind": PRINCIPAL_KINDS.get(principal.kind, principal.kind),
        "organisation": own or (organisation if principal.space is None else None),
        "roles": sorted(principal.roles),
        "clearance": principal.clearance,
        "tags": sorted(principal.tags),
        "space": principal.space,
    }


def decide_request(policies: PolicySet, document: dict[str, Any], domain: str) -> RequestDecision:
    """Deny, route or approve, by the access policies (see the module's docstring)."""
    denied: dict[str, list[str]] = {}
    routed: dict[str, list[str]] = {}
    approved: dict[str, dict[str, Any]] = {}
    warnings = []
    for found in policies.documents("access", document, domain=domain):
        label = found.policy.label
        if found.error is not None:  # fail closed: a policy that cannot be evaluated refuses
            denied[label] = [f"policy {found.policy.id} could not be evaluated: {found.error}"]
            continue
        deny, route = found.messages("deny"), found.messages("route")
        if found.policy.stage == "grace":
            warnings += [f"{label}: {m}" for m in deny + route]
            continue
        if deny:
            denied[label] = deny
        if route:
            routed[label] = route
        approval = found.rules.get("approve")
        if approval:
            approved[label] = approval if isinstance(approval, dict) else {}
    if denied:
        return RequestDecision("deny", _flat(denied), list(denied), None, warnings)
    if routed:
        return RequestDecision("route", _flat(routed), list(routed), None, warnings)
    if approved:
        limits = [int(a["max_days"]) for a in approved.values() if isinstance(a.get("max_days"), int)]
        reasons = [str(a.get("reason") or "approved by policy") for a in approved.values()]
        return RequestDecision("approve", reasons, list(approved), min(limits) if limits else None, warnings)
    return RequestDecision("route", ["no access policy approves it: the owners decide"], [], None, warnings)


def _flat(messages: dict[str, list[str]]) -> list[str]:
    return [m for found in messages.values() for m in found]
