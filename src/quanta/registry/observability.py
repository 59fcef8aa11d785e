"""Registry tables and queries for incidents (opened on SLO breach or contract failure, closed on
recovery) and the alert outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.registry.models import Base  # noqa: F401  (tables of this module subclass Base)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


class ObservabilityStore:
    """Mixin of :class:`Registry`: incidents and the alert outbox."""

    session: Callable[[], AbstractContextManager[Session]]
