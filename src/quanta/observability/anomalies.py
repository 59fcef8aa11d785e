"""Volume and null-rate anomalies over a product's publish history, with robust statistics.

A new value is compared with the median of recent publishes, in units of the median absolute
deviation (the modified z-score of Iglewicz and Hoaglin: ``0.6745 * (x - median) / MAD``, an anomaly
beyond 3.5). One outlier in the history barely moves either, unlike a mean and a standard deviation.
Once the history holds at least three cycles of a repeating pattern (a weekly dip, an hourly peak,
found by autocorrelation), the value is compared with the same phase of that cycle instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean, median
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.registry.stores.observations import ProfileRecord

MAD_TO_SIGMA = 0.6745
"""The MAD of a normal distribution is 0.6745 standard deviations."""


@dataclass(frozen=True)
class Anomaly:
    """A value far from what the history predicts."""

    metric: str
    """``rows``, or ``null_rate:<column>``"""
    value: float
    expected: float
    score: float
    """The modified z-score: positive above the expected value, negative below."""
    history: int
    """How many earlier publishes the expectation came from."""
    season: int | None = None
    """The cycle length (in publishes) the value was compared within; None: no seasonality found."""

    @property
    def direction(self) -> str:
        return "spike" if self.score > 0 else "drop"

    @property
    def severity(self) -> str:
        return "critical" if abs(self.score) >= 10 else "warning"

    def describe(self) -> str:
        what = "row count" if self.metric == "rows" else f"null rate of {self.metric.partition(':')[2]}"
        season = f", same phase of a {self.season}-publish cycle" if self.season else ""
        return (
            f"{what} {self.direction}: {_format(self.metric, self.value)} where "
            f"{_format(self.metric, self.expected)} was expected "
            f"(score {self.score:+.1f} over {self.history} publishes{season})"
        )


@dataclass(frozen=True)
class Detector:
    """How far is too far, and how much history it takes to say so."""

    threshold: float = 3.5
    min_history: int = 8
    """Fewer earlier publishes than this: no verdict at all."""
    window: int = 30
    """Publishes a non-seasonal expectation looks back on."""
    min_cycles: int = 3
    """A season counts once the history holds this many full cycles of it."""
    floor: float = 0.0
    relative_floor: float = 0.0
    """The spread is taken as at least ``floor`` and ``relative_floor`` x the expected value: a
    history that never varied does not make every tiny change an anomaly."""

    def check(self, metric: str, history: Sequence[float], value: float) -> Anomaly | None:
        """The anomaly ``value`` is after ``history`` (oldest first), or None."""
        if len(history) < self.min_history:
            return None
        season = detect_season(history, self.min_cycles)
        if season:
            expected, spread = _seasonal_baseline(history, season)
        else:
            recent = list(history[-self.window :])
            expected = median(recent)
            spread = median(abs(v - expected) for v in recent)
        spread = max(spread, self.floor, self.relative_floor * abs(expected))
        if spread == 0:  # a flat history and no floor: any change at all stands out
            score = 0.0 if value == expected else math.copysign(math.inf, value - expected)
        else:
            score = MAD_TO_SIGMA * (value - expected) / spread
        if abs(score) <= self.threshold:
            return None
        return Anomaly(metric, value, expected, score, len(history), season)


def detect_season(values: Sequence[float], min_cycles: int = 3, strength: float = 0.5) -> int | None:
    """The cycle length (2 or more values) with the strongest autocorrelation, if it is a local peak
    of at least ``strength`` and the values hold ``min_cycles`` full cycles; else None."""
    n = len(values)
    longest = n // min_cycles
    if longest < 2:
        return None
    mean = fmean(values)
    deviations = [v - mean for v in values]
    variance = sum(d * d for d in deviations)
    if variance == 0:
        return None
    acf = [
        sum(deviations[i] * deviations[i + lag] for i in range(n - lag)) / variance
        for lag in range(longest + 2)
        if lag < n
    ]
    peaks = [
        lag
        for lag in range(2, longest + 1)
        if acf[lag] >= strength
        and acf[lag] >= acf[lag - 1]
        and (lag + 1 >= len(acf) or acf[lag] >= acf[lag + 1])
    ]
    return max(peaks, key=lambda lag: acf[lag]) if peaks else None


def _seasonal_baseline(history: Sequence[float], season: int) -> tuple[float, float]:
    """The median of the same phase as the next value, and the MAD of every value from its own
    phase's median (all phases share one spread: a few values per phase are too few for their own)."""
    n = len(history)
    phases = [[history[i] for i in range(p, n, season)] for p in range(season)]
    medians = [median(values) for values in phases]
    residuals = [history[i] - medians[i % season] for i in range(n)]
    centre = median(residuals)
    return medians[n % season], median(abs(r - centre) for r in residuals)


VOLUME = Detector(floor=1.0, relative_floor=0.02)
"""Row counts: a spread of at least 1 row and 2 % of the expected count."""
NULL_RATE = Detector(floor=0.01, relative_floor=0.1)
"""Null rates (0..1): a spread of at least one percentage point and a tenth of the expected rate."""


def profile_anomalies(profiles: Sequence[ProfileRecord]) -> list[Anomaly]:
    """Anomalies of the last publish in ``profiles`` (oldest first) against the ones before it."""
    if len(profiles) < 2:
        return []
    *history, last = profiles
    found = [VOLUME.check("rows", [float(p.rows) for p in history], float(last.rows))]
    for column in sorted(last.nulls):
        rates = [_null_rate(p, column) for p in history]
        known = [r for r in rates if r is not None]
        now = _null_rate(last, column)
        if now is not None:
            found.append(NULL_RATE.check(f"null_rate:{column}", known, now))
    return [a for a in found if a is not None]


def history_anomalies(
    profiles: Sequence[ProfileRecord], last: int = 30
) -> list[tuple[ProfileRecord, Anomaly]]:
    """Every anomaly of the last ``last`` publishes, each judged against the publishes before it."""
    found = []
    for end in range(max(2, len(profiles) - last + 1), len(profiles) + 1):
        found += [(profiles[end - 1], a) for a in profile_anomalies(profiles[:end])]
    return found


def _null_rate(profile: ProfileRecord, column: str) -> float | None:
    nulls = profile.nulls.get(column)
    return nulls / profile.rows if nulls is not None and profile.rows else None


def _format(metric: str, value: float) -> str:
    return f"{value:,.0f}" if metric == "rows" else f"{value:.1%}"
