"""Who is asking and what they may see: clearance levels, sensitivity tags, roles, principals, spaces.

Defined once for the whole mesh in the workspace's ``governance.yaml`` (all optional), so ``pii`` or
``confidential`` mean the same in every domain. Without the file, local mode has one principal: the
workspace user, a platform admin cleared for everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quanta.errors import QuantaError

LEVELS = ("public", "internal", "confidential", "restricted")
"""Clearance levels, lowest first; a column classified at a level needs at least that clearance."""
TAGS = ("pii", "financial", "health")
LOCAL_ADMIN = "local-admin"
"""The built-in platform admin, cleared for everything (the default ``QUANTA_USER``)."""
Role = Literal["platform_admin", "governance_steward", "domain_owner", "producer", "consumer"]
SCOPES = ("read", "request", "write", "admin", "metrics", "agent")
"""What an API token may do: read data and metadata, request access, build/publish, administer, only
scrape ``/metrics`` (a Prometheus scraper's token, which reads no data), or act as an AI agent over MCP
(``agent``: metadata and governed queries through the MCP server only, not the REST API or the wire)."""
CONSUMER_SCOPES = ("read", "request")
"""A token's scopes unless chosen: what a consumer does (read, and request access to what it may not)."""
IMPLIED_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "write": frozenset({"request"}),
}
"""What a scope allows besides itself: ``admin`` everything; ``write`` (apply, build, decide access)
also what ``request`` guards. ``request`` is the narrow write scope for consumers: the state changes a
consumer makes (access requests, subscriptions, feedback) and nothing else."""


def scope_covers(scopes: frozenset[str] | set[str] | list[str], needed: str) -> bool:
    """Whether a token with ``scopes`` may do what ``needed`` guards (see :data:`IMPLIED_SCOPES`)."""
    return any(s == needed or needed in IMPLIED_SCOPES.get(s, ()) for s in scopes)


def scopes_to_use(scopes: frozenset[str] | set[str] | list[str], needed: str) -> str:
    """The whole ``--scopes`` value of a token that keeps what ``scopes`` allow and adds ``needed``
    (a token's scopes replace the default; they are not added to it), e.g. ``agent,request``."""
    return ",".join(sorted({*scopes, needed}))


PLATFORM_ROLES = frozenset({"platform_admin", "governance_steward"})
"""Roles that see the platform as a whole: KPIs of every domain, the Prometheus metrics."""
ROLES: tuple[Role, ...] = ("platform_admin", "governance_steward", "domain_owner", "producer", "consumer")

# The permission matrix (docs/governance.md): which role may do what. Domain roles act in their domains.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "read_any_product": frozenset({"platform_admin", "governance_steward"}),
    "read_domain_products": frozenset({"platform_admin", "domain_owner", "producer"}),
    "publish": frozenset({"platform_admin", "domain_owner", "producer"}),
    "approve_access": frozenset({"platform_admin", "domain_owner"}),
    "manage_policies": frozenset({"platform_admin", "governance_steward"}),
    "manage_spaces": frozenset({"platform_admin", "governance_steward"}),
    "impersonate": frozenset({"platform_admin", "governance_steward"}),
    "read_audit": frozenset({"platform_admin", "governance_steward", "domain_owner"}),
    "request_access": frozenset(ROLES),
}


class GovernanceError(QuantaError):
    """An unknown principal, a refused permission, or an invalid governance file."""

    status = 403


def level_rank(level: str | None) -> int:
    """Position of a level (unknown or missing counts as ``internal``, the safe middle)."""
    name = (level or "internal").lower()
    return LEVELS.index(name) if name in LEVELS else LEVELS.index("internal")


