"""Watching products: after every build and on a schedule, health findings become incidents (opened,
updated, closed) and alerts, which go to the outbox of the sinks whose routes want them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quanta.observability.anomalies import profile_anomalies
from quanta.observability.health import Sla, freshness, schema_changes
from quanta.observability.incidents import (
    anomaly_findings,
    build_alerts,
    build_findings,
    change_alerts,
    freshness_finding,
    incident_alerts,
)

if TYPE_CHECKING:
    from quanta.observability.alerts.base import Alert
    from quanta.observability.alerts.config import AlertsConfig, Audience
    from quanta.observability.alerts.delivery import Deliverer
    from quanta.registry import Registry
    from quanta.registry.stores.observations import Finding, IncidentChanges, ProfileRecord

log = logging.getLogger("quanta.health")


@dataclass(frozen=True)
class BuildOutcome:
    """What a build of one product ended with, as health needs it."""

    product_id: str
    version: str
    run_id: str
    status: str
    """published, skipped or failed"""
    error: str | None
    checks: dict[str, Any]
    profile: ProfileRecord | None
    """What the new publish holds (published builds only)."""


class HealthMonitor:
    """Turns builds and the passing of time into incidents and alerts. Everything it raises is only
    written to the registry; the deliverer sends it later."""

    def __init__(
        self,
        registry: Registry,
        sla_of: Callable[[str], Sla | None],
        audience_of: Callable[[str], Audience],
        config: Callable[[], AlertsConfig],
        deliverer: Deliverer | None = None,
    ) -> None:
        self.registry, self._sla_of, self._audience_of = registry, sla_of, audience_of
        self._config, self._deliverer = config, deliverer

    def after_build(self, outcome: BuildOutcome, now: datetime | None = None) -> list[Alert]:
        """Record what a build published, judge it, and raise the alerts it calls for."""
        now = now or datetime.now(UTC)
        pid = outcome.product_id
        if outcome.profile is not None:
            self.registry.record_profile(outcome.profile)
        kinds, findings = build_findings(pid, outcome.status, outcome.error, outcome.checks)
        rows = outcome.profile.rows if outcome.profile else None
        alerts = build_alerts(pid, outcome.version, outcome.status, outcome.error, rows, now)
        if outcome.status == "published" and outcome.profile is not None:
            profiles = self.registry.profiles(pid, limit=200)
            anomalies = profile_anomalies(profiles) if profiles[-1].run_id == outcome.run_id else []
            changes = schema_changes(profiles[-2:])
            kinds.append("anomaly")
            findings += anomaly_findings(anomalies)
            alerts += change_alerts(pid, changes[0] if changes else None, anomalies, now)
        kinds.append("freshness")
        findings += self._freshness(pid, now)
        resolution = f"build {outcome.run_id} {outcome.status}"
        changed = self.registry.reconcile_incidents(pid, kinds, findings, resolution, now)
        alerts += incident_alerts(pid, changed, now)
        self.raise_alerts(alerts)
        return alerts

    def check(self, product_id: str, now: datetime | None = None) -> IncidentChanges:
        """Judge a product's freshness now: open, keep or close its freshness incident."""
        now = now or datetime.now(UTC)
        findings = self._freshness(product_id, now)
        changed = self.registry.reconcile_incidents(
            product_id, ["freshness"], findings, "the data is within its freshness SLA again", now
        )
        self.raise_alerts(incident_alerts(product_id, changed, now))
        return changed

    def _freshness(self, product_id: str, now: datetime) -> list[Finding]:
        current = self.registry.current_publish(product_id)
        if current is None:
            return []
        source = str(current.inputs.get("rollback_of") or current.run_id)
        profile = next((p for p in self.registry.profiles(product_id, 50) if p.run_id == source), None)
        found = freshness_finding(freshness(self._sla_of(product_id), current, profile, now))
        return [found] if found else []

    def raise_alerts(self, alerts: list[Alert]) -> int:
        """Put each alert in the outbox of the sinks that want it; returns how many deliveries."""
        if not alerts:
            return 0
        config = self._config()
        if not config.routes:
            return 0
        queued = 0
        audiences: dict[str, Audience] = {}
        for alert in alerts:
            audience = None
            if alert.product_id:
                audience = audiences.get(alert.product_id) or self._audience_of(alert.product_id)
                audiences[alert.product_id] = audience
            sinks = config.sinks_for(alert, audience)
            if sinks:
                queued += len(self.registry.enqueue_alert(alert.to_dict(), sinks))
        if queued and self._deliverer is not None:
            self._deliverer.kick()
        return queued
