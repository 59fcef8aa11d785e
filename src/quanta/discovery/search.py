"""Product search for the marketplace: ranked full-text hits with facet counts, tolerant of typos.

The index is derived data in a local SQLite FTS5 file (``search_index``) that any API worker can rebuild
from the registry, whichever database the registry uses. Every word of a query must match, in any field;
an exact id or name ranks first, then matches in the name, then the rest by bm25 with weights per field.
A query nothing matches is tried again with misspelt words corrected (the indexed word sharing the most
trigrams within a small edit distance), then with any of its words instead of every one.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.discovery.search_index import (
    COMBO_MASK,
    REBUILD_HINT,
    SCHEMA_VERSION,
    Combo,
    IndexFiles,
    ProductDocument,
    delete_documents,
    document_for,
    key,
    optimize,
    words,
    write_documents,
)
from quanta.errors import NotFoundError, QuantaError

if TYPE_CHECKING:
    from quanta.registry import Registry

__all__ = ["Hit", "ProductDocument", "SearchError", "SearchIndex", "SearchResult", "document_for"]

FILTERS = ("domain", "type", "status", "classification", "maturity")
MAX_LIMIT = 200
MAX_QUERY = 256
WEIGHTS = "10.0, 5.0, 5.0, 2.0, 1.0, 0.5"  # bm25 per field: name, tags, glossary, description, columns, owner
# Work per query is bounded: past these many matches, facets are counted over the most recently indexed
# ones and scaled to the total, and each band ranks its most recently indexed candidates.
FACET_WINDOW = 10_000
BANDS = ((1.0, "names", 10_000), (0.0, "docs", 5_000))  # score band, table, most candidates ranked
MAX_COLUMNS = 5  # column names listed in a hit's ``matched``; more are counted
_STOP = "a an and are as at by for from in is near not of on or the to with"  # dropped beside other words
STOPWORDS = frozenset(_STOP.split())


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
    ``facets_exact`` is False when there were more than ``FACET_WINDOW`` matches and the counts are scaled
    from the most recent ones; ``corrected_query`` is set when misspelt words were replaced; ``relaxed``
    when no product matched every word and the hits match some of them.
    """

    query: str
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    facets_exact: bool = True
    corrected_query: str | None = None
    relaxed: bool = False