@dataclass(frozen=True)
class Principal:
    """A user, group member or service account as the platform sees it when it acts."""

    id: str
    kind: Literal["user", "service", "agent"] = "user"
    roles: frozenset[Role] = frozenset({"consumer"})
    domains: frozenset[str] = frozenset()
    clearance: str = "internal"
    tags: frozenset[str] = frozenset()
    attributes: dict[str, Any] = field(default_factory=dict)
    space: str | None = None
    """A partner space: when set, the principal sees only what was shared into it."""

    def can(self, permission: str, domain: str | None = None) -> bool:
        """Whether the role matrix allows ``permission``; domain roles only within their domains."""
        if self.space is not None:  # partners act only through what was shared with them
            return permission == "request_access"
        allowed = self.roles & PERMISSIONS[permission]
        if allowed - {"domain_owner", "producer"}:
            return True
        return bool(allowed) and domain is not None and domain in self.domains

    def cleared_for(self, level: str | None, tags: set[str]) -> bool:
        """Whether this principal may see a column of ``level`` carrying ``tags`` in clear."""
        sensitive = {t.lower() for t in tags} & set(TAGS)
        return level_rank(level) <= level_rank(self.clearance) and sensitive <= self.tags


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PrincipalSpec(_Strict):
    id: str
    kind: Literal["user", "service", "agent"] = "user"
    roles: list[Role] = Field(default_factory=lambda: list[Role](["consumer"]))
    domains: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    clearance: Literal["public", "internal", "confidential", "restricted"] = "internal"
    tags: list[Literal["pii", "financial", "health"]] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    space: str | None = None


class GroupSpec(_Strict):
    id: str
    roles: list[Role] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    clearance: Literal["public", "internal", "confidential", "restricted"] | None = None
    tags: list[Literal["pii", "financial", "health"]] = Field(default_factory=list)


class RowFilterSpec(_Strict):
    product: str
    filter: str
    """SQL predicate over the product's columns; ``{principal.<attribute>}`` is the asking principal's."""
    exempt_roles: list[Role] = Field(default_factory=lambda: list[Role](["platform_admin"]))


class SpaceSpec(_Strict):
    id: str
    kind: Literal["partner", "internal"] = "partner"
    products: list[str] = Field(default_factory=list)


class GovernanceSpec(_Strict):
    """The ``governance.yaml`` file."""

    principals: list[PrincipalSpec] = Field(default_factory=list)
    groups: list[GroupSpec] = Field(default_factory=list)
    row_filters: list[RowFilterSpec] = Field(default_factory=list, alias="rowFilters")
    spaces: list[SpaceSpec] = Field(default_factory=list)
    organisation: str | None = None
    """The organisation the mesh belongs to: its principals' and products' unless they name another
    (attribute or custom property ``organisation``); access policies compare them."""


@dataclass(frozen=True)
class Governance:
    """The mesh-wide governance settings, resolved: principals with their groups folded in."""

    spec: GovernanceSpec
    admin: str = LOCAL_ADMIN
    defined: bool = False
    """Whether a governance file exists: without one (local mode) whoever acts is the admin."""

    @classmethod
    def load(cls, root: Path | None) -> Governance:
        path = root / "governance.yaml" if root else None
        if path is None or not path.exists():
            return cls(GovernanceSpec())
        from quanta.spec.yamlsource import load_file

        doc = load_file(path)
        from pydantic import ValidationError

        try:
            return cls(GovernanceSpec.model_validate(doc.data or {}), defined=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = tuple(first["loc"])
            line, column = next(
                (doc.positions[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in doc.positions), (1, 1)
            )
            where = ".".join(str(part) for part in loc)
            raise GovernanceError(
                f"{path}:{line}:{column}: {first['msg']} (at {where})", hint="see docs/governance.md"
            ) from None

    def principal(self, principal_id: str) -> Principal:
        """The principal by id; the workspace user is the built-in platform admin."""
        found = next((p for p in self.spec.principals if p.id == principal_id), None)
        if found is None:
            if principal_id == self.admin or not self.defined:
                return Principal(
                    principal_id,
                    roles=frozenset({"platform_admin"}),
                    clearance="restricted",
                    tags=frozenset(TAGS),
                )
            known = ", ".join(sorted(p.id for p in self.spec.principals)) or "none defined"
            raise GovernanceError(
                f"unknown principal {principal_id!r}", hint=f"principals in governance.yaml: {known}"
            )
        groups = [g for g in self.spec.groups if g.id in found.groups]
        clearance = max([found.clearance, *(g.clearance for g in groups if g.clearance)], key=level_rank)
        return Principal(
            found.id,
            found.kind,
            frozenset([*found.roles, *(r for g in groups for r in g.roles)]),
            frozenset([*found.domains, *(d for g in groups for d in g.domains)]),
            clearance,
            frozenset([*found.tags, *(t for g in groups for t in g.tags)]),
            dict(found.attributes),
            found.space,
        )

    def space(self, space_id: str) -> SpaceSpec | None:
        return next((s for s in self.spec.spaces if s.id == space_id), None)
