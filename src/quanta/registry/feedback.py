"""Registry tables and queries for consumer feedback on products: ratings and comments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.registry.models import Base  # noqa: F401  (tables of this module subclass Base)

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


class FeedbackStore:
    """Mixin of :class:`Registry`: consumer feedback on products: ratings and comments."""

    session: Callable[[], AbstractContextManager[Session]]
