"""Registry tables and queries for column lineage edges between products."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.registry.models import Base  # noqa: F401  (tables of this module subclass Base)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


class LineageStore:
    """Mixin of :class:`Registry`: column lineage edges between products."""

    session: Callable[[], AbstractContextManager[Session]]
