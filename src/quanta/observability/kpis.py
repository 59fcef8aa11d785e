"""Platform KPIs: the platform run as a product (adoption, reuse, lead time, reliability, feedback).

Every number is computed from what the registry already records (products, ports, publishes, runs,
grants, the audit log, incidents, feedback) with aggregate SQL (:mod:`kpi_queries`); the definitions
are in docs/kpis.md. A domain owner's KPIs cover the products of their domains only.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from quanta.observability import kpi_queries as q
from quanta.registry.stores.feedback import RatingSummary  # at run time: the API's response model reads it

if TYPE_CHECKING:
    from quanta.registry import Registry


FIRST_QUERIES_SHOWN = 100


@dataclass(frozen=True)
class ProductCounts:
    total: int
    by_domain: dict[str, int]
    by_type: dict[str, int]
    by_status: dict[str, int]
    by_blueprint: dict[str, int] = field(default_factory=dict)
    """Products per blueprint they were made from (its name, versions together); none: written by hand."""


@dataclass(frozen=True)
class ProductUse:
    """Who uses one product: consumers (principals outside its domain with a grant or a query),
    allowed queries in the window, and the other domains that reuse it (through ports or queries)."""

    product_id: str
    domain: str
    consumers: int
    queries: int
    reused_by_products: list[str]
    reused_by_domains: list[str]


@dataclass(frozen=True)
class LeadTime:
    product_id: str
    registered_at: datetime
    first_published_at: datetime | None
    hours: float | None


@dataclass(frozen=True)
class FirstQuery:
    """How long a consumer took from asking for (or first being seen near) a product to querying it."""

    principal: str
    product_id: str
    start: str
    """``access request`` or ``first seen`` (the later of the consumer's first audit entry and the
    product's first publish)"""
    started_at: datetime
    first_query_at: datetime
    hours: float


@dataclass(frozen=True)
class Publishes:
    """Build attempts in the window: published, failed (quarantined included), crashed, skipped."""

    attempts: int
    published: int
    failed: int
    quarantined: int
    crashed: int
    skipped: int
    failure_rate: float | None
    failing_products: dict[str, int]


@dataclass(frozen=True)
class Incidents:
    opened: int
    open_now: int
    recovered: int
    median_hours_to_recover: float | None
    mean_hours_to_recover: float | None


@dataclass(frozen=True)
class DayCount:
    day: date
    allowed: int
    denied: int
    errors: int

    @property
    def total(self) -> int:
        return self.allowed + self.denied + self.errors


@dataclass(frozen=True)
class Feedback:
    ratings: int
    average: float | None
    comments: int
    products: list[RatingSummary]


@dataclass(frozen=True)
class Kpis:
    """Every platform KPI, for the whole platform (``domains`` None) or some domains."""

    generated_at: datetime
    since: datetime
    days: int
    domains: list[str] | None
    products: ProductCounts
    use: list[ProductUse]
    reused: int
    lead_times: list[LeadTime]
    median_lead_time_hours: float | None
    new_consumers: int
    """Consumer-product pairs whose first query fell in the period."""
    first_queries: list[FirstQuery]
    """The newest of them (at most ``FIRST_QUERIES_SHOWN``), newest first."""
    median_hours_to_first_query: float | None
    publishes: Publishes
    incidents: Incidents
    queries: list[DayCount] = field(default_factory=list)
    feedback: Feedback | None = None


def compute(
    registry: Registry,
    *,
    days: int = 30,
    domains: list[str] | None = None,
    members: q.Members | None = None,
    now: datetime | None = None,
) -> Kpis:
    """The KPIs over the last ``days`` (flows) and all time (states), for ``domains`` or all;
    ``members`` says which principals produce or own in which domains (governance.yaml)."""
    members = members or {}
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    with registry.session() as s:
        everything = q.products(s)
        consumers = q.consumers(s)
        reusers = q.member_uses(s, members)
        ports = q.input_ports(s)
        first_published = q.first_publishes(s)
        runs = q.runs_by_status(s, since)
        quarantined = q.quarantines(s, since)
        per_day = q.queries_per_day(s, since, domains)
        per_product = q.queries_per_product(s, since)
        uses = q.first_uses(s, since)
        seen = q.first_seen(
            s, {u.principal for u in uses if not u.requested_at or u.requested_at > u.first_query}
        )
    products = [p for p in everything if domains is None or p.domain in domains]
    domain_of = {p.id: p.domain for p in products}
    use = _use(
        products, {p.id: p.domain for p in everything}, consumers, ports, reusers, per_product, members
    )
    lead_times = _lead_times(products, first_published)
    firsts = _first_queries(uses, domain_of, members, seen, first_published)
    ratings = registry.rating_summaries(list(domain_of))
    return Kpis(
        generated_at=now,
        since=since,
        days=days,
        domains=domains,
        products=_counts(products),
        use=use,
        reused=sum(1 for u in use if u.reused_by_domains),
        lead_times=lead_times,
        median_lead_time_hours=_median([t.hours for t in lead_times]),
        new_consumers=len(firsts),
        first_queries=sorted(firsts, key=lambda f: f.first_query_at, reverse=True)[:FIRST_QUERIES_SHOWN],
        median_hours_to_first_query=_median([f.hours for f in firsts]),
        publishes=_publishes(runs, quarantined, domain_of),
        incidents=_incidents(registry, set(domain_of), since),
        queries=_days(per_day, since.date(), now.date()),
        feedback=_feedback(ratings),
    )


def _counts(products: list[q.ProductRow]) -> ProductCounts:
    def by(key: Callable[[q.ProductRow], str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for p in products:
            found[key(p)] = found.get(key(p), 0) + 1
        return dict(sorted(found.items()))

    return ProductCounts(
        len(products),
        by(lambda p: p.domain),
        by(lambda p: p.type),
        by(lambda p: p.status),
        by(lambda p: p.blueprint.partition("@")[0] if p.blueprint else "none"),
    )


def _use(
    products: list[q.ProductRow],
    everywhere: dict[str, str],
    consumers: dict[str, int],
    ports: list[tuple[str, str]],
    member_uses: list[tuple[str, str, bool]],
    per_product: dict[str, int],
    members: q.Members,
) -> list[ProductUse]:
    """Consumers (its own domain's members left out) and cross-domain reuse (other domains' products
    reading it, other domains' members querying it) of each product; ``everywhere`` maps every
    product, in scope or not, to its domain."""
    readers: dict[str, list[str]] = {}
    for reader, upstream in ports:
        if everywhere.get(reader) != everywhere.get(upstream):
            readers.setdefault(upstream, []).append(reader)
    own: dict[str, int] = {}
    reusing: dict[str, set[str]] = {}
    for who, product_id, queried in member_uses:
        home = members.get(who, frozenset())
        if everywhere.get(product_id) in home:
            own[product_id] = own.get(product_id, 0) + 1
        elif queried:
            reusing.setdefault(product_id, set()).update(home)
    found = [
        ProductUse(
            p.id,
            p.domain,
            consumers.get(p.id, 0) - own.get(p.id, 0),
            per_product.get(p.id, 0),
            sorted(readers.get(p.id, [])),
            sorted(reusing.get(p.id, set()) | {everywhere[r] for r in readers.get(p.id, [])}),
        )
        for p in products
    ]
    return sorted(found, key=lambda u: (-u.consumers, -u.queries, u.product_id))


def _lead_times(products: list[q.ProductRow], first_published: dict[str, datetime]) -> list[LeadTime]:
    found = []
    for p in sorted(products, key=lambda p: p.id):
        published = first_published.get(p.id)
        hours = (published - p.registered_at).total_seconds() / 3600 if published else None
        found.append(LeadTime(p.id, p.registered_at, published, hours if hours is None else max(0.0, hours)))
    return found


def _first_queries(
    uses: list[q.FirstUse],
    domain_of: dict[str, str],
    members: q.Members,
    seen: dict[str, datetime],
    first_published: dict[str, datetime],
) -> list[FirstQuery]:
    """Time to first query of the period's new consumer-product pairs (own-domain members left out):
    from the access request when one came first, else from when the consumer could first have used
    it (the later of their first audit entry and the product's first publish)."""
    found = []
    for use in uses:
        domain = domain_of.get(use.product_id)
        if domain is None or domain in members.get(use.principal, frozenset()):
            continue
        if use.requested_at is not None and use.requested_at <= use.first_query:
            start, started = "access request", use.requested_at
        else:
            candidates = [t for t in (seen.get(use.principal), first_published.get(use.product_id)) if t]
            start, started = "first seen", min(max(candidates, default=use.first_query), use.first_query)
        hours = (use.first_query - started).total_seconds() / 3600
        found.append(FirstQuery(use.principal, use.product_id, start, started, use.first_query, hours))
    return found


def _publishes(
    runs: dict[tuple[str, str], int], quarantined: dict[str, int], domain_of: dict[str, str]
) -> Publishes:
    mine = {k: n for k, n in runs.items() if k[0] in domain_of}
    total = {status: sum(n for (_, st), n in mine.items() if st == status) for status in _STATUSES}
    attempts = total["published"] + total["failed"] + total["crashed"]
    failing: dict[str, int] = {}
    for (product_id, status), n in mine.items():
        if status in ("failed", "crashed"):
            failing[product_id] = failing.get(product_id, 0) + n
    return Publishes(
        attempts,
        total["published"],
        total["failed"],
        sum(n for p, n in quarantined.items() if p in domain_of),
        total["crashed"],
        total["skipped"],
        (total["failed"] + total["crashed"]) / attempts if attempts else None,
        dict(sorted(failing.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


_STATUSES = ("published", "failed", "crashed", "skipped", "running")


def _incidents(registry: Registry, products: set[str], since: datetime) -> Incidents:
    found = [i for i in registry.incidents(limit=100_000) if i.product_id in products]
    recent = [i for i in found if i.opened_at >= since]
    hours = [(i.closed_at - i.opened_at).total_seconds() / 3600 for i in recent if i.closed_at is not None]
    return Incidents(
        len(recent),
        sum(1 for i in found if i.status == "open"),
        len(hours),
        _median(hours),
        statistics.fmean(hours) if hours else None,
    )


def _days(per_day: dict[date, dict[str, int]], first: date, last: date) -> list[DayCount]:
    """One entry per day of the window, days without queries included (a chart needs the gaps)."""
    found = []
    day = first
    while day <= last:
        counts = per_day.get(day, {})
        found.append(DayCount(day, counts.get("allow", 0), counts.get("deny", 0), counts.get("error", 0)))
        day += timedelta(days=1)
    return found


def _feedback(ratings: list[RatingSummary]) -> Feedback:
    count = sum(r.count for r in ratings)
    stars = sum(n * c for r in ratings for n, c in r.distribution.items())
    ranked = sorted(ratings, key=lambda r: (-(r.average or 0), -r.count, r.product_id))
    return Feedback(count, stars / count if count else None, sum(r.comments for r in ratings), ranked)


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def say_hours(hours: float | None) -> str:
    """A duration in hours, in the unit a person would use: ``42 s``, ``3.5 min``, ``2.1 h``, ``3.2 d``."""
    if hours is None:
        return "-"
    seconds = hours * 3600
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
