"""Product search for the marketplace: ranked full-text hits with facet counts, tolerant of typos.

One algorithm over two index backends, chosen by the registry's database (``BACKENDS``): a SQLite FTS5
file in the workspace (``search.sqlite``), or PostgreSQL full text in the registry's own database for
many stateless workers (``search.postgres``). Every word of a query must match, in any field; an exact
id or name ranks first, then matches in the name, then the rest by relevance with weights per field. A
query nothing matches is tried again with misspelt words corrected, then with any of its words.

The work per search is bounded, whatever the catalog's size: totals and facets are counted over the
newest ``WINDOW`` matches (exact below it, estimated and flagged above it), and each band ranks its
matches in tiers of the newest ``TIER`` candidates.
"""

from __future__ import annotations

import importlib
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.discovery.search.counts import FacetCounts, count, estimate
from quanta.discovery.search.documents import FACETS, ProductDocument, document_for
from quanta.discovery.search.query_language import Query, correct, matched, parse
from quanta.discovery.search.snapshot import Filters, Snapshot
from quanta.errors import NotFoundError, QuantaError
from quanta.lazy import own_lock

if TYPE_CHECKING:
    from quanta.registry import Registry

__all__ = [
    "BACKENDS",
    "Hit",
    "ProductDocument",
    "SearchError",
    "SearchIndex",
    "SearchResult",
    "document_for",
    "open_search_index",
]

FILTERS = FACETS
MAX_LIMIT = 200
MAX_QUERY = 256
ANSWERS_KEPT = 1024  # results remembered per index generation (a page of hits each, a few KB)
TIER = {"name": 300, "all": 100}  # candidates a band ranks at once, newest first (a page may need more)
BANDS = (("name", 1.0), ("all", 0.0))  # matches in the name, then the others: (band, lowest score)
REBUILD_HINT = "rebuild it from the registry (Mesh.reindex(), which the next search does); it is derived data"


class SearchError(QuantaError):
    """A search was asked badly (limit, offset, filter), or the index is missing or unreadable."""


