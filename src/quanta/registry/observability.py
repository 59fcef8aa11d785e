"""Registry tables and queries for incidents (opened on SLO breach or contract failure, closed on
recovery) and the alert outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from quanta.registry.models import Base  # noqa: F401  (tables of this module subclass Base)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class IncidentRecord:
    """An incident on a product: open until the product recovers."""

    id: int
    product_id: str
    kind: str
    """freshness, contract, anomaly, build, schema"""
    severity: str
    title: str
    status: str
    """open or closed"""
    opened_at: datetime
    closed_at: datetime | None
    details: dict[str, Any]


class ObservabilityStore:
    """Mixin of :class:`Registry`: incidents and the alert outbox."""

    session: Callable[[], AbstractContextManager[Session]]

    def incidents(
        self, product_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[IncidentRecord]:
        """Incidents, newest first, optionally of one product and/or one status."""
        return []  # placeholder until the incidents table lands (issue 7, migration 0006)

    def open_incidents(self, product_id: str) -> list[IncidentRecord]:
        """The product's open incidents."""
        return self.incidents(product_id, status="open")
