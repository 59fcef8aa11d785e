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

from quanta.governance.model import GovernanceError

if TYPE_CHECKING:
    from quanta.governance.access import ProductFacts
    from quanta.governance.model import Principal
    from quanta.governance.policies import PolicySet

Outcome = Literal["approve", "deny", "route"]
PRINCIPAL_KINDS = {"user": "human", "service": "service", "agent": "agent"}
_TERM_PROPERTIES = ("terms", "termsofuse", "usageterms", "termsandconditions")
"""Custom property names (lower case, without ``_``/``-``) that hold terms of use."""
_TERM_LINKS = ("termsofuse", "terms", "termsandconditions", "license", "licence", "usagepolicy")
"""Authoritative definition types that link to terms of use."""


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
    custom term (a custom property or an authoritative definition naming terms of use). Every term a
    contract states must be accepted to request access, and the request records which (their digest)."""

    port: str
    kind: str
    """price, usage, limitations or terms"""
    text: str


def terms_of(contracts: dict[str, Any]) -> list[Term]:
    """The terms of use the contracts of a product state: ODCS ``price``, ``description.usage`` and
    ``description.limitations``, custom properties named ``terms``/``termsOfUse`` (of the contract or of
    its description) and authoritative definitions of type ``termsOfUse``/``license`` (likewise)."""
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
        description = contract.get("description")
        description = description if isinstance(description, dict) else {}
        for kind in ("usage", "limitations"):
            if description.get(kind):
                terms.append(Term(port, kind, str(description[kind]).strip()))
        for holder in (contract, description):
            for item in holder.get("customProperties") or []:
                if _named(item.get("property")) in _TERM_PROPERTIES and item.get("value"):
                    terms.append(Term(port, "terms", _text(item["value"])))
            for link in holder.get("authoritativeDefinitions") or []:
                if _named(link.get("type")) in _TERM_LINKS and link.get("url"):
                    said = str(link.get("description") or "").strip()
                    terms.append(Term(port, "terms", f"{said} ({link['url']})" if said else str(link["url"])))
    return terms


def _named(name: object) -> str:
    return str(name or "").replace("_", "").replace("-", "").lower()


def _text(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(str(v).strip() for v in value if str(v).strip())
    return str(value).strip()


def terms_digest(terms: list[Term]) -> str:
    """Which text of the terms was accepted (a changed term needs accepting again): the terms' id."""
    text = json.dumps([[t.port, t.kind, t.text] for t in terms], ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


ACCEPT = {
    "cli": "repeat the request with --accept-terms",
    "rest": 'send the request again with "accept_terms": true (and "terms_digest": "{digest}" to accept '
    "exactly these)",
    "mcp": 'call request_access again with accept_terms: true (and terms_digest: "{digest}" to accept '
    "exactly these)",
    "web": "tick 'I accept these terms' and send the request again",
}
"""How each interface accepts the terms of use, as a refusal's hint says it."""


class TermsNotAccepted(GovernanceError):
    """An access request that did not accept the terms of use the product's contracts state (or
    accepted other terms than those in force): names every term, their id, and how to accept them."""

    def __init__(self, product_id: str, terms: list[Term], *, stale: str | None = None) -> None:
        self.product_id, self.terms, self.digest = product_id, terms, terms_digest(terms)
        shown = "; ".join(f"{t.kind} ({t.port}): {t.text}" for t in terms)
        if stale:
            said = f"the terms of use of {product_id} changed since you read them (you accepted {stale})"
            message = f"{said}: they are now terms {self.digest}: {shown}"
        else:
            message = (
                f"{product_id} has terms of use that the request must accept (terms {self.digest}): {shown}"
            )
        super().__init__(message, hint=self.how("cli"))

    def how(self, interface: str) -> str:
        """The hint in the words of one interface (``cli``, ``rest``, ``mcp``, ``web``)."""
        accept = ACCEPT[interface].format(digest=self.digest)
        read = f"read them (quanta access terms {self.product_id}), then " if interface == "cli" else ""
        return read + accept

    def for_interface(self, interface: str) -> TermsNotAccepted:
        """This refusal, its hint said for another interface."""
        self.hint = self.how(interface)
        return self

    @property
    def details(self) -> dict[str, Any]:
        """What a REST problem document carries besides the message."""
        return {"terms": [vars(t) for t in self.terms], "terms_digest": self.digest}


def check_terms(product_id: str, terms: list[Term], accepted: bool, digest: str | None) -> None:
    """Every term a product states must be accepted; ``digest``, when given, must be the terms' id
    (the terms read are still those in force). Raises :class:`TermsNotAccepted` otherwise."""
    if not terms:
        return
    if not accepted:
        raise TermsNotAccepted(product_id, terms)
    if digest and digest != terms_digest(terms):
        raise TermsNotAccepted(product_id, terms, stale=digest)


@dataclass(frozen=True)
class RequestInput:
    """One access request, as asked."""

    purpose: str
    columns: list[str]
    days: int
    terms: list[Term]
    terms_accepted: bool
    terms_digest: str | None = None
    """The terms' id the requester read, when it says (must be the id of the terms in force)."""


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