class SearchIndex:
    """The product search index over names, descriptions, columns, tags, glossary terms and owners."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._files = IndexFiles(self.path)

    def rebuild(self, registry: Registry) -> int:
        """Index every registered product into a new generation, then swap it in; returns the count."""
        started = datetime.now(UTC) - timedelta(minutes=1)  # margin for the clocks of other registry writers

        def write(conn: sqlite3.Connection) -> int:
            # Oldest first: rowids then follow updates, which browsing and candidate windows rely on.
            products = sorted(registry.products(), key=lambda p: p.updated_at)
            write_documents(conn, _documents(registry, [p.id for p in products]))
            # Products applied while this rebuild read the registry are read again, so none is missed.
            write_documents(
                conn, _documents(registry, [p.id for p in registry.products() if p.updated_at >= started])
            )
            return int(conn.execute("SELECT count(*) FROM products").fetchone()[0])

        with self._translated("write"):
            return self._files.build(write)

    def update(self, registry: Registry, product_id: str) -> None:
        """Re-index one product (after ``apply``); a product gone from the registry leaves the index."""
        with self._translated("write"):
            conn = self._files.connection()
            if conn is None or _schema(conn) != SCHEMA_VERSION:
                self.rebuild(registry)
                return
            docs = list(_documents(registry, [product_id]))

            def replace_product() -> int:
                delete_documents(conn, [product_id])
                return write_documents(conn, docs)

            self._write(conn, replace_product)

    def add_documents(self, docs: Iterable[ProductDocument]) -> None:
        """Insert or replace documents in bulk; without an index yet, build a first generation of them."""
        with self._translated("write"):
            conn = self._files.connection()
            if conn is None:
                self._files.build(lambda c: write_documents(c, docs))
            elif self._write(conn, lambda: write_documents(conn, docs)) >= 1000:
                optimize(conn)

    def close(self) -> None:
        """Close every thread's connection (when no search is running)."""
        self._files.close()

    @contextlib.contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        """SQLite's errors as a SearchError saying which file and what to do (translated here, once)."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            hint = "try again" if "locked" in str(exc) else REBUILD_HINT
            raise SearchError(f"cannot {doing} the search index {self.path}: {exc}", hint=hint) from None

    def _write(self, conn: sqlite3.Connection, change: Callable[[], int]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            written = change()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            self._files.local.cache = None
        return written

    def search(
        self, query: str, *, filters: dict[str, str] | None = None, limit: int = 20, offset: int = 0
    ) -> SearchResult:
        """Products matching every word of ``query`` (plurals and prefixes too), best first; '' lists all."""
        wanted = _check(query, filters or {}, limit, offset)
        with self._translated("read"):
            conn = self._files.connection()
            if conn is None:
                raise SearchError(f"no search index at {self.path}", hint=REBUILD_HINT)
            conn.execute("BEGIN")  # one snapshot for counts, ranking and hits
            try:
                return self._search(conn, query, wanted, limit, offset)
            finally:
                conn.execute("COMMIT")

    def _search(
        self, conn: sqlite3.Connection, query: str, wanted: set[tuple[str, str]], limit: int, offset: int
    ) -> SearchResult:
        """The search in one read snapshot: browse, or match; then a corrected query; then any word."""
        cache = self._cache(conn)
        combos = cache.combos
        allowed = None if not wanted else [c for c, v in combos.items() if wanted <= v.pairs]
        parsed = parse(query, lambda t: _is_word(conn, t))
        if not parsed.units:
            total, facets = cache.browse(allowed)
            return SearchResult(query, total, _browse(conn, allowed, limit, offset), facets)
        result = _match(conn, query, parsed, combos, allowed, limit, offset)
        fixed = None if result.total else correct(conn, parsed)
        if fixed is not None and (found := _match(conn, query, fixed, combos, allowed, limit, offset)).total:
            return replace(found, corrected_query=fixed.text)
        if result.total or len(parsed.units) < 2:
            return result
        # No product has every word: list those with any of them, most words first (bm25).
        loose = _match(conn, query, replace(fixed or parsed, relaxed=True), combos, allowed, limit, offset)
        if not loose.total:
            return result
        return replace(loose, relaxed=True, corrected_query=fixed.text if fixed else None)

    def _cache(self, conn: sqlite3.Connection) -> _Cache:
        """This thread's facet combinations and browse counts, read again when the index changed."""
        cache: _Cache | None = getattr(self._files.local, "cache", None)
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if cache is None or cache.version != version:
            if _schema(conn) != SCHEMA_VERSION:
                raise SearchError(
                    f"the search index {self.path} is unreadable or from another Quanta version",
                    hint=REBUILD_HINT,
                )
            combos = {int(r[0]): Combo.from_row(r) for r in conn.execute("SELECT * FROM combos")}
            cache = self._files.local.cache = _Cache(version, combos)
        return cache


@dataclass
class _Cache:
    version: int
    combos: dict[int, Combo]
    browsed: dict[tuple[int, ...] | None, tuple[int, dict[str, dict[str, int]]]] = field(default_factory=dict)

    def browse(self, allowed: list[int] | None) -> tuple[int, dict[str, dict[str, int]]]:
        """Total and facets of every product passing the filters: kept per combination set."""
        wanted = None if allowed is None else tuple(allowed)
        if wanted not in self.browsed:
            counts = {c: self.combos[c].products for c in (self.combos if allowed is None else allowed)}
            self.browsed[wanted] = (sum(counts.values()), _facets(self.combos, counts))
        return self.browsed[wanted]


def _schema(conn: sqlite3.Connection) -> str | None:
    with contextlib.suppress(sqlite3.DatabaseError):
        return str(conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0])
    return None


def _check(query: str, filters: dict[str, str], limit: int, offset: int) -> set[tuple[str, str]]:
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}", hint="page with offset")
    if offset < 0:
        raise SearchError(f"offset must be 0 or more, not {offset}", hint="offset 0 is the first page")
    if len(query) > MAX_QUERY:
        raise SearchError(f"the query has {len(query)} characters", hint=f"use at most {MAX_QUERY}")
    for name in filters:
        if name not in FILTERS:
            raise SearchError(f"unknown search filter {name!r}", hint=f"filter by {', '.join(FILTERS)}")
    return {(k, v) for k, v in filters.items() if v}


def _documents(registry: Registry, product_ids: list[str]) -> Iterable[ProductDocument]:
    for product_id in product_ids:
        with contextlib.suppress(NotFoundError):  # gone from the registry since it was listed
            yield document_for(registry, product_id)


def _in(allowed: list[int] | None) -> tuple[str, tuple[str, ...]]:
    """SQL narrowing rows to the facet combinations that pass the filters, and its parameter."""
    if allowed is None:
        return "", ()
    return f" AND (rowid & {COMBO_MASK}) IN (SELECT value FROM json_each(?))", (json.dumps(allowed),)


