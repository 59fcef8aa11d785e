"""Registry tables and queries for DATSIS maturity scores and their history.

A score is stored only when it differs from the product's previous one (its fingerprint covers the
version, the dimension scores and which criteria are met), so the history stays small: one row per
change, whether it came from a publish or from someone looking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from quanta.registry.models import Base, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


class MaturityScore(Base):
    """One computed DATSIS score of a product version, kept when it changed."""

    __tablename__ = "maturity_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(20))
    dimensions: Mapped[dict[str, Any]]
    """dimension name ► score 0..100"""
    criteria: Mapped[dict[str, Any]]
    """``{"met": [criterion ids], "unmet": [criterion ids]}``"""
    fingerprint: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(20))
    """publish (a build published the product), build (a build failed) or demand (a page, the API,
    the CLI asked)"""


@dataclass(frozen=True)
class MaturityRecord:
    """A stored score: when, for which version, the overall score, level and dimension scores."""

    product_id: str
    version: str
    at: datetime
    score: int
    level: str
    dimensions: dict[str, int]
    met: list[str]
    unmet: list[str]
    trigger: str
    fingerprint: str


def _record(row: MaturityScore) -> MaturityRecord:
    return MaturityRecord(
        row.product_id,
        row.version,
        row.at,
        row.score,
        row.level,
        {str(k): int(v) for k, v in row.dimensions.items()},
        list(row.criteria.get("met") or []),
        list(row.criteria.get("unmet") or []),
        row.trigger,
        row.fingerprint,
    )


class MaturityStore:
    """Mixin of :class:`Registry`: DATSIS maturity scores and their history."""

    session: Callable[[], AbstractContextManager[Session]]

    def record_maturity(self, record: MaturityRecord) -> bool:
        """Store ``record`` unless the product's latest stored score has the same fingerprint; True
        when stored."""
        with self.session() as s:
            last = s.scalar(
                select(MaturityScore.fingerprint)
                .where(MaturityScore.product_id == record.product_id)
                .order_by(MaturityScore.id.desc())
                .limit(1)
            )
            if last == record.fingerprint:
                return False
            s.add(
                MaturityScore(
                    product_id=record.product_id,
                    version=record.version,
                    at=record.at,
                    score=record.score,
                    level=record.level,
                    dimensions=dict(record.dimensions),
                    criteria={"met": list(record.met), "unmet": list(record.unmet)},
                    fingerprint=record.fingerprint,
                    trigger=record.trigger,
                )
            )
            return True

    def maturity_history(self, product_id: str, limit: int = 100) -> list[MaturityRecord]:
        """The product's last ``limit`` stored scores, oldest first (the trend)."""
        query = (
            select(MaturityScore)
            .where(MaturityScore.product_id == product_id)
            .order_by(MaturityScore.id.desc())
            .limit(limit)
        )
        with self.session() as s:
            return [_record(row) for row in reversed(list(s.scalars(query)))]

    def latest_maturity(self, product_ids: list[str] | None = None) -> dict[str, MaturityRecord]:
        """The latest stored score of each product (of ``product_ids``, or of all)."""
        latest = select(func.max(MaturityScore.id)).group_by(MaturityScore.product_id)
        if product_ids is not None:
            latest = latest.where(MaturityScore.product_id.in_(product_ids))
        query = select(MaturityScore).where(MaturityScore.id.in_(latest.scalar_subquery()))
        with self.session() as s:
            return {row.product_id: _record(row) for row in s.scalars(query)}

    def maturity_levels(self) -> dict[str, str]:
        """Product id ► its latest maturity level name (bronze, silver ...), for the search facet."""
        latest = select(func.max(MaturityScore.id)).group_by(MaturityScore.product_id).scalar_subquery()
        query = select(MaturityScore.product_id, MaturityScore.level).where(MaturityScore.id.in_(latest))
        with self.session() as s:
            return {product_id: level for product_id, level in s.execute(query)}
