"""Registry tables and queries for incidents (opened on SLO breach or contract failure, closed on
recovery), publish profiles (size, null counts, columns, newest data of each publish) and the alert
outbox (one row per alert and sink, sent later with retries)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import BigInteger, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from quanta.errors import NotFoundError, RegistryError
from quanta.registry.models import Base, Subscription, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

FILE_DELIVERY = "file"
"""The outbox kind of a file delivery (stores/file_deliveries.py): sent by its own deliverer."""
SEVERITIES = ("info", "warning", "critical")
"""Incident and alert severities, lowest first."""
_R = TypeVar("_R")


class Incident(Base):
    """A problem on a product, open until it recovers; at most one open per product, kind and key."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # "product|kind|key" while open, NULL once closed: the database itself refuses a second open
    # incident for the same problem, even from two processes at once.
    open_key: Mapped[str | None] = mapped_column(String(460), unique=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PublishProfile(Base):
    """What one publish held: rows, bytes, columns and their null counts, and its newest data."""

    __tablename__ = "publish_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime]
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    newest_at: Mapped[datetime | None]
    columns: Mapped[dict[str, Any]] = mapped_column(default=dict)
    nulls: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AlertDelivery(Base):
    """One alert for one sink: written where the alert is raised (the outbox), sent later."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    alert_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    product_id: Mapped[str | None] = mapped_column(String(200), index=True)
    severity: Mapped[str] = mapped_column(String(20))
    sink: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


@dataclass(frozen=True)
class IncidentRecord:
    """An incident on a product: open until the product recovers."""

    id: int
    product_id: str
    kind: str
    """freshness, contract, anomaly, build"""
    severity: str
    title: str
    status: str
    """open or closed"""
    opened_at: datetime
    closed_at: datetime | None
    details: dict[str, Any]
    key: str = ""
    """What is wrong within the kind (a column, an SLA, ...): one open incident per product+kind+key."""
    updated_at: datetime | None = None
    occurrences: int = 1


@dataclass(frozen=True)
class Finding:
    """A problem seen by one health evaluation; it opens an incident or keeps one open."""

    kind: str
    key: str
    severity: str
    title: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentChanges:
    """What one evaluation did to a product's incidents."""

    opened: list[IncidentRecord]
    updated: list[IncidentRecord]
    closed: list[IncidentRecord]


@dataclass(frozen=True)
class ProfileRecord:
    product_id: str
    run_id: str
    version: str
    published_at: datetime
    rows: int
    bytes: int | None
    newest_at: datetime | None
    columns: dict[str, str]
    nulls: dict[str, int]


@dataclass(frozen=True)
class DeliveryRecord:
    """One alert's delivery to one sink: pending, sending, delivered or failed."""

    id: int
    created_at: datetime
    alert_id: str
    kind: str
    product_id: str | None
    severity: str
    sink: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


def _record(kind: type[_R], row: Base) -> _R:
    """The frozen record of an ORM row: same field names; JSON columns copied, so a record never
    shares state with a session."""
    values = {f.name: getattr(row, f.name) for f in fields(kind)}  # type: ignore[arg-type]
    return kind(**{k: dict(v) if isinstance(v, dict) else v for k, v in values.items()})


def _incident(row: Incident) -> IncidentRecord:
    return _record(IncidentRecord, row)


def _delivery(row: AlertDelivery) -> DeliveryRecord:
    return _record(DeliveryRecord, row)


class ObservabilityStore:
    """Mixin of :class:`Registry`: incidents, publish profiles and the alert outbox."""

    session: Callable[[], AbstractContextManager[Session]]

    # --- incidents ------------------------------------------------------------------------------

    def incidents(
        self,
        product_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
        *,
        kind: str | None = None,
    ) -> list[IncidentRecord]:
        """Incidents, newest first, optionally of one product, status and/or kind."""
        query = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
        for column, value in (
            (Incident.product_id, product_id),
            (Incident.status, status),
            (Incident.kind, kind),
        ):
            if value is not None:
                query = query.where(column == value)
        with self.session() as s:
            return [_incident(r) for r in s.scalars(query)]

    def open_incidents(self, product_id: str) -> list[IncidentRecord]:
        """The product's open incidents."""
        return self.incidents(product_id, status="open")

    def incident(self, incident_id: int) -> IncidentRecord:
        with self.session() as s:
            row = s.get(Incident, incident_id)
            if row is None:
                raise NotFoundError(f"no incident {incident_id}", hint="see quanta incidents")
            return _incident(row)

    def reconcile_incidents(
        self,
        product_id: str,
        kinds: Sequence[str],
        findings: Sequence[Finding],
        resolution: str,
        now: datetime | None = None,
    ) -> IncidentChanges:
        """Open an incident per new finding, update those still seen, and close the open incidents
        of ``kinds`` that the evaluation no longer sees (recovered, for ``resolution``)."""
        try:
            return self._reconcile(product_id, kinds, findings, resolution, now or utcnow())
        except RegistryError:
            # Another process opened the same incident a moment ago: now it is there to update.
            return self._reconcile(product_id, kinds, findings, resolution, now or utcnow())

    def _reconcile(
        self,
        product_id: str,
        kinds: Sequence[str],
        findings: Sequence[Finding],
        resolution: str,
        now: datetime,
    ) -> IncidentChanges:
        opened: list[Incident] = []
        updated: list[Incident] = []
        with self.session() as s:
            query = select(Incident).where(
                Incident.product_id == product_id, Incident.status == "open", Incident.kind.in_(kinds)
            )
            current = {(row.kind, row.key): row for row in s.scalars(query)}
            for finding in findings:
                row = current.pop((finding.kind, finding.key), None)
                if row is None:
                    row = Incident(
                        product_id=product_id,
                        kind=finding.kind,
                        key=finding.key,
                        status="open",
                        open_key=f"{product_id}|{finding.kind}|{finding.key}",
                        opened_at=now,
                        occurrences=1,
                        severity=finding.severity,
                        title=finding.title,
                        details=finding.details,
                        updated_at=now,
                    )
                    s.add(row)
                    opened.append(row)
                    continue
                row.severity, row.title, row.updated_at = finding.severity, finding.title, now
                row.details, row.occurrences = {**row.details, **finding.details}, row.occurrences + 1
                updated.append(row)
            for row in current.values():
                row.status, row.closed_at, row.open_key, row.updated_at = "closed", now, None, now
                row.details = {**row.details, "resolution": resolution}
            s.flush()
            return IncidentChanges(
                [_incident(r) for r in opened],
                [_incident(r) for r in updated],
                [_incident(r) for r in current.values()],
            )

    # --- publish profiles -----------------------------------------------------------------------

    def record_profile(self, profile: ProfileRecord) -> None:
        """Remember what a publish held (once per run)."""
        with self.session() as s:
            if s.scalar(select(PublishProfile.id).where(PublishProfile.run_id == profile.run_id)):
                return
            s.add(PublishProfile(**profile.__dict__))

    def profiles(self, product_id: str, limit: int = 400) -> list[ProfileRecord]:
        """The product's most recent publish profiles, oldest first."""
        query = (
            select(PublishProfile)
            .where(PublishProfile.product_id == product_id)
            .order_by(PublishProfile.published_at.desc(), PublishProfile.id.desc())
            .limit(limit)
        )
        with self.session() as s:
            return [_record(ProfileRecord, r) for r in reversed(list(s.scalars(query)))]

    def subscribers(self, product_id: str) -> list[str]:
        """Principals following the product."""
        with self.session() as s:
            query = select(Subscription.principal).where(Subscription.product_id == product_id)
            return sorted(s.scalars(query))

    # --- alert outbox ---------------------------------------------------------------------------

    def enqueue_alert(self, payload: dict[str, Any], sinks: Sequence[str]) -> list[int]:
        """One pending delivery of the alert ``payload`` per sink, in one transaction."""
        now = utcnow()
        with self.session() as s:
            rows = [
                AlertDelivery(
                    alert_id=payload["id"],
                    kind=payload["kind"],
                    product_id=payload.get("product_id"),
                    severity=payload["severity"],
                    sink=sink,
                    payload=payload,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                for sink in dict.fromkeys(sinks)
            ]
            s.add_all(rows)
            s.flush()
            return [r.id for r in rows]

    def claim_deliveries(
        self, now: datetime, lease: timedelta, limit: int = 20, *, files: bool = False
    ) -> list[DeliveryRecord]:
        """Due deliveries, each claimed by one deliverer for ``lease`` (a deliverer that dies lets its
        claims lapse, and another one sends them): alerts, or (``files``) file deliveries."""
        kind = AlertDelivery.kind == FILE_DELIVERY if files else AlertDelivery.kind != FILE_DELIVERY
        due = (
            AlertDelivery.status.in_(("pending", "sending")),
            AlertDelivery.next_attempt_at <= now,
            kind,
        )
        with self.session() as s:
            ids = list(
                s.scalars(
                    select(AlertDelivery.id).where(*due).order_by(AlertDelivery.next_attempt_at).limit(limit)
                )
            )
            claimed = []
            for delivery_id in ids:
                result = s.execute(
                    update(AlertDelivery)
                    .where(AlertDelivery.id == delivery_id, *due)
                    .values(status="sending", next_attempt_at=now + lease)
                )
                if getattr(result, "rowcount", 0) == 1:
                    claimed.append(delivery_id)
            rows = s.scalars(select(AlertDelivery).where(AlertDelivery.id.in_(claimed)))
            return sorted((_delivery(r) for r in rows), key=lambda d: d.id)

    def finish_delivery(
        self, delivery_id: int, error: str | None = None, retry_at: datetime | None = None
    ) -> DeliveryRecord:
        """Record an attempt: delivered (no error), pending again until ``retry_at``, or failed."""
        now = utcnow()
        with self.session() as s:
            row = s.get(AlertDelivery, delivery_id)
            if row is None:
                raise NotFoundError(f"no alert delivery {delivery_id}")
            row.attempts += 1
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", now, None
            else:
                row.last_error = error[:2000]
                row.status = "pending" if retry_at else "failed"
                row.next_attempt_at = retry_at or now
            return _delivery(row)

    def deliveries(
        self, status: str | None = None, sink: str | None = None, limit: int = 200
    ) -> list[DeliveryRecord]:
        """Alert deliveries, newest first."""
        query = select(AlertDelivery).order_by(AlertDelivery.id.desc()).limit(limit)
        if status:
            query = query.where(AlertDelivery.status == status)
        if sink:
            query = query.where(AlertDelivery.sink == sink)
        with self.session() as s:
            return [_delivery(r) for r in s.scalars(query)]

    def retry_failed_deliveries(self, sink: str | None = None) -> int:
        """Send failed deliveries again (after fixing a sink): they become pending, attempts reset."""
        query = update(AlertDelivery).where(AlertDelivery.status == "failed")
        if sink:
            query = query.where(AlertDelivery.sink == sink)
        with self.session() as s:
            result = s.execute(query.values(status="pending", attempts=0, next_attempt_at=utcnow()))
            return int(getattr(result, "rowcount", 0))