def _browse(conn: sqlite3.Connection, allowed: list[int] | None, limit: int, offset: int) -> list[Hit]:
    where, params = _in(allowed)
    sql = f"SELECT rowid FROM products WHERE 1{where} ORDER BY rowid DESC LIMIT ? OFFSET ?"
    return _hits(conn, [(r[0], 0.0) for r in conn.execute(sql, (*params, limit, offset))], None)


def _match(
    conn: sqlite3.Connection,
    query: str,
    parsed: Query,
    combos: dict[int, Combo],
    allowed: list[int] | None,
    limit: int,
    offset: int,
) -> SearchResult:
    where, params = _in(allowed)
    expr = parsed.fts()
    window = (
        f"SELECT rowid & {COMBO_MASK} AS c FROM docs WHERE docs MATCH ?{where} ORDER BY rowid DESC LIMIT ?"
    )
    counts = dict(
        conn.execute(f"SELECT c, count(*) FROM ({window}) GROUP BY c", (expr, *params, FACET_WINDOW + 1))
    )
    total = sum(counts.values())
    if total > FACET_WINDOW:
        total = conn.execute(
            f"SELECT count(*) FROM docs WHERE docs MATCH ?{where}", (expr, *params)
        ).fetchone()[0]
    facets = _facets(combos, counts, total / max(1, sum(counts.values())))
    if not total:
        return SearchResult(query, 0, [], facets)
    exact = "SELECT rowid FROM products WHERE id_key = ?1 OR name_key = ?1 OR short_key = ?1"
    ranked = [
        (r[0], 2.0)
        for r in conn.execute(exact, (parsed.key,))
        if allowed is None or r[0] & COMBO_MASK in allowed
    ]
    for band, table, most in BANDS:  # matches in the name first (their own index), then all the others
        if len(ranked) >= offset + limit:
            break
        taken = {r for r, _ in ranked}
        weights = f", {WEIGHTS}" if table == "docs" else ""
        candidates = (
            f"SELECT rowid, bm25({table}{weights}) AS s FROM {table} WHERE {table} MATCH ?{where} "
            f"ORDER BY rowid DESC LIMIT {most}"
        )
        found = conn.execute(
            f"SELECT rowid, s FROM ({candidates}) ORDER BY s LIMIT ?",
            (expr, *params, offset + limit + len(taken)),
        )
        ranked += [(r, band + _squash(s)) for r, s in found if r not in taken]
    hits = _hits(conn, ranked[offset : offset + limit], parsed)
    return SearchResult(query, total, hits, facets, facets_exact=total <= FACET_WINDOW)


def _squash(bm25: float) -> float:
    """bm25 (negative, lower is better) mapped into [0, 1), higher is better."""
    return -bm25 / (1.0 - bm25)


def _hits(conn: sqlite3.Connection, page: list[tuple[int, float]], parsed: Query | None) -> list[Hit]:
    sql = (
        "SELECT p.rowid, id, p.name, domain, type, status, p.owner, summary, t.* FROM products p "
        "JOIN texts t ON t.rowid = p.rowid WHERE p.rowid IN (SELECT value FROM json_each(?))"
    )
    rows: dict[int, Any] = {r[0]: r for r in conn.execute(sql, (json.dumps([r for r, _ in page]),))}
    hits = []
    for rowid, score in page:
        row = rows[rowid]
        shown: tuple[str, str, str, str | None, str, str | None, str] = row[1:8]
        hits.append(Hit(*shown, score=round(score, 4), matched=matched(parsed, row[9:]) if parsed else []))
    return hits


def _facets(
    combos: dict[int, Combo], counts: dict[int, int], scale: float = 1.0
) -> dict[str, dict[str, int]]:
    found: Counter[tuple[str, str]] = Counter()
    for combo, n in counts.items():
        for pair in combos[combo].pairs:
            found[pair] += n
    facets: dict[str, dict[str, int]] = {f: {} for f in FILTERS}
    for (facet, value), n in sorted(found.items(), key=lambda kv: (-kv[1], kv[0])):
        facets[facet][value] = round(n * scale)
    return facets


