"""Check tallies: how many contract checks of each verdict and severity every build run had.

Written by the metrics build observer when a build ends, so the Prometheus collector and the KPIs
count check failures with one ``GROUP BY`` instead of reading every run's JSON check list.
"""

from __future__ import annotations

from collections import Counter
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

FAILED = ("failed", "error")
"""Verdicts that count as a check failure."""


class CheckTally(Base):
    """The number of checks of one verdict and severity in one build run."""

    __tablename__ = "check_tallies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    verdict: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class CheckFailures:
    """Failed (or errored) checks of one product and severity, over all its builds."""

    product_id: str
    severity: str
    count: int


def tally(checks: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(verdict, severity) ► number of checks, from a run's check dictionaries."""
    return Counter((str(c.get("verdict") or "error"), str(c.get("severity") or "error")) for c in checks)


class CheckTallyStore:
    """Mixin of :class:`Registry`: check tallies of build runs."""

    session: Callable[[], AbstractContextManager[Session]]

    def record_check_tallies(self, run_id: str, product_id: str, checks: list[dict[str, Any]]) -> None:
        """Remember how many checks of each verdict and severity ``run_id`` had (once per run)."""
        counts = tally(checks)
        if not counts:
            return
        with self.session() as s:
            if s.scalar(select(CheckTally.id).where(CheckTally.run_id == run_id).limit(1)) is not None:
                return  # already told (an observer may hear of a run twice)
            for (verdict, severity), count in sorted(counts.items()):
                s.add(
                    CheckTally(
                        run_id=run_id,
                        product_id=product_id,
                        verdict=verdict[:20],
                        severity=severity[:20],
                        count=count,
                    )
                )

    def check_failures(self, since: datetime | None = None) -> list[CheckFailures]:
        """Failed and errored checks per product and severity, summed in the database."""
        query = (
            select(CheckTally.product_id, CheckTally.severity, func.sum(CheckTally.count))
            .where(CheckTally.verdict.in_(FAILED))
            .group_by(CheckTally.product_id, CheckTally.severity)
            .order_by(CheckTally.product_id, CheckTally.severity)
        )
        if since is not None:
            query = query.where(CheckTally.at >= since)
        with self.session() as s:
            return [CheckFailures(p, sev, int(n or 0)) for p, sev, n in s.execute(query)]
