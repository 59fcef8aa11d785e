"""Access decisions made ahead of time: who may read which product, which columns, which rows.

Order of the rules (the first that applies decides):
1. a partner-space principal reads only products shared into its space (listed in governance.yaml or
   shared with ``quanta space share``), nothing else, and only while the share policies allow it;
2. platform admins and governance stewards read every product;
3. domain owners and producers read the products of their domains;
4. an active grant (an approved access request, not expired or revoked) opens the product, or only
   its granted columns;
5. otherwise the product's visibility: ``public``/``organization`` for everyone inside the mesh,
   ``domain`` (the default for source-aligned products) for that domain only, ``private`` for nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quanta.governance.model import Governance, Principal
from quanta.registry.stores.audit_grants import GrantRecord

VISIBILITIES = ("public", "organization", "domain", "private")
DEFAULT_VISIBILITY = {"source-aligned": "domain"}  # other product types: organization


@dataclass(frozen=True)
class ProductFacts:
    """What access decisions need to know about a product."""

    product_id: str
    domain: str
    kind: str | None
    visibility: str | None

    @classmethod
    def of(cls, product_id: str, descriptor: dict[str, Any]) -> ProductFacts:
        """The facts of a registered descriptor (ODPS: ``domain``, ``type``, a ``visibility`` property)."""
        custom = {c.get("property"): c.get("value") for c in descriptor.get("customProperties") or []}
        domain = descriptor.get("domain") or product_id.partition(".")[0]
        return cls(product_id, domain, descriptor.get("type"), custom.get("visibility"))

    @property
    def effective_visibility(self) -> str:
        return self.visibility or DEFAULT_VISIBILITY.get(self.kind or "", "organization")


@dataclass(frozen=True)
class Access:
    """The decision for one principal and one product."""

    allowed: bool
    reason: str
    columns: frozenset[str] | None = None
    """Only these columns (a column-scoped grant); None: every column."""
    row_filter: str | None = None
    grant: GrantRecord | None = None
    """The grant that opens the product (its purpose and accepted terms are named on every read under it)."""


def decide(
    principal: Principal, product: ProductFacts, grants: list[GrantRecord], governance: Governance
) -> Access:
    """Whether ``principal`` may read ``product``, and through which columns and rows."""
    row_filter = _row_filter(principal, product.product_id, governance)
    if principal.space is not None:
        space = governance.space(principal.space)
        shared = any(
            g.principal == f"space:{principal.space}" and g.product_id == product.product_id and g.active()
            for g in grants
        )
        if space is not None and (product.product_id in space.products or shared):
            return Access(True, f"shared into partner space {space.id}", row_filter=row_filter)
        return Access(False, f"{product.product_id} is not shared into space {principal.space}")
    if principal.can("read_any_product"):
        return Access(True, "platform role", row_filter=row_filter)
    if principal.can("read_domain_products", product.domain):
        return Access(True, f"member of domain {product.domain}", row_filter=row_filter)
    active = [
        g for g in grants if g.principal == principal.id and g.product_id == product.product_id and g.active()
    ]
    if active:
        scoped = [set(g.columns) for g in active]
        columns = None if any(not c for c in scoped) else frozenset().union(*scoped)
        grant = active[-1]
        by = f", approved by {grant.decided_by}" if grant.decided_by else ""
        accepted = (grant.terms or {}).get("digest")
        terms = f", terms {accepted} accepted" if accepted else ""
        return Access(True, f"grant #{grant.id}{by}{terms}", columns, row_filter, grant)
    visibility = product.effective_visibility
    if visibility in ("public", "organization"):
        return Access(True, f"visible to the {visibility}", row_filter=row_filter)
    if visibility == "domain":
        return Access(False, f"{product.product_id} is visible to domain {product.domain} only")
    return Access(False, f"{product.product_id} is private")


_PLACEHOLDER = re.compile(r"\{principal\.([A-Za-z_][A-Za-z0-9_]*)\}")


def _row_filter(principal: Principal, product_id: str, governance: Governance) -> str | None:
    """The row filters that apply to this principal on this product, as one SQL predicate."""
    parts = []
    for spec in governance.spec.row_filters:
        if spec.product != product_id or principal.roles & set(spec.exempt_roles):
            continue
        parts.append("(" + _PLACEHOLDER.sub(lambda m: _literal(principal, m.group(1)), spec.filter) + ")")
    return " and ".join(parts) or None


def _literal(principal: Principal, attribute: str) -> str:
    if attribute == "id":
        value: object = principal.id
    else:
        value = principal.attributes.get(attribute)
    if value is None:
        return "NULL"  # an attribute the principal lacks matches no row: fail closed
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
