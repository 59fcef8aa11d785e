"""The health of a product: freshness against its contract's SLA, SLO attainment over a window, run
history, schema changes between consecutive publishes, anomalies and incidents, in one summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

from quanta.observability.anomalies import Anomaly, history_anomalies
from quanta.registry.stores.observations import IncidentRecord  # a field type the API's schema resolves

if TYPE_CHECKING:
    from quanta.registry import Registry
    from quanta.registry.stores.observations import ProfileRecord
    from quanta.registry.stores.publishing import PublishRecord, RunRecord


@dataclass(frozen=True)
class Sla:
    """A freshness promise of a contract: data at most ``limit`` old."""

    limit: timedelta
    element: str | None
    """``table.column`` whose newest value says how old the data is; None: the publish time does."""
    text: str
    """As the contract says it, e.g. ``latency 1d (orders.order_date)``."""


@dataclass(frozen=True)
class Freshness:
    """How old the data consumers read now is, against the SLA."""

    status: str
    """``ok``, ``breached``, ``no-sla`` (published, nothing promised) or ``never`` (never published)"""
    sla: Sla | None
    published_at: datetime | None
    newest_at: datetime | None
    """The newest data: the SLA element's newest value, else the publish time."""
    measured_from: str
    """``data`` (the SLA element) or ``publish`` (the publish time)"""
    age_seconds: float | None


def freshness(
    sla: Sla | None, publish: PublishRecord | None, profile: ProfileRecord | None, now: datetime
) -> Freshness:
    """The freshness of ``publish`` (the current one) at ``now``."""
    if publish is None:
        return Freshness("never", sla, None, None, "publish", None)
    measured = sla is not None and sla.element is not None and profile is not None and profile.newest_at
    newest = profile.newest_at if measured and profile is not None else publish.created_at
    age = (now - newest).total_seconds() if newest else None
    if sla is None or age is None:
        return Freshness("no-sla", sla, publish.created_at, newest, "data" if measured else "publish", age)
    status = "ok" if age <= sla.limit.total_seconds() else "breached"
    return Freshness(status, sla, publish.created_at, newest, "data" if measured else "publish", age)


def timeline(
    publishes: Sequence[PublishRecord], profiles: Sequence[ProfileRecord], sla: Sla | None
) -> list[tuple[datetime, datetime]]:
    """(publish time, newest data) of every publish, oldest first; a rollback holds the data of the
    publish it went back to."""
    newest = {p.run_id: p.newest_at for p in profiles}
    by_data = sla is not None and sla.element is not None
    points = []
    for publish in publishes:
        source = str(publish.inputs.get("rollback_of") or publish.run_id)
        points.append((publish.created_at, (newest.get(source) if by_data else None) or publish.created_at))
    return points


def slo_attainment(
    sla: Sla | None, points: Sequence[tuple[datetime, datetime]], now: datetime, days: float = 30
) -> float | None:
    """Share (0..1) of the last ``days`` (from the first publish on) in which the data was within the
    SLA; None without an SLA or a publish in the window."""
    if sla is None or not points:
        return None
    start = now - timedelta(days=days)
    covered = late = 0.0
    for i, (published, newest) in enumerate(points):
        end = points[i + 1][0] if i + 1 < len(points) else now
        low, high = max(published, start), min(end, now)
        if high <= low:
            continue
        covered += (high - low).total_seconds()
        late += max(0.0, (high - max(newest + sla.limit, low)).total_seconds())
    return None if covered == 0 else 1 - late / covered


@dataclass(frozen=True)
class RunSummary:
    """One build run as health shows it."""

    run_id: str
    status: str
    trigger: str
    version: str
    started_at: datetime
    seconds: float | None
    rows: int | None
    bytes: int | None
    checks: dict[str, int]
    error: str | None


def run_history(
    runs: Sequence[RunRecord], publishes: Sequence[PublishRecord], profiles: Sequence[ProfileRecord]
) -> list[RunSummary]:
    """Runs newest first, with what each published (rows, bytes) and its contract check counts."""
    published = {p.run_id: p for p in publishes}
    sizes = {p.run_id: p.bytes for p in profiles}
    found = []
    for run in runs:
        publish = published.get(run.id)
        checks = (publish.checks if publish else run.details.get("checks")) or {}
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        rows = sum(publish.rows.values()) if publish else None
        found.append(
            RunSummary(
                run.id,
                run.status,
                run.trigger,
                run.version,
                run.started_at,
                seconds,
                rows,
                sizes.get(run.id),
                dict(checks.get("summary") or {}),
                run.error,
            )
        )
    return found


