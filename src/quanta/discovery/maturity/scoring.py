"""DATSIS maturity: how far consumers can trust a product, as six scores from 0 to 100 (Discoverable,
Addressable, Trustworthy, Self-describing, Interoperable, Secure) and a level (basic, bronze, silver,
gold) that policies can gate on.

Each dimension is a weighted set of criteria; a criterion is a function of the :class:`Facts` (the
metadata and what the platform observed) registered with :func:`criterion`, returning how much of it is
met, the evidence, and how to meet the rest. The criteria live in ``maturity/<dimension>.py``; docs/
maturity.md lists them with their weights.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime  # a field type at run time: the API builds its response model from it
from typing import TYPE_CHECKING, Any

from quanta.discovery.maturity.facts import Facts

if TYPE_CHECKING:
    from quanta.registry.stores.maturity_scores import MaturityRecord

DIMENSIONS = ("discoverable", "addressable", "trustworthy", "self-describing", "interoperable", "secure")


@dataclass(frozen=True)
class Verdict:
    """What one criterion found: the share of it that is met (0..1), the evidence, how to meet it."""

    earned: float
    evidence: str
    hint: str | None = None
    applicable: bool = True
    """False: the criterion does not apply to this product and leaves the dimension's weights."""

    @classmethod
    def share(cls, have: int, total: int, evidence: str, hint: str | None, target: float = 1.0) -> Verdict:
        """Met in proportion to ``have / total``, fully from ``target`` (a share) on."""
        earned = 1.0 if total == 0 else min(1.0, have / total / target)
        return cls(earned, evidence, None if earned >= 1.0 else hint)


Judge = Callable[[Facts], Verdict]


@dataclass(frozen=True)
class Criterion:
    """A registered criterion: its dimension, what it asks, its weight in the dimension."""

    id: str
    dimension: str
    title: str
    weight: int
    judge: Judge


CRITERIA: dict[str, Criterion] = {}


def criterion(dimension: str, name: str, title: str, weight: int) -> Callable[[Judge], Judge]:
    """Register a criterion of ``dimension`` (its id is ``<dimension>.<name>``)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown DATSIS dimension {dimension!r}")

    def register(judge: Judge) -> Judge:
        key = f"{dimension}.{name}"
        CRITERIA[key] = Criterion(key, dimension, title, weight, judge)
        return judge

    return register


@dataclass(frozen=True)
class CriterionResult:
    """One criterion judged for one product: met or not, with evidence and how to meet it."""

    id: str
    dimension: str
    title: str
    weight: int
    met: bool
    earned: float
    evidence: str
    hint: str | None
    applicable: bool

    @property
    def missing(self) -> float:
        """Points of the dimension this criterion leaves on the table."""
        return self.weight * (1.0 - self.earned) if self.applicable else 0.0


@dataclass(frozen=True)
class DimensionScore:
    name: str
    score: int
    criteria: list[CriterionResult]

    @property
    def title(self) -> str:
        return self.name.capitalize()


@dataclass(frozen=True)
class Level:
    """A maturity level: reached with an overall score of at least ``score`` and every dimension at
    least ``floor``."""

    rank: int
    name: str
    score: int
    floor: int


LEVELS = (
    Level(0, "basic", 0, 0),
    Level(1, "bronze", 50, 0),
    Level(2, "silver", 70, 50),
    Level(3, "gold", 90, 75),
)


@dataclass(frozen=True)
class Maturity:
    """A product version's DATSIS score, every criterion explained."""

    product_id: str
    version: str
    score: int
    level: str
    rank: int
    dimensions: list[DimensionScore]
    next_level: str | None
    """What the next level needs, in words (None at the top)."""
    computed_at: datetime

    @property
    def criteria(self) -> list[CriterionResult]:
        return [c for d in self.dimensions for c in d.criteria]

    @property
    def fingerprint(self) -> str:
        """Changes when the version, a dimension score or a criterion's met state changes."""
        body = [self.version, {d.name: d.score for d in self.dimensions}, sorted(self._met(True))]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()

    def _met(self, met: bool) -> list[str]:
        return [c.id for c in self.criteria if c.applicable and c.met == met]

    def policy_input(self) -> dict[str, Any]:
        """``input.maturity`` of the publish policies."""
        return {
            "level": self.rank,
            "name": self.level,
            "score": self.score,
            "dimensions": {d.name: d.score for d in self.dimensions},
            "unmet": self._met(False),
        }

    def record(self, trigger: str) -> MaturityRecord:
        """The score as the registry keeps it."""
        from quanta.registry.stores.maturity_scores import MaturityRecord

        dimensions = {d.name: d.score for d in self.dimensions}
        met, unmet = self._met(True), self._met(False)
        return MaturityRecord(
            self.product_id, self.version, self.computed_at, self.score, self.level, dimensions, met, unmet,
            trigger, self.fingerprint,
        )  # fmt: skip


def score(facts: Facts) -> Maturity:
    """Judge every criterion, then each dimension, the overall score and the level."""
    _load_criteria()
    results: dict[str, list[CriterionResult]] = {name: [] for name in DIMENSIONS}
    for rule in CRITERIA.values():
        verdict = rule.judge(facts)
        earned = max(0.0, min(1.0, verdict.earned))
        met = earned >= 0.999
        results[rule.dimension].append(
            CriterionResult(
                rule.id,
                rule.dimension,
                rule.title,
                rule.weight,
                met,
                round(earned, 3),
                verdict.evidence,
                None if met else verdict.hint,
                verdict.applicable,
            )
        )
    dimensions = [DimensionScore(name, _dimension_score(found), found) for name, found in results.items()]
    overall = round(sum(d.score for d in dimensions) / len(dimensions))
    floor = min(d.score for d in dimensions)
    level = max((lv for lv in LEVELS if overall >= lv.score and floor >= lv.floor), key=lambda lv: lv.rank)
    return Maturity(
        facts.product.id,
        facts.product.version or "0.0.0",
        overall,
        level.name,
        level.rank,
        dimensions,
        _next_level(level, overall, dimensions),
        facts.observed.now,
    )


def _dimension_score(results: list[CriterionResult]) -> int:
    weights = sum(r.weight for r in results if r.applicable)
    if not weights:
        return 100
    return round(100 * sum(r.weight * r.earned for r in results if r.applicable) / weights)


def _next_level(level: Level, overall: int, dimensions: list[DimensionScore]) -> str | None:
    if level.rank + 1 >= len(LEVELS):
        return None
    target = LEVELS[level.rank + 1]
    needs = []
    if overall < target.score:
        needs.append(f"an overall score of {target.score} (now {overall})")
    low = [f"{d.name} {d.score}" for d in dimensions if d.score < target.floor]
    if low:
        needs.append(f"every dimension at least {target.floor} (now {', '.join(low)})")
    return f"{target.name} needs " + " and ".join(needs)


def _load_criteria() -> None:
    """Import the criteria modules once: importing registers their criteria."""
    from quanta.discovery.maturity import (  # noqa: F401
        addressable,
        discoverable,
        interoperable,
        secure,
        self_describing,
        trustworthy,
    )
