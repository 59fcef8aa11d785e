"""What counts as an incident, and the alerts incidents and builds raise.

Kinds: ``build`` (the build itself failed), ``contract`` (the data failed its contract or a publish
policy and was quarantined), ``freshness`` (the data is older than the SLA allows) and ``anomaly``
(a volume or null-rate anomaly). Each evaluation speaks for some kinds: what it finds keeps or opens
an incident, and an open incident of those kinds it no longer finds is closed (recovered).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from quanta.observability.alerts.base import Alert
from quanta.observability.health import in_words
from quanta.registry.stores.observations import Finding, IncidentChanges, IncidentRecord

if TYPE_CHECKING:
    from quanta.observability.anomalies import Anomaly
    from quanta.observability.health import Freshness, SchemaChange

BUILD_KINDS = ("build", "contract")
"""What a build's outcome speaks for (a published or unchanged build recovers both)."""


def build_findings(
    product_id: str, status: str, error: str | None, checks: dict[str, Any]
) -> tuple[list[str], list[Finding]]:
    """The incident kinds a build outcome speaks for, and what it found wrong."""
    error = (error or "unknown error").removeprefix(f"{product_id}: ")
    if status in ("published", "skipped"):
        return list(BUILD_KINDS), []
    if status != "failed":
        return [], []
    failed = [_check(c) for c in checks.get("checks") or [] if c.get("verdict") in ("failed", "error")]
    if failed:
        names = ", ".join(c["name"] for c in failed[:3]) + (
            f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        )
        title = f"data failed its contract ({names}); nothing was published"
        return list(BUILD_KINDS), [Finding("contract", "checks", "critical", title, {"failed": failed[:20]})]
    if checks.get("governance"):  # audited, then refused by a publish policy
        return list(BUILD_KINDS), [Finding("contract", "policy", "critical", error[:300], {"error": error})]
    return ["build"], [
        Finding("build", "build", "critical", f"build failed: {error[:300]}", {"error": error})
    ]


def freshness_finding(fresh: Freshness) -> Finding | None:
    """A breached freshness SLA (critical past twice the limit), or None."""
    if fresh.status != "breached" or fresh.sla is None or fresh.age_seconds is None:
        return None
    limit = fresh.sla.limit.total_seconds()
    severity = "critical" if fresh.age_seconds > 2 * limit else "warning"
    what = "newest data" if fresh.measured_from == "data" else "last publish"
    title = f"stale: {what} is {in_words(fresh.age_seconds)} old, the SLA allows {in_words(limit)}"
    details = {
        "sla": fresh.sla.text,
        "age_seconds": round(fresh.age_seconds),
        "limit_seconds": limit,
        "newest_at": fresh.newest_at.isoformat() if fresh.newest_at else None,
        "measured_from": fresh.measured_from,
    }
    return Finding("freshness", "sla", severity, title, details)


def anomaly_findings(anomalies: Sequence[Anomaly]) -> list[Finding]:
    return [
        Finding(
            "anomaly",
            a.metric,
            a.severity,
            a.describe(),
            {"value": a.value, "expected": a.expected, "score": round(a.score, 2), "season": a.season},
        )
        for a in anomalies
    ]


def incident_alerts(product_id: str, changes: IncidentChanges, now: datetime) -> list[Alert]:
    """One alert per incident opened and per incident closed (updates are shown, not sent)."""
    alerts = []
    for i in changes.opened:
        message = f"Incident #{i.id} opened on {product_id} ({i.kind}): {i.title}"
        title = f"{product_id}: {i.title}"
        alerts.append(alert("incident.opened", product_id, i.severity, title, message, now, incident=_ref(i)))
    for i in changes.closed:
        lasted = in_words(((i.closed_at or now) - i.opened_at).total_seconds())
        resolution = i.details.get("resolution") or "recovered"
        message = f"Incident #{i.id} on {product_id} closed after {lasted}: {resolution}"
        title = f"{product_id} recovered: {i.title}"
        alerts.append(alert("incident.closed", product_id, i.severity, title, message, now, incident=_ref(i)))
    return alerts


def build_alerts(
    product_id: str, version: str, status: str, error: str | None, rows: int | None, now: datetime
) -> list[Alert]:
    """``build.failed`` for a failed build, ``publish`` for a published one."""
    what = f"{product_id} {version}"
    if status == "failed":
        return [alert("build.failed", product_id, "critical", f"{what}: build failed", error or "", now)]
    if status == "published":
        shown = f"{rows:,} rows" if rows is not None else "new data"
        return [alert("publish", product_id, "info", f"{what} published", f"{what} published {shown}", now)]
    return []


def change_alerts(
    product_id: str, change: SchemaChange | None, anomalies: Sequence[Anomaly], now: datetime
) -> list[Alert]:
    """``breaking_change`` for a breaking schema change, ``anomaly`` for each anomaly seen."""
    found = []
    for a in anomalies:
        details = {"metric": a.metric, "value": a.value, "expected": a.expected, "score": round(a.score, 2)}
        title = f"{product_id}: {a.describe().split(':')[0]}"
        found.append(alert("anomaly", product_id, a.severity, title, a.describe(), now, details=details))
    if change is not None and change.breaking:
        title = f"{product_id} {change.to_version}: breaking schema change"
        message = f"{product_id} {change.from_version} ► {change.to_version}: {change.describe()}"
        details = {"removed": change.removed, "retyped": change.retyped, "added": change.added}
        found.append(alert("breaking_change", product_id, "warning", title, message, now, details=details))
    return found


def alert(
    kind: str,
    product_id: str | None,
    severity: str,
    title: str,
    message: str,
    now: datetime,
    *,
    incident: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> Alert:
    """A new alert (with its own id)."""
    return Alert(str(uuid.uuid4()), kind, product_id, severity, title, message, now, incident, details or {})


def _ref(incident: IncidentRecord) -> dict[str, Any]:
    closed = incident.closed_at.isoformat() if incident.closed_at else None
    return {
        "id": incident.id,
        "kind": incident.kind,
        "key": incident.key,
        "status": incident.status,
        "opened_at": incident.opened_at.isoformat(),
        "closed_at": closed,
    }


def _check(check: dict[str, Any]) -> dict[str, Any]:
    """A failed check without its sample rows (an incident is seen by more people than the data)."""
    return {k: check.get(k) for k in ("name", "kind", "column", "measured", "threshold", "message")}