# --- the query language: words, never operators --------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A query as units, one per word typed, each the word's tokens; ``whole`` are indexed words."""

    text: str
    units: tuple[tuple[str, ...], ...]
    whole: frozenset[str] = frozenset()
    relaxed: bool = False  # any unit rather than every unit

    @property
    def key(self) -> str:
        return key(self.text)

    def fts(self) -> str:
        """An FTS5 expression of quoted strings (tokens hold no quote), so no input reads as an operator."""
        parts = []
        for unit in self.units:
            if unit[0] in self.whole:  # a whole word matches itself and its plurals: no prefix scan
                parts.append("(" + " OR ".join(f'"{v}"' for v in _variants(unit[0])) + ")")
            else:  # a phrase, its last word a prefix (which a single letter is too short to be)
                parts.append(f'"{" ".join(unit)}"' + ("*" if len(unit[-1]) > 1 else ""))
        return (" OR " if self.relaxed else " AND ").join(parts)

    def found_in(self, text: str) -> bool:
        """Whether ``text`` holds a unit, as the index matches it."""
        low = text.lower()
        if not any(unit[0] in low for unit in self.units):
            return False
        tokens = words(low)
        return any(self._contains(tokens, unit) for unit in self.units)

    def _contains(self, tokens: list[str], unit: tuple[str, ...]) -> bool:
        if unit[0] in self.whole:
            return not _variants(unit[0]).isdisjoint(tokens)
        *head, last = unit
        for i in range(len(tokens) - len(head)):
            if tokens[i : i + len(head)] == head:
                found = tokens[i + len(head)]
                if found == last or (len(last) > 1 and found.startswith(last)):
                    return True
        return False


def parse(text: str, is_word: Callable[[str], bool] = lambda _: False) -> Query:
    """Units of a query: plurals folded, lone stop words dropped (unless nothing else is left)."""
    units = [(*u[:-1], _singular(u[-1])) for u in (tuple(words(w)) for w in text.split()) if u]
    units = [u for u in units if len(u) > 1 or u[0] not in STOPWORDS] or units
    return Query(text, tuple(units), frozenset(u[0] for u in units if len(u) == 1 and is_word(u[0])))


def _singular(token: str) -> str:
    return token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token


def _variants(token: str) -> frozenset[str]:
    return frozenset((token, f"{token}s", f"{token}es"))


def _is_word(conn: sqlite3.Connection, token: str) -> bool:
    return conn.execute("SELECT 1 FROM vocabulary WHERE term = ?", (token,)).fetchone() is not None


def matched(query: Query, texts: Sequence[str]) -> list[str]:
    """Where a hit matched: name, each tag and glossary term, description, each column, owner."""
    name, tags, glossary, description, columns, owner = texts

    def labels(field: str) -> list[str]:
        return [line.split("\t", 1)[0] for line in field.split("\n") if line and query.found_in(line)]

    found = ["name"] if query.found_in(name) else []
    found += [f"tag {t}" for t in labels(tags)] + [f"glossary {t}" for t in labels(glossary)]
    found += ["description"] if query.found_in(description) else []
    hit = labels(columns)
    found += [f"column {c}" for c in hit[:MAX_COLUMNS]]
    more = len(hit) - MAX_COLUMNS
    found += [f"{more} more column{'s' if more > 1 else ''}"] if more > 0 else []
    return found + (["owner"] if query.found_in(owner) else [])


def correct(conn: sqlite3.Connection, query: Query) -> Query | None:
    """The query with each word the index has never seen replaced: a misspelt word by the closest word
    it has, an unknown snake_case name by its words."""
    text = query.text
    for token in dict.fromkeys(words(query.text)):
        prefix, known = _singular(token), "SELECT 1 FROM vocabulary WHERE term >= ? AND term < ? LIMIT 1"
        if len(token) < 4 or conn.execute(known, (prefix, f"{prefix}\U0010ffff")).fetchone():
            continue
        best = token.replace("_", " ") if "_" in token.strip("_") else _closest(conn, token)
        if best is None:
            return None
        text = re.sub(rf"(?i)(?<![^\W_]){re.escape(token)}(?![^\W_])", best, text)
    return parse(text, lambda t: _is_word(conn, t)) if text != query.text else None


def _closest(conn: sqlite3.Connection, token: str) -> str | None:
    """The indexed word nearest ``token``: candidates share its trigrams, the edit distance decides."""
    if not token.isalpha():
        return None
    grams = {token[i : i + 3] for i in range(len(token) - 2)}
    expr = " OR ".join(f'"{g}"' for g in sorted(grams))
    rows = conn.execute("SELECT term FROM terms WHERE terms MATCH ? ORDER BY rank LIMIT 100", (expr,))
    allowed = 1 if len(token) <= 5 else 2
    overlap = {
        str(t): len(grams & {t[i : i + 3] for i in range(len(t) - 2)})
        for (t,) in rows
        if abs(len(t) - len(token)) <= allowed
    }
    shortlist = sorted(overlap, key=lambda t: -overlap[t])[:20]
    best = min(((_distance(token, t), -overlap[t], t) for t in shortlist), default=None)
    return best[2] if best and best[0] <= allowed else None


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (optimal string alignment)."""
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]
