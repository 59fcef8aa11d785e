"""The Prometheus collector of what the registry knows: builds, check failures, freshness, products,
open incidents and ratings.

It reads the database at scrape time with a handful of aggregate queries (cached a few seconds, so a
burst of scrapes costs one read), which is why every worker of a multi-process server answers the
same, and why builds run by the CLI or the scheduler count as much as the server's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from quanta.registry.models import BuildRun, Product, Publish

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from sqlalchemy.sql.elements import ColumnElement

    from quanta.registry import Registry

BUILD_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
"""Upper bounds (seconds) of the build duration histogram."""


@dataclass(frozen=True)
class BuildDurations:
    """Finished runs of one product and status: how many, total seconds, and cumulative buckets."""

    product_id: str
    status: str
    count: int
    seconds: float
    buckets: tuple[int, ...]


@dataclass
class RegistryFacts:
    """One read of the registry, kept for a few seconds."""

    builds: list[BuildDurations] = field(default_factory=list)
    running: int = 0
    failures: list[tuple[str, str, int]] = field(default_factory=list)
    published: dict[str, datetime] = field(default_factory=dict)
    products: list[tuple[str, str, str, int]] = field(default_factory=list)
    incidents: dict[tuple[str, str], int] = field(default_factory=dict)
    ratings: list[tuple[str, int, float]] = field(default_factory=list)


def duration_seconds(dialect: str) -> ColumnElement[Any]:
    """A run's duration in seconds, in the database's own date arithmetic."""
    if dialect == "postgresql":
        return func.extract("epoch", BuildRun.finished_at - BuildRun.started_at)
    # SQLite stores ISO text; julianday() reads it with its fractional seconds.
    return (func.julianday(BuildRun.finished_at) - func.julianday(BuildRun.started_at)) * 86400.0


def read_facts(registry: Registry) -> RegistryFacts:
    """Everything the collector exposes, in one connection and a few aggregate queries."""
    facts = RegistryFacts()
    seconds = duration_seconds(registry.engine.dialect.name)
    buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in BUILD_BUCKETS]
    builds = (
        select(BuildRun.product_id, BuildRun.status, func.count(), func.sum(seconds), *buckets)
        .where(BuildRun.finished_at.is_not(None))
        .group_by(BuildRun.product_id, BuildRun.status)
    )
    with registry.session() as s:
        for product_id, status, count, total, *within in s.execute(builds):
            counts = tuple(int(n or 0) for n in within)
            facts.builds.append(BuildDurations(product_id, status, int(count), float(total or 0), counts))
        running = select(func.count()).select_from(BuildRun).where(BuildRun.status == "running")
        facts.running = int(s.scalar(running) or 0)
        last = select(Publish.product_id, func.max(Publish.created_at)).group_by(Publish.product_id)
        facts.published = {p: _utc(at) for p, at in s.execute(last)}
        kinds = select(Product.domain, Product.type, Product.status, func.count()).group_by(
            Product.domain, Product.type, Product.status
        )
        facts.products = [(d, t or "unknown", st, int(n)) for d, t, st, n in s.execute(kinds)]
    facts.failures = [(f.product_id, f.severity, f.count) for f in registry.check_failures()]
    for incident in registry.incidents(status="open", limit=100_000):
        key = (incident.product_id, incident.severity)
        facts.incidents[key] = facts.incidents.get(key, 0) + 1
    facts.ratings = [
        (r.product_id, r.count, r.average) for r in registry.rating_summaries() if r.average is not None
    ]
    return facts


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class PlatformCollector:
    """A prometheus_client custom collector over the registry (registered per app)."""

    def __init__(self, registry: Registry, cache_seconds: float = 5.0) -> None:
        self.registry = registry
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._facts: RegistryFacts | None = None
        self._read_at = 0.0

    def facts(self) -> RegistryFacts:
        """The registry's facts, read again when older than ``cache_seconds``."""
        with self._lock:
            if self._facts is None or time.monotonic() - self._read_at > self.cache_seconds:
                self._facts = read_facts(self.registry)
                self._read_at = time.monotonic()
            return self._facts

    def collect(self) -> Iterator[Metric]:
        """Every series, from one (cached) read of the registry."""
        facts = self.facts()
        yield from self._builds(facts)
        yield from self._freshness(facts)
        yield from self._platform(facts)

    def _builds(self, facts: RegistryFacts) -> Iterator[Metric]:
        from prometheus_client.metrics_core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )
        from prometheus_client.utils import floatToGoString

        durations = HistogramMetricFamily(
            "quanta_build_duration_seconds",
            "Finished builds by product and status (published, skipped, failed, crashed): seconds each took.",
            labels=["product", "status"],
        )
        for b in facts.builds:
            bounds = [(floatToGoString(le), float(n)) for le, n in zip(BUILD_BUCKETS, b.buckets, strict=True)]
            durations.add_metric([b.product_id, b.status], [*bounds, ("+Inf", float(b.count))], b.seconds)
        yield durations
        yield GaugeMetricFamily("quanta_builds_running", "Builds running now.", value=facts.running)
        failures = CounterMetricFamily(
            "quanta_check_failures",
            "Contract checks that failed (or errored) in builds, by product and check severity.",
            labels=["product", "severity"],
        )
        for product_id, severity, count in facts.failures:
            failures.add_metric([product_id, severity], count)
        yield failures

    def _platform(self, facts: RegistryFacts) -> Iterator[Metric]:
        from prometheus_client.metrics_core import GaugeMetricFamily

        products = GaugeMetricFamily(
            "quanta_products",
            "Registered products by domain, type and status.",
            labels=["domain", "type", "status"],
        )
        for domain, kind, status, count in facts.products:
            products.add_metric([domain, kind, status], count)
        yield products
        incidents = GaugeMetricFamily(
            "quanta_incidents_open", "Open incidents by product and severity.", labels=["product", "severity"]
        )
        for (product_id, severity), count in sorted(facts.incidents.items()):
            incidents.add_metric([product_id, severity], count)
        yield incidents
        ratings = GaugeMetricFamily(
            "quanta_product_rating",
            "Average consumer rating (1-5) of each rated product.",
            labels=["product"],
        )
        for product_id, _count, average in facts.ratings:
            ratings.add_metric([product_id], average)
        yield ratings

    def _freshness(self, facts: RegistryFacts) -> Iterator[Metric]:
        from prometheus_client.metrics_core import GaugeMetricFamily

        now = datetime.now(UTC)
        lag = GaugeMetricFamily(
            "quanta_product_freshness_lag_seconds",
            "Seconds since the publish consumers read now (the product's current version) was made.",
            labels=["product"],
        )
        stamp = GaugeMetricFamily(
            "quanta_product_last_publish_timestamp_seconds",
            "Unix time of each product's current publish (alert on time() - this, too).",
            labels=["product"],
        )
        for product_id, at in sorted(facts.published.items()):
            lag.add_metric([product_id], max(0.0, (now - at).total_seconds()))
            stamp.add_metric([product_id], at.timestamp())
        yield lag
        yield stamp
