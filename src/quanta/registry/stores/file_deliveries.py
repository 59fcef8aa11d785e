"""Registry tables and queries for file deliveries: a subscriber's standing order to have every new
version of a product written into a folder (Parquet or CSV, whole or as changes). Each version to
deliver is a row of the alert outbox (kind ``file``), so it is claimed, retried with backoff and
recorded exactly as alerts are."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from quanta.errors import NotFoundError
from quanta.registry.models import Base, utcnow
from quanta.registry.stores.observations import FILE_DELIVERY, AlertDelivery, DeliveryRecord, _delivery

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


class DeliverySubscription(Base):
    """A principal's order to receive each new version of a product as files in a folder."""

    __tablename__ = "delivery_subscriptions"
    __table_args__ = (UniqueConstraint("principal", "product_id", "folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(200), index=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    folder: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20))
    delivered_version: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class DeliverySubscriptionRecord:
    """Where and how a subscriber receives a product's versions, and the last one delivered."""

    id: int
    principal: str
    product_id: str
    folder: str
    format: str
    """parquet or csv"""
    mode: str
    """full (every row of each version) or changes (the rows changed since the last delivery)"""
    delivered_version: str | None
    created_at: datetime


def _subscription(row: DeliverySubscription) -> DeliverySubscriptionRecord:
    return DeliverySubscriptionRecord(
        row.id, row.principal, row.product_id, row.folder, row.format, row.mode,
        row.delivered_version, row.created_at,
    )  # fmt: skip


class FileDeliveryStore:
    """Mixin of :class:`Registry`: delivery subscriptions and their outbox entries."""

    session: Callable[[], AbstractContextManager[Session]]

    def add_delivery(
        self, principal: str, product_id: str, folder: str, format: str, mode: str
    ) -> DeliverySubscriptionRecord:
        """Order deliveries of a product into a folder (the same folder again: its format and mode
        are updated)."""
        with self.session() as s:
            row = s.scalar(
                select(DeliverySubscription).where(
                    DeliverySubscription.principal == principal,
                    DeliverySubscription.product_id == product_id,
                    DeliverySubscription.folder == folder,
                )
            )
            if row is None:
                row = DeliverySubscription(principal=principal, product_id=product_id, folder=folder)
                s.add(row)
            row.format, row.mode = format, mode
            s.flush()
            return _subscription(row)

    def delivery_subscriptions(
        self, *, product_id: str | None = None, principal: str | None = None
    ) -> list[DeliverySubscriptionRecord]:
        query = select(DeliverySubscription).order_by(DeliverySubscription.id)
        if product_id is not None:
            query = query.where(DeliverySubscription.product_id == product_id)
        if principal is not None:
            query = query.where(DeliverySubscription.principal == principal)
        with self.session() as s:
            return [_subscription(r) for r in s.scalars(query)]

    def delivery_subscription(self, subscription_id: int) -> DeliverySubscriptionRecord:
        with self.session() as s:
            row = s.get(DeliverySubscription, subscription_id)
            if row is None:
                raise NotFoundError(f"no delivery subscription {subscription_id}", hint="see quanta deliver")
            return _subscription(row)

    def delivered(self, subscription_id: int, version: str) -> None:
        """Record the version last delivered (a ``changes`` delivery starts from it next time)."""
        with self.session() as s:
            row = s.get(DeliverySubscription, subscription_id)
            if row is not None:
                row.delivered_version = version

    def remove_delivery(self, subscription_id: int) -> None:
        """Stop a subscription's deliveries: the subscription goes, with the versions still waiting in
        the outbox (one being written now finishes; what was delivered stays in the folder)."""
        with self.session() as s:
            row = s.get(DeliverySubscription, subscription_id)
            if row is None:
                raise NotFoundError(f"no delivery subscription {subscription_id}", hint="see quanta deliver")
            waiting = [d.id for d in self._file_outbox(s, [row.product_id], ("pending",))
                       if d.payload.get("subscription") == subscription_id]  # fmt: skip
            if waiting:
                s.execute(delete(AlertDelivery).where(AlertDelivery.id.in_(waiting)))
            s.delete(row)

    def latest_file_deliveries(
        self, subscriptions: list[DeliverySubscriptionRecord]
    ) -> dict[int, DeliveryRecord]:
        """The newest outbox entry of each subscription (by id): its version, status and last error."""
        found: dict[int, DeliveryRecord] = {}
        with self.session() as s:
            for row in self._file_outbox(s, sorted({x.product_id for x in subscriptions})):
                subscription = row.payload.get("subscription")
                if isinstance(subscription, int) and subscription not in found:
                    found[subscription] = _delivery(row)
        wanted = {x.id for x in subscriptions}
        return {k: v for k, v in found.items() if k in wanted}

    @staticmethod
    def _file_outbox(
        s: Session, product_ids: list[str], statuses: tuple[str, ...] | None = None, limit: int = 5000
    ) -> list[AlertDelivery]:
        """File deliveries of these products in the outbox, newest first."""
        query = select(AlertDelivery).where(
            AlertDelivery.kind == FILE_DELIVERY, AlertDelivery.product_id.in_(product_ids)
        )
        if statuses is not None:
            query = query.where(AlertDelivery.status.in_(statuses))
        return list(s.scalars(query.order_by(AlertDelivery.id.desc()).limit(limit)))

    def enqueue_file_delivery(self, subscription: DeliverySubscriptionRecord, version: str) -> int:
        """Put one version's delivery in the outbox (sent by ``quanta deliver`` or the server); a
        version already waiting for this subscription is not queued twice."""
        now = utcnow()
        payload = {"subscription": subscription.id, "version": version}
        with self.session() as s:
            for waiting in self._file_outbox(s, [subscription.product_id], ("pending", "sending")):
                if waiting.payload == payload:
                    return waiting.id
            row = AlertDelivery(
                alert_id=str(uuid.uuid4()),
                kind=FILE_DELIVERY,
                product_id=subscription.product_id,
                severity="info",
                sink=f"{subscription.format}:{subscription.folder}"[:100],
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            s.add(row)
            s.flush()
            return row.id
