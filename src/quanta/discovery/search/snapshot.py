"""What a search asks of an index backend: one consistent read (``Snapshot``) of sequence-numbered
products, the matches of a query among them, and what a hit shows. Backends implement it; the search
itself (``search.index``) and its counting (``search.counts``) are written once, against it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass, field

from quanta.discovery.search.documents import Combo
from quanta.discovery.search.query_language import Query

Row = tuple[tuple[str, str, str, str | None, str, str | None, str], tuple[str, ...]]
"""What a hit shows (id, name, domain, type, status, owner, summary), and its text per field."""


@dataclass(frozen=True)
class Window:
    """The matches of a query, counted: the facet combination of each of the newest (up to a window's
    worth), and, when there are more, of each match in samples of the older products with the number of
    older matches each stands for (``weight``). ``exact`` when every match was counted."""

    counted: list[int]
    sampled: list[int] = field(default_factory=list)
    weight: float = 0.0
    exact: bool = True

    @property
    def total(self) -> float:
        return len(self.counted) + self.weight * len(self.sampled)


@dataclass(frozen=True)
class Filters:
    """A search's facet filters: the (facet, value) pairs wanted, and the combinations having them all."""

    pairs: frozenset[tuple[str, str]] = frozenset()
    combos: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pairs)


class Snapshot(ABC):
    """One consistent read of an index for the length of one search; products are known by an int key."""

    @property
    @abstractmethod
    def generation(self) -> Hashable:
        """Changes whenever the index does: what cached facet combinations are keyed by."""

    @abstractmethod
    def combos(self) -> dict[int, Combo]:
        """Every combination of facet values, by number, with how many products have it."""

    @abstractmethod
    def is_word(self, token: str) -> bool: ...

    @abstractmethod
    def has_prefix(self, prefix: str) -> bool: ...

    @abstractmethod
    def similar(self, token: str) -> list[str]:
        """Up to 100 indexed words sharing trigrams with ``token``, most shared first."""

    @abstractmethod
    def browse(self, filters: Filters, limit: int, offset: int) -> list[int]:
        """A page of the products passing the filters, newest first."""

    @abstractmethod
    def span(self) -> tuple[int, int]:
        """The lowest and highest sequence number of an indexed product (numbers count up as products
        are written, so higher is newer)."""

    @abstractmethod
    def newest(self, query: Query, filters: Filters, limit: int) -> list[tuple[int, int]]:
        """The newest matches passing the filters, newest first: (sequence number, combination)."""

    @abstractmethod
    def sample(
        self, query: Query, filters: Filters, ranges: list[tuple[int, int]], limit: int
    ) -> list[list[tuple[int, int]]]:
        """Per (inclusive) range of sequence numbers, its matches passing the filters, newest first, at
        most ``limit`` of them: (sequence number, combination)."""

    @abstractmethod
    def exact(self, key: str) -> list[tuple[int, int]]:
        """Products whose id, name or id without domain equals ``key``: (product, combination)."""

    @abstractmethod
    def ranked(
        self, query: Query, band: str, filters: Filters, tier: int, size: int
    ) -> tuple[list[tuple[int, float]], bool]:
        """Tier ``tier`` of a band (its matches among the ``size`` newest of the tier's query), best first,
        scores in [0, 1); and whether there may be more tiers."""

    @abstractmethod
    def rows(self, keys: list[int]) -> dict[int, Row]:
        """What hits show (id, name, domain, type, status, owner, summary) and their texts per field."""
