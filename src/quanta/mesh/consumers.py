"""Consumers: what a person or an agent sees of a product before reading it: its columns with their
classifications, whether they may read it and why (and what to do when not), their own grants.

An area of the :class:`~quanta.mesh.Mesh` facade over the shared :class:`~quanta.mesh.core.MeshCore`.
The REST API, the web pages and the MCP server shape their answers from these, so each says the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quanta.mesh.governance import read_hint

if TYPE_CHECKING:
    from quanta.governance.access import Access
    from quanta.governance.model import Principal
    from quanta.governance.requests import Term
    from quanta.mesh.core import MeshCore
    from quanta.mesh.publishing import PublishingArea
    from quanta.registry.stores.audit_grants import GrantRecord
    from quanta.spec.documents import JsonObject


@dataclass(frozen=True)
class ProductColumn:
    """One property of an output port's contract: what a schema listing shows of it."""

    port: str
    object: str
    name: str
    logical_type: str | None
    description: str | None
    classification: str | None
    tags: list[str]
    required: bool
    primary_key: bool


@dataclass(frozen=True)
class AccessExplanation:
    """Whether the acting principal may read a product, why, and exactly what to do otherwise."""

    product_id: str
    principal: str
    allowed: bool
    reason: str
    published: bool
    columns: list[str] | None
    """Only these columns (a column-scoped grant); None: every column."""
    row_filtered: bool
    requests: list[GrantRecord]
    """The principal's own requests and grants on the product, newest first."""
    deciders: list[str]
    """Who may decide an access request on the product (its domain's approvers)."""
    steps: list[str]
    terms: list[Term] = field(default_factory=list)
    """The terms of use an access request must accept (every term the product's contracts state)."""
    terms_digest: str | None = None
    """Their id, which a request may name to accept exactly these (None: the product states none)."""


class ConsumersArea:
    """A product as its consumers see it, and their access to it."""

    def __init__(self, core: MeshCore, publishing: PublishingArea) -> None:
        self.core = core
        self._publishing = publishing

    def product_columns(self, product_id: str) -> list[ProductColumn]:
        """Every column of every output port of the version consumers read (or ``id@version``),
        with its classification and tags."""
        contracts = self._publishing.product(product_id).contracts
        return [column for port, contract in contracts.items() for column in _columns(port, contract)]

    def my_access(self) -> list[GrantRecord]:
        """The acting principal's own access requests and grants, newest first."""
        principal = self.core.principal()
        return sorted(
            (g for g in self.core.registry.grants() if g.principal == principal.id),
            key=lambda g: g.id,
            reverse=True,
        )

    def explain_access(self, product_id: str) -> AccessExplanation:
        """Why the acting principal may (or may not) read ``product_id``, and the next steps."""
        principal = self.core.principal()
        decision = self.core.access(principal, product_id)  # raises for an unknown product
        domain = self.core.product_facts(product_id).domain
        published = self.core.registry.current_publish(product_id) is not None
        requests = [g for g in self.my_access() if g.product_id == product_id]
        deciders = sorted(p.id for p in self.core.governance.spec.principals if self._approves(p.id, domain))
        from quanta.governance.requests import terms_digest, terms_of

        terms = terms_of(self.core.registry.port_contracts(product_id, None))
        digest = terms_digest(terms) if terms else None
        return AccessExplanation(
            product_id,
            principal.id,
            decision.allowed,
            decision.reason,
            published,
            sorted(decision.columns) if decision.columns is not None else None,
            decision.row_filter is not None,
            requests,
            deciders,
            _steps(product_id, principal, decision, published, requests, deciders, digest),
            terms,
            digest,
        )

    def _approves(self, principal_id: str, domain: str) -> bool:
        return self.core.governance.principal(principal_id).can("approve_access", domain)


def _columns(port: str, contract: JsonObject) -> list[ProductColumn]:
    return [
        ProductColumn(
            port=port,
            object=obj.get("name", ""),
            name=prop.get("name", ""),
            logical_type=prop.get("logicalType"),
            description=prop.get("description"),
            classification=prop.get("classification"),
            tags=list(prop.get("tags") or []),
            required=bool(prop.get("required")),
            primary_key=bool(prop.get("primaryKey")),
        )
        for obj in contract.get("schema") or []
        for prop in obj.get("properties") or []
    ]


def _steps(
    product_id: str,
    principal: Principal,
    decision: Access,
    published: bool,
    requests: list[GrantRecord],
    deciders: list[str],
    terms: str | None = None,
) -> list[str]:
    """What to do next, in the words the CLI uses for a refused read (``terms``: the id of the terms of
    use a request must accept)."""
    who = ", ".join(deciders) or "a governance steward or platform admin"
    steps = [] if published else [f"{product_id} has no published data yet: its owners build it first"]
    pending = [g for g in requests if g.status == "requested"]
    if decision.allowed:
        if decision.columns is not None:
            steps.append(
                f"your grant covers {', '.join(sorted(decision.columns))}; for other columns: "
                f"{read_hint(product_id)} with the columns you need"
            )
        if decision.row_filter is not None:
            steps.append("a row filter of governance.yaml limits the rows you see")
        steps.append("classified columns above your clearance are masked on every read")
        return steps
    if principal.space is not None:
        return [*steps, f"ask {who} to share {product_id} into space {principal.space}"]
    if pending:
        return [*steps, f"request #{pending[0].id} is waiting for a decision by {who}"]
    if terms:
        accept = f"read its terms of use (terms {terms}, listed under terms): the request must accept them"
        return [
            *steps,
            accept,
            f"request access: {read_hint(product_id)} --accept-terms",
            f"decided by: {who}",
        ]
    return [*steps, f"request access: {read_hint(product_id)}", f"decided by: {who}"]
