"""Registry tables and queries for consumer feedback on products: ratings and comments.

One feedback per principal and product (a star rating, a comment, or both), which its author may
change; the product's owners and the stewards may delete it (moderation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from quanta.errors import NotFoundError
from quanta.registry.models import AuditEntry, Base, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session


class Feedback(Base):
    """A consumer's rating (1-5) and/or comment on a product; one per principal and product."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("principal", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    principal: Mapped[str] = mapped_column(String(200), index=True)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class FeedbackRecord:
    """One principal's feedback on a product, with whether they ever queried it."""

    id: int
    product_id: str
    principal: str
    rating: int | None
    comment: str | None
    created_at: datetime
    updated_at: datetime
    used_it: bool = False
    """The author ran at least one allowed query on the product (from the audit log)."""


@dataclass(frozen=True)
class RatingSummary:
    """The ratings of one product: how many, their average, and how many of each star."""

    product_id: str
    count: int
    average: float | None
    distribution: dict[int, int]
    comments: int


@dataclass(frozen=True)
class ProductFeedback:
    """A product's ratings and comments as one principal sees them, with what that principal may do."""

    product_id: str
    summary: RatingSummary
    entries: list[FeedbackRecord]
    mine: FeedbackRecord | None
    may_rate: bool
    why_not: str | None
    """Why the principal may not rate (None when they may)."""
    may_moderate: bool


class FeedbackStore:
    """Mixin of :class:`Registry`: consumer feedback on products."""

    session: Callable[[], AbstractContextManager[Session]]

    def put_feedback(
        self, product_id: str, principal: str, rating: int | None, comment: str | None
    ) -> tuple[FeedbackRecord, bool]:
        """Create or update ``principal``'s feedback (None leaves a field as it was); True when new."""
        with self.session() as s:
            row = s.scalar(
                select(Feedback).where(Feedback.principal == principal, Feedback.product_id == product_id)
            )
            created, now = row is None, utcnow()
            if row is None:
                row = Feedback(product_id=product_id, principal=principal, created_at=now)
                s.add(row)
            if rating is not None:
                row.rating = rating
            if comment is not None:
                row.comment = comment
            row.updated_at = now
            s.flush()
            return _record(row, _users(s, product_id, [principal])), created

    def feedback(self, product_id: str) -> list[FeedbackRecord]:
        """Every feedback on a product, newest first, each marked when its author queried the product."""
        with self.session() as s:
            rows = list(
                s.scalars(
                    select(Feedback)
                    .where(Feedback.product_id == product_id)
                    .order_by(Feedback.updated_at.desc(), Feedback.id.desc())
                )
            )
            users = _users(s, product_id, [r.principal for r in rows])
            return [_record(r, users) for r in rows]

    def feedback_by_id(self, product_id: str, feedback_id: int) -> FeedbackRecord:
        with self.session() as s:
            row = s.get(Feedback, feedback_id)
            if row is None or row.product_id != product_id:
                raise NotFoundError(
                    f"no feedback {feedback_id} on {product_id}", hint=f"quanta feedback {product_id}"
                )
            return _record(row, _users(s, product_id, [row.principal]))

    def delete_feedback(self, feedback_id: int) -> None:
        with self.session() as s:
            row = s.get(Feedback, feedback_id)
            if row is not None:
                s.delete(row)

    def rating_summaries(self, product_ids: list[str] | None = None) -> list[RatingSummary]:
        """Per product: count and average of ratings, stars distribution and number of comments
        (aggregated in the database)."""
        query = select(
            Feedback.product_id, Feedback.rating, func.count(), func.count(Feedback.comment)
        ).group_by(Feedback.product_id, Feedback.rating)
        if product_ids is not None:
            query = query.where(Feedback.product_id.in_(product_ids))
        found: dict[str, tuple[dict[int, int], int]] = {}
        with self.session() as s:
            for product_id, rating, count, comments in s.execute(query):
                stars, said = found.setdefault(product_id, ({n: 0 for n in range(1, 6)}, 0))
                if rating is not None:
                    stars[int(rating)] = int(count)
                found[product_id] = (stars, said + int(comments))
        summaries = []
        for product_id, (stars, comments) in sorted(found.items()):
            total = sum(stars.values())
            average = sum(n * c for n, c in stars.items()) / total if total else None
            summaries.append(RatingSummary(product_id, total, average, stars, comments))
        return summaries


def _users(s: Session, product_id: str, principals: list[str]) -> set[str]:
    """Which of ``principals`` ran an allowed query on the product (one indexed lookup)."""
    if not principals:
        return set()
    query = (
        select(AuditEntry.actor)
        .where(
            AuditEntry.kind == "query",
            # Queries are audited in their product's domain: the domain index narrows the scan.
            AuditEntry.domain == product_id.partition(".")[0],
            AuditEntry.decision == "allow",
            AuditEntry.subject == product_id,
            AuditEntry.actor.in_(principals),
        )
        .distinct()
    )
    return set(s.scalars(query))


def _record(row: Feedback, users: set[str]) -> FeedbackRecord:
    return FeedbackRecord(
        row.id,
        row.product_id,
        row.principal,
        row.rating,
        row.comment,
        row.created_at,
        row.updated_at,
        row.principal in users,
    )