@dataclass(frozen=True)
class Hit:
    """One product found; ``matched`` says where, e.g. ``["name", "column customer_email", "tag pii"]``."""

    product_id: str
    name: str
    domain: str
    type: str | None
    status: str
    owner: str | None
    summary: str
    score: float
    matched: list[str]


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, the number of all matches, and facet value counts over all of them.

    ``score`` falls along ``hits``: 2 for an exact id or name, 1-2 for a match in the name, 0-1 for others.
    Past ``WINDOW`` matches ``total`` and the facet counts are estimates (``total_exact`` and
    ``facets_exact`` are False), scaled from the newest matches. ``corrected_query`` is set when misspelt
    words were replaced; ``relaxed`` when no product matched every word and the hits match some of them.
    """

    query: str
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    facets_exact: bool = True
    corrected_query: str | None = None
    relaxed: bool = False
    total_exact: bool = True


class SearchIndex(ABC):
    """The product search index over names, descriptions, columns, tags, glossary terms and owners."""

    _cache: FacetCounts | None = None
    _answers: dict[tuple[object, ...], SearchResult] | None = None
    """Results of the current generation by query, filters and page: a generation never changes once
    written (every write to the index makes a new one), so a result of it stays right."""
    RECHECK_SECONDS = 0.0
    """How long a remembered result is given without asking the index whether its generation is still
    the current one (0: always asked). Writes through this index are seen at once, another process's
    within this interval."""
    _confirmed = float("-inf")
    """When (``time.monotonic``) the remembered results' generation was last found current."""
    _writes = 0
    """Writes through this index started and ended: a search that overlapped one confirms nothing."""

    @classmethod
    @abstractmethod
    def for_registry(cls, registry: Registry, state_dir: Path | None) -> SearchIndex:
        """The index that goes with ``registry`` (``state_dir``: the workspace's ``.quanta`` folder)."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether an index has been built (searching one that has not is a SearchError)."""

    @abstractmethod
    def rebuild(self, registry: Registry) -> int:
        """Index every registered product, replacing the index at once; returns how many."""

    @abstractmethod
    def update(self, registry: Registry, product_ids: list[str]) -> None:
        """Re-index these products (after ``apply``); a product gone from the registry leaves the index."""

    @abstractmethod
    def add_documents(self, docs: Iterable[ProductDocument]) -> None:
        """Insert or replace documents in bulk (tests and benchmarks; ``rebuild`` reads the registry)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (when no search is running)."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[Snapshot]:
        """A consistent read of the index for one search; SearchError without an index."""

    def search(
        self, query: str, *, filters: dict[str, str] | None = None, limit: int = 20, offset: int = 0
    ) -> SearchResult:
        """Products matching every word of ``query`` (plurals and prefixes too), best first; '' lists all."""
        wanted = _check(query, filters or {}, limit, offset)
        key = (query, wanted, limit, offset)
        found = self._answers.get(key) if self._answers is not None else None
        if found is None or self.RECHECK_SECONDS <= 0:
            return self._search(query, wanted, limit, offset)
        if time.monotonic() - self._confirmed < self.RECHECK_SECONDS:
            return found
        # Lapsed: one thread asks the index again, the others give what they had meanwhile (a page
        # of request threads asking at once would each take a database connection for one answer).
        asking = self._asking()
        if not asking.acquire(blocking=False):
            return found
        try:
            return self._search(query, wanted, limit, offset)
        finally:
            asking.release()

    def _search(
        self, query: str, wanted: frozenset[tuple[str, str]], limit: int, offset: int
    ) -> SearchResult:
        """The answer read from a snapshot of the index (or remembered for its generation)."""
        key = (query, wanted, limit, offset)
        asked, writes = time.monotonic(), self._writes
        with self.snapshot() as snap:
            cache = self._cache
            if cache is None or cache.generation != snap.generation:
                cache = self._cache = FacetCounts(snap.generation, snap.combos())
                self._answers = {}
            answers = self._answers if self._answers is not None else {}
            if self._writes == writes:
                self._confirmed = asked
            found = answers.get(key)
            if found is None:
                found = _Search(snap, cache, query, cache.filters(wanted)).run(limit, offset)
                if len(answers) >= ANSWERS_KEPT:  # many distinct queries: start over rather than grow
                    answers.clear()
                answers[key] = found
                self._answers = answers
            return found

    def _asking(self) -> threading.Lock:
        """The lock of the thread asking the index for its generation again (made on first use)."""
        return own_lock(self, "_asking_lock")


@dataclass(frozen=True)
class _Search:
    """One search in one snapshot: browse, or match; then a corrected query; then any word."""

    snap: Snapshot
    cache: FacetCounts
    text: str
    filters: Filters

    def run(self, limit: int, offset: int) -> SearchResult:
        parsed = parse(self.text, self.snap.is_word)
        if not parsed.units:
            total, facets = self.cache.browse(self.filters.pairs)
            keys = self.snap.browse(self.filters, limit, offset)
            return SearchResult(self.text, total, self._hits([(k, 0.0) for k in keys], None), facets)
        result = self.match(parsed, limit, offset)
        fixed = None if result.total else correct(self.snap, parsed)
        if fixed is not None and (found := self.match(fixed, limit, offset)).total:
            return replace(found, corrected_query=fixed.text)
        if result.total or len(parsed.units) < 2:
            return result
        # No product has every word: list those with any of them.
        loose = self.match(replace(fixed or parsed, relaxed=True), limit, offset)
        if not loose.total:
            return result
        return replace(loose, relaxed=True, corrected_query=fixed.text if fixed else None)

    def match(self, parsed: Query, limit: int, offset: int) -> SearchResult:
        combos = self.cache.combos
        window = count(self.snap, parsed, self.filters)
        if not window.counted:
            return SearchResult(self.text, 0, [], self.cache.facets())
        total = len(window.counted) if window.exact else estimate(window.total)
        facets = self.cache.facets(window, total / window.total)
        exact = [(k, 2.0) for k, c in self.snap.exact(parsed.key) if self.filters.pairs <= combos[c].pairs]
        page = self._rank(parsed, exact, offset + limit)[offset : offset + limit]
        hits = self._hits(page, parsed)
        return SearchResult(self.text, total, hits, facets, window.exact, total_exact=window.exact)

    def _rank(self, parsed: Query, exact: list[tuple[int, float]], wanted: int) -> list[tuple[int, float]]:
        """Exact names, then each band tier by tier, until ``wanted`` products are ranked."""
        ranked, taken = list(exact), {k for k, _ in exact}
        for band, lowest in BANDS:
            tier = 0
            while len(ranked) < wanted:
                found, more = self.snap.ranked(parsed, band, self.filters, tier, TIER[band])
                ranked += [(k, lowest + s) for k, s in found if k not in taken]
                if not more:
                    break
                tier += 1
        return ranked

    def _hits(self, page: list[tuple[int, float]], parsed: Query | None) -> list[Hit]:
        rows = self.snap.rows([k for k, _ in page])
        hits = []
        for k, score in page:
            shown, texts = rows[k]
            hits.append(Hit(*shown, score=round(score, 4), matched=matched(parsed, texts) if parsed else []))
        return hits


def _check(query: str, filters: dict[str, str], limit: int, offset: int) -> frozenset[tuple[str, str]]:
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}", hint="page with offset")
    if offset < 0:
        raise SearchError(f"offset must be 0 or more, not {offset}", hint="offset 0 is the first page")
    if len(query) > MAX_QUERY:
        raise SearchError(f"the query has {len(query)} characters", hint=f"use at most {MAX_QUERY}")
    for name in filters:
        if name not in FILTERS:
            raise SearchError(f"unknown search filter {name!r}", hint=f"filter by {', '.join(FILTERS)}")
    return frozenset((k, v) for k, v in filters.items() if v)


def documents(registry: Registry, product_ids: Iterable[str]) -> Iterator[ProductDocument]:
    """The search documents of these products; one gone from the registry since it was listed is skipped.
    The maturity facet is each product's latest DATSIS level."""
    levels = registry.maturity_levels()
    for product_id in product_ids:
        try:
            yield document_for(registry, product_id, levels.get(product_id))
        except NotFoundError:
            continue


# Backends by registry dialect, imported when chosen (sqlalchemy stays off the CLI's fast paths).
BACKENDS: dict[str, str] = {
    "sqlite": "quanta.discovery.search.sqlite:SqliteSearchIndex",
    "postgresql": "quanta.discovery.search.postgres:PostgresSearchIndex",
}


def backend(dialect: str) -> type[SearchIndex]:
    """The index class for a registry dialect: its own for PostgreSQL, else the SQLite file (which works
    beside any registry, as it is rebuilt from it)."""
    module, _, name = BACKENDS.get(dialect, BACKENDS["sqlite"]).partition(":")
    found: type[SearchIndex] = getattr(importlib.import_module(module), name)
    return found


def open_search_index(registry: Registry, state_dir: Path | None) -> SearchIndex:
    """The index that goes with ``registry`` (``state_dir``: the workspace's ``.quanta`` folder)."""
    return backend(registry.engine.dialect.name).for_registry(registry, state_dir)
