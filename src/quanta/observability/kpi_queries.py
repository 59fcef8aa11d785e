"""The SQL behind the platform KPIs: every query aggregates in the database (``GROUP BY``, ``MIN``,
``COUNT``), so what comes back is one row per product, per (principal, product) pair or per day,
never one row per audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import distinct, func, literal, select, union

from quanta.registry.models import AuditEntry, BuildRun, Event, Grant, Port, Product, ProductVersion, Publish

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql import Select


@dataclass(frozen=True)
class ProductRow:
    id: str
    domain: str
    type: str
    status: str
    registered_at: datetime
    blueprint: str | None = None
    """The blueprint@version that made it (its latest descriptor's ``blueprint`` custom property)."""


@dataclass(frozen=True)
class FirstUse:
    """A principal's first allowed query on a product, and their first access request for it."""

    principal: str
    product_id: str
    first_query: datetime
    requested_at: datetime | None


Members = dict[str, frozenset[str]]
"""Principal ► the domains it produces or owns in (its use of their products is not consumption)."""


def products(s: Session) -> list[ProductRow]:
    query = select(
        Product.id,
        Product.domain,
        Product.type,
        Product.status,
        Product.created_at,
        ProductVersion.descriptor,
    ).join(
        ProductVersion,
        (ProductVersion.product_id == Product.id) & (ProductVersion.version == Product.latest_version),
        isouter=True,
    )
    return [
        ProductRow(i, d, t or "unknown", st, _utc(at), blueprint_of(descriptor or {}))
        for i, d, t, st, at, descriptor in s.execute(query)
    ]


def blueprint_of(descriptor: dict[str, Any]) -> str | None:
    """The ``blueprint`` custom property ``quanta new`` records (``files@1.2.0``), if any."""
    for prop in descriptor.get("customProperties") or []:
        if isinstance(prop, dict) and prop.get("property") == "blueprint" and prop.get("value"):
            return str(prop["value"])
    return None


def consumers(s: Session) -> dict[str, int]:
    """Product ► distinct principals with a grant (granted, or granted and since revoked) or an allowed
    query on it (the product's own domain members included: see :func:`member_uses`)."""
    used = _used().subquery()
    query = select(used.c.what, func.count(distinct(used.c.who))).group_by(used.c.what)
    return {product_id: int(n) for product_id, n in s.execute(query)}


def member_uses(s: Session, members: Members) -> list[tuple[str, str, bool]]:
    """(principal, product, queried) for the grants and allowed queries of principals with home
    domains: their own domains' products are not consumption, the others are reuse across domains."""
    if not members:
        return []
    used = _used().subquery()
    query = select(used.c.who, used.c.what, func.max(used.c.queried)).where(used.c.who.in_(sorted(members)))
    return [(who, what, bool(q)) for who, what, q in s.execute(query.group_by(used.c.who, used.c.what))]


def _used() -> Any:
    """(who, what, queried) of every grant ever given and every allowed query; UNION drops the
    duplicates in the database."""
    granted = select(
        Grant.principal.label("who"), Grant.product_id.label("what"), literal(0).label("queried")
    )
    queried = select(AuditEntry.actor, AuditEntry.subject, literal(1)).where(
        AuditEntry.kind == "query", AuditEntry.decision == "allow"
    )
    return union(granted.where(Grant.status.in_(("granted", "revoked"))), queried)


def first_uses(s: Session, since: datetime) -> list[FirstUse]:
    """Pairs whose first allowed query fell after ``since`` (new consumers of the period), with the
    pair's first access request."""
    first = func.min(AuditEntry.at)
    query = (
        select(AuditEntry.actor, AuditEntry.subject, first)
        .where(AuditEntry.kind == "query", AuditEntry.decision == "allow")
        .group_by(AuditEntry.actor, AuditEntry.subject)
        .having(first >= since)
    )
    found = [(who, what, _utc(at)) for who, what, at in s.execute(query)]
    if not found:
        return []
    requests = (
        select(Grant.principal, Grant.product_id, func.min(Grant.requested_at))
        .where(Grant.principal.in_(sorted({who for who, _, _ in found})))
        .group_by(Grant.principal, Grant.product_id)
    )
    asked = {(who, what): _utc(at) for who, what, at in s.execute(requests)}
    return [FirstUse(who, what, at, asked.get((who, what))) for who, what, at in found]


def first_seen(s: Session, principals: set[str]) -> dict[str, datetime]:
    """Each principal's first entry in the audit log (whatever they did first)."""
    if not principals:
        return {}
    query = (
        select(AuditEntry.actor, func.min(AuditEntry.at))
        .where(AuditEntry.actor.in_(sorted(principals)))
        .group_by(AuditEntry.actor)
    )
    return {actor: _utc(at) for actor, at in s.execute(query)}


def input_ports(s: Session) -> list[tuple[str, str]]:
    """(product, upstream product) for every input port of every product's latest version."""
    query = (
        select(Product.id, Port.upstream_product)
        .join(
            ProductVersion,
            (ProductVersion.product_id == Product.id) & (ProductVersion.version == Product.latest_version),
        )
        .join(Port, Port.product_version_id == ProductVersion.id)
        .where(Port.direction == "input", Port.upstream_product.is_not(None))
        .distinct()
    )
    return [(p, str(u)) for p, u in s.execute(query)]


def first_publishes(s: Session) -> dict[str, datetime]:
    query = select(Publish.product_id, func.min(Publish.created_at)).group_by(Publish.product_id)
    return {p: _utc(at) for p, at in s.execute(query)}


def runs_by_status(s: Session, since: datetime) -> dict[tuple[str, str], int]:
    """(product, status) ► finished or running runs started since ``since``."""
    query = (
        select(BuildRun.product_id, BuildRun.status, func.count())
        .where(BuildRun.started_at >= since)
        .group_by(BuildRun.product_id, BuildRun.status)
    )
    return {(p, st): int(n) for p, st, n in s.execute(query)}


def quarantines(s: Session, since: datetime) -> dict[str, int]:
    """Builds whose data failed its contract or a publish policy (kept in quarantine), per product."""
    query = (
        select(Event.subject, func.count())
        .where(Event.kind == "build.quarantined", Event.at >= since)
        .group_by(Event.subject)
    )
    return {p: int(n) for p, n in s.execute(query)}


def queries_per_day(s: Session, since: datetime, domains: list[str] | None) -> dict[date, dict[str, int]]:
    """Day ► decision (allow, deny, error) ► audited query entries, since ``since``."""
    day = _day(s.get_bind().dialect.name)
    query: Select[Any] = (
        select(day, AuditEntry.decision, func.count())
        .where(AuditEntry.kind == "query", AuditEntry.at >= since)
        .group_by(day, AuditEntry.decision)
    )
    if domains is not None:
        query = query.where(AuditEntry.domain.in_(domains))
    found: dict[date, dict[str, int]] = {}
    for when, decision, count in s.execute(query):
        found.setdefault(date.fromisoformat(str(when)[:10]), {})[decision] = int(count)
    return found


def queries_per_product(s: Session, since: datetime) -> dict[str, int]:
    query = (
        select(AuditEntry.subject, func.count())
        .where(AuditEntry.kind == "query", AuditEntry.decision == "allow", AuditEntry.at >= since)
        .group_by(AuditEntry.subject)
    )
    return {p: int(n) for p, n in s.execute(query)}


def _day(dialect: str) -> Any:
    """The UTC calendar day of an audit entry, in the database's own date functions."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", AuditEntry.at))
    return func.date(AuditEntry.at)  # SQLite keeps UTC ISO text


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
