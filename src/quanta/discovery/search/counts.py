"""Counting a query's matches with bounded work: exact totals and facets up to a window of the newest
matches, estimates (flagged as such) past it, from evenly spaced samples of the older products."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from itertools import chain

from quanta.discovery.search.documents import FACETS, Combo
from quanta.discovery.search.query_language import Query
from quanta.discovery.search.snapshot import Filters, Snapshot, Window

WINDOW = 1000  # matches counted per search: totals and facets are exact up to here, estimated beyond
GLANCE = 200  # newest matches counted first, to tell whether counting up to WINDOW can be exact
STRATA = 8  # samples of the older products an estimate extrapolates from
SAMPLED = 250  # matches those samples hold, about


def count(snap: Snapshot, query: Query, filters: Filters) -> Window:
    """Count the matches: all of them up to ``WINDOW``; past that, the newest and samples of the older.

    A first glance at the newest ``GLANCE`` matches, with samples, tells whether there are so many that
    counting up to ``WINDOW`` cannot make the total exact; only when there may be few enough is it done.
    """
    size = min(GLANCE, WINDOW)
    glance = snap.newest(query, filters, size + 1)
    if len(glance) <= size:
        return Window([combo for _, combo in glance])
    first = _extrapolated(snap, query, filters, glance[:size])
    if first.exact or first.total > 3 * WINDOW or size == WINDOW:
        return first
    newest = snap.newest(query, filters, WINDOW + 1)
    if len(newest) <= WINDOW:
        return Window([combo for _, combo in newest])
    return _extrapolated(snap, query, filters, newest[:WINDOW])


def _extrapolated(snap: Snapshot, query: Query, filters: Filters, newest: list[tuple[int, int]]) -> Window:
    """The newest matches counted, and ``STRATA`` evenly spaced samples of the older products, wide
    enough together to hold about ``SAMPLED`` matches if the older ones are as dense as the newest (a
    sample that holds far more is cut short, and stands for the products it covered)."""
    counted = [combo for _, combo in newest]
    bottom, top = snap.span()
    oldest = newest[-1][0]
    older, most = oldest - bottom, 4 * SAMPLED // STRATA
    width = max(1, int((top - oldest + 1) * SAMPLED / len(newest) / STRATA))
    if older <= width * STRATA:  # few older products: count them all, unless far too many match
        [rest] = snap.sample(query, filters, [(bottom, oldest - 1)], 4 * SAMPLED)
        if len(rest) < 4 * SAMPLED:
            return Window(counted + [combo for _, combo in rest])
    step = older / STRATA
    ranges = [
        (start, start + width - 1)
        for start in (bottom + int(step * i + (step - width) / 2) for i in range(STRATA))
    ]
    sampled, covered = [], 0
    for (_, high), found in zip(ranges, snap.sample(query, filters, ranges, most), strict=True):
        sampled += [combo for _, combo in found]
        covered += width if len(found) < most else high - found[-1][0] + 1
    return Window(counted, sampled, older / max(1, covered), exact=False)


def estimate(total: float) -> int:
    """An estimated number of matches, to two significant digits, and never below the window."""
    magnitude = 10 ** max(0, len(str(int(total))) - 2)
    return max(WINDOW, round(total / magnitude) * magnitude)


@dataclass
class FacetCounts:
    """The facet combinations of one index generation, and counting over them: every (facet, value) pair
    is numbered, so counting the facets of a window's matches counts small ints."""

    generation: Hashable
    combos: dict[int, Combo]
    pairs: list[tuple[str, str]] = field(default_factory=list)
    codes: dict[int, tuple[int, ...]] = field(default_factory=dict)
    browsed: dict[frozenset[tuple[str, str]], tuple[int, dict[str, dict[str, int]]]] = field(
        default_factory=dict
    )
    filtered: dict[frozenset[tuple[str, str]], Filters] = field(default_factory=dict)

    def __post_init__(self) -> None:
        number: dict[tuple[str, str], int] = {}
        for combo, value in self.combos.items():
            self.codes[combo] = tuple(number.setdefault(p, len(number)) for p in sorted(value.pairs))
        self.pairs = list(number)

    def filters(self, wanted: frozenset[tuple[str, str]]) -> Filters:
        """The filters with the combinations passing them: kept per filter set."""
        if wanted not in self.filtered:
            combos = tuple(c for c, v in self.combos.items() if wanted <= v.pairs)
            self.filtered[wanted] = Filters(wanted, combos)
        return self.filtered[wanted]

    def browse(self, wanted: frozenset[tuple[str, str]]) -> tuple[int, dict[str, dict[str, int]]]:
        """Total and facets of every product passing the filters: kept per filter set."""
        if wanted not in self.browsed:
            counts: Counter[int] = Counter()
            for combo, value in self.combos.items():
                if wanted <= value.pairs:
                    for code in self.codes[combo]:
                        counts[code] += value.products
            total = sum(v.products for v in self.combos.values() if wanted <= v.pairs)
            self.browsed[wanted] = (total, self._arranged(counts))
        return self.browsed[wanted]

    def facets(self, window: Window | None = None, scale: float = 1.0) -> dict[str, dict[str, int]]:
        """Matches per facet value: counted in the window, plus the samples' weighted; scaled."""
        if window is None:
            return self._arranged({})
        # One flat count in C per list: a window holds a thousand combinations of about ten values.
        counted = Counter(chain.from_iterable(self.codes[c] for c in window.counted))
        sampled = Counter(chain.from_iterable(self.codes[c] for c in window.sampled))
        merged = {p: counted[p] + window.weight * sampled[p] for p in counted.keys() | sampled.keys()}
        return self._arranged(merged, scale)

    def _arranged(self, found: Mapping[int, float], scale: float = 1.0) -> dict[str, dict[str, int]]:
        facets: dict[str, dict[str, int]] = {f: {} for f in FACETS}
        named = ((self.pairs[code], n) for code, n in found.items())
        for (facet, value), n in sorted(named, key=lambda kv: (-kv[1], kv[0])):
            facets[facet][value] = max(1, round(n * scale))
        return facets
