"""Registry tables and queries for DATSIS maturity scores and their history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.registry.models import Base  # noqa: F401  (tables of this module subclass Base)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


class MaturityStore:
    """Mixin of :class:`Registry`: DATSIS maturity scores and their history."""

    session: Callable[[], AbstractContextManager[Session]]