@dataclass(frozen=True)
class SchemaChange:
    """Columns that changed between two consecutive publishes."""

    at: datetime
    from_version: str
    to_version: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)
    """``column: old ► new``"""

    @property
    def breaking(self) -> bool:
        """Consumers' queries may break: a column went away or changed type."""
        return bool(self.removed or self.retyped)

    def describe(self) -> str:
        parts = [f"added {', '.join(self.added)}"] if self.added else []
        parts += [f"removed {', '.join(self.removed)}"] if self.removed else []
        parts += [f"retyped {', '.join(self.retyped)}"] if self.retyped else []
        return "; ".join(parts)


def schema_changes(profiles: Sequence[ProfileRecord]) -> list[SchemaChange]:
    """Every change of columns between consecutive publishes, newest first."""
    changes = []
    for before, after in pairwise(profiles):
        old, new = before.columns, after.columns
        retyped = [f"{c}: {old[c]} ► {new[c]}" for c in new if c in old and old[c] != new[c]]
        added, removed = [c for c in new if c not in old], [c for c in old if c not in new]
        if added or removed or retyped:
            changes.append(
                SchemaChange(after.published_at, before.version, after.version, added, removed, retyped)
            )
    return list(reversed(changes))


@dataclass(frozen=True)
class AnomalySeen:
    """An anomaly of one publish."""

    at: datetime
    run_id: str
    version: str
    metric: str
    value: float
    expected: float
    score: float
    season: int | None
    description: str


@dataclass(frozen=True)
class ProductHealth:
    """Everything health knows about a product, for the CLI, the API and the product page."""

    product_id: str
    status: str
    """``healthy``, ``degraded`` (an open incident), ``failing`` (an open critical incident) or
    ``unpublished``"""
    freshness: Freshness
    slo_attainment: float | None
    slo_days: int
    open_incidents: list[IncidentRecord]
    recent_incidents: list[IncidentRecord]
    runs: list[RunSummary]
    anomalies: list[AnomalySeen]
    schema_changes: list[SchemaChange]
    rows: list[tuple[datetime, int]]
    """Rows of each recent publish, oldest first (the volume history)."""


def current_freshness(
    registry: Registry, product_id: str, sla: Sla | None, now: datetime | None = None
) -> Freshness:
    """Only the freshness of :func:`product_health`: the product page's badge, without the history."""
    current = registry.current_publish(product_id)
    source = str(current.inputs.get("rollback_of") or current.run_id) if current else None
    profile = next((p for p in registry.profiles(product_id) if p.run_id == source), None)
    return freshness(sla, current, profile, now or datetime.now(UTC))


def product_health(
    registry: Registry, product_id: str, sla: Sla | None, now: datetime | None = None, days: int = 30
) -> ProductHealth:
    """The health summary of one product, read from the registry."""
    now = now or datetime.now(UTC)
    publishes = registry.publishes(product_id)
    profiles = registry.profiles(product_id)
    current = registry.current_publish(product_id)
    fresh = current_freshness(registry, product_id, sla, now)
    incidents = registry.incidents(product_id, limit=20)
    open_ = [i for i in incidents if i.status == "open"]
    status = _status(current is not None, open_)
    return ProductHealth(
        product_id,
        status,
        fresh,
        slo_attainment(sla, timeline(publishes, profiles, sla), now, days),
        days,
        open_,
        [i for i in incidents if i.status != "open"][:10],
        run_history(registry.runs(product_id, 20), publishes, profiles),
        [_seen(p, a) for p, a in reversed(history_anomalies(profiles))][:20],
        schema_changes(profiles)[:10],
        [(p.published_at, p.rows) for p in profiles[-30:]],
    )


def _status(published: bool, open_incidents: Sequence[IncidentRecord]) -> str:
    if any(i.severity == "critical" for i in open_incidents):
        return "failing"
    if open_incidents:
        return "degraded"
    return "healthy" if published else "unpublished"


def _seen(profile: ProfileRecord, anomaly: Anomaly) -> AnomalySeen:
    return AnomalySeen(
        profile.published_at,
        profile.run_id,
        profile.version,
        anomaly.metric,
        anomaly.value,
        anomaly.expected,
        anomaly.score,
        anomaly.season,
        anomaly.describe(),
    )


def in_words(seconds: float) -> str:
    """A duration in words: the two largest units (``3 days 4 hours``, ``12 minutes``)."""
    delta = timedelta(seconds=int(seconds))
    years, days = divmod(delta.days, 365)
    parts = [
        (years, "year"),
        (days, "day"),
        (delta.seconds // 3600, "hour"),
        (delta.seconds % 3600 // 60, "minute"),
    ]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return " ".join(shown) or f"{int(seconds)} seconds"
