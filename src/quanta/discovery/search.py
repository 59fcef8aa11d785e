"""Product search for the marketplace: ranked full-text hits with facet counts, tolerant of typos.

The index is derived data in a local SQLite file that any API worker can rebuild from the registry. Its
path is a symbolic link to one *generation* of the index: a rebuild writes a new generation beside it and
swaps the link atomically, so a search sees the old index or the new one, never a half-built one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.discovery.search_index import (
    COMBO_MASK,
    SCHEMA_VERSION,
    Combo,
    ProductDocument,
    create_schema,
    delete_documents,
    document_for,
    key,
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
MAX_COLUMNS = 5  # column names listed in a hit's ``matched``; more are counted
STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "is", "of", "on", "or"}
)
_REBUILD_HINT = "rebuild it from the registry (SearchIndex.rebuild); it is derived data, safe to delete"


class SearchError(QuantaError):
    """A search was asked badly (limit, offset, filter) or the index cannot be read."""


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

    ``score`` falls along ``hits``: 2-3 for an exact id or name, 1-2 for a match in the name, 0-1 for the
    rest (bm25 within each band). ``corrected_query`` is set when a misspelt word was replaced.
    """

    query: str
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    facets_exact: bool = True
    corrected_query: str | None = None


class SearchIndex:
    """The product search index: FTS5 over names, descriptions, columns, tags, glossary terms, owners."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    # --- writing ----------------------------------------------------------------------------------------

    def rebuild(self, registry: Registry) -> int:
        """Index every registered product into a new generation, then swap it in; returns the count."""
        started = datetime.now(UTC) - timedelta(minutes=1)  # margin for clocks of other registry writers

        def write(conn: sqlite3.Connection) -> int:
            write_documents(conn, _documents(registry, [p.id for p in registry.products()]))
            # Products applied while this rebuild read the registry are read again, so none is missed.
            late = [p.id for p in registry.products() if p.updated_at >= started]
            write_documents(conn, _documents(registry, late))
            return int(conn.execute("SELECT count(*) FROM products").fetchone()[0])

        return self._build(write)

    def update(self, registry: Registry, product_id: str) -> None:
        """Re-index one product (after ``apply``); a product gone from the registry leaves the index."""
        if not self.path.exists():
            self.rebuild(registry)
            return
        try:
            conn = self._connection()
        except _StaleIndex:
            self.rebuild(registry)
            return
        docs = _documents(registry, [product_id])

        def replace() -> int:
            delete_documents(conn, [product_id])
            return write_documents(conn, docs)

        self._write(conn, replace)

    def add_documents(self, docs: Iterable[ProductDocument]) -> None:
        """Insert or replace documents in bulk; without an index yet, build a first generation of them."""
        if not self.path.exists():
            self._build(lambda conn: write_documents(conn, docs))
            return
        conn = self._connection()
        if self._write(conn, lambda: write_documents(conn, docs)) >= 1000:
            conn.execute("INSERT INTO docs(docs) VALUES ('optimize')")  # merge the new segments

    def close(self) -> None:
        """Close every thread's connection (call when no search is running)."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def _write(self, conn: sqlite3.Connection, change: Callable[[], object]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = change()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            self._local.combos = None
        return result if isinstance(result, int) else 0

    def _build(self, write: Callable[[sqlite3.Connection], int]) -> int:
        target = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex[:12]}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(target, isolation_level=None)
            try:
                # A crash leaves a file nothing points at: no journal needed while building.
                conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
                create_schema(conn)
                conn.execute("BEGIN")
                count = write(conn)
                conn.execute("COMMIT")
                conn.execute("INSERT INTO docs(docs) VALUES ('optimize')")
                conn.execute("PRAGMA journal_mode=WAL")
            finally:
                conn.close()
            self._publish(target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return count

    def _publish(self, target: Path) -> None:
        """Point the index path at ``target`` in one rename; drop the generation it pointed at before."""
        previous = Path(os.path.realpath(self.path)) if self.path.exists() else None
        link = target.with_name(f"{target.name}.link")
        link.symlink_to(target.name)
        link.replace(self.path)
        stale = [previous] if previous and previous != self.path else []
        # Orphans of crashed or concurrent rebuilds, once surely finished.
        hour_ago = time.time() - 3600
        stale += [p for p in self.path.parent.glob(f"{self.path.name}.*") if p.stat().st_mtime < hour_ago]
        for generation in stale:
            if generation.name.split("-")[0] != target.name:
                for suffix in ("", "-wal", "-shm"):
                    # Open connections keep reading a deleted generation until their next search.
                    with contextlib.suppress(OSError):
                        Path(f"{generation}{suffix}").unlink()

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to the current generation, reopened after a swap."""
        for _ in range(3):
            try:
                real = os.path.realpath(self.path)
                stat = Path(real).stat()
            except FileNotFoundError:
                continue
            local = self._local
            conn: sqlite3.Connection | None = getattr(local, "conn", None)
            if conn is not None and local.inode == (stat.st_dev, stat.st_ino):
                return conn
            if conn is not None:
                self._forget(conn)
            try:
                conn = sqlite3.connect(
                    f"file:{real}?mode=rw", uri=True, isolation_level=None, check_same_thread=False
                )
            except sqlite3.OperationalError:
                continue  # deleted by a rebuild between realpath and open: look again
            conn.executescript(
                "PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=268435456;"
            )
            with self._lock:
                self._connections.append(conn)
            local.conn, local.inode, local.combos = conn, (stat.st_dev, stat.st_ino), None
            found = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if found is None or found[0] != SCHEMA_VERSION:
                raise _StaleIndex(
                    f"the search index {self.path} is from another Quanta version", hint=_REBUILD_HINT
                )
            return conn
        raise SearchError(f"no search index at {self.path}", hint=_REBUILD_HINT)

    def _forget(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()

    # --- searching --------------------------------------------------------------------------------------

    def search(
        self, query: str, *, filters: dict[str, str] | None = None, limit: int = 20, offset: int = 0
    ) -> SearchResult:
        """Products matching ``query`` (every word, as a prefix), best first; an empty query lists all."""
        wanted = _check(query, filters or {}, limit, offset)
        conn = self._connection()
        conn.execute("BEGIN")  # one snapshot for counts, ranking and hits
        try:
            combos = self._combos(conn)
            allowed = None if not wanted else [c for c, v in combos.items() if v.has(wanted)]
            parsed = parse(query)
            if allowed == []:
                return SearchResult(query, 0, [], {f: {} for f in FILTERS})
            if not parsed.units:
                return _browse(conn, query, combos, allowed, limit, offset)
            result = _match(conn, query, parsed, combos, allowed, limit, offset)
            if result.total == 0 and (fixed := correct(conn, parsed)) is not None:
                better = _match(conn, query, fixed, combos, allowed, limit, offset)
                if better.total:
                    return SearchResult(**{**better.__dict__, "corrected_query": fixed.text})
            return result
        finally:
            conn.execute("COMMIT")

    def _combos(self, conn: sqlite3.Connection) -> dict[int, Combo]:
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if getattr(self._local, "combos", None) is None or self._local.version != version:
            rows = conn.execute("SELECT * FROM combos")
            self._local.combos = {int(r[0]): Combo.from_row(r) for r in rows}
            self._local.version = version
        combos: dict[int, Combo] = self._local.combos
        return combos


class _StaleIndex(SearchError):
    """The index file was written by another schema version."""


def _check(query: str, filters: dict[str, str], limit: int, offset: int) -> dict[str, str]:
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}", hint="page with offset")
    if offset < 0:
        raise SearchError(f"offset must be 0 or more, not {offset}", hint="offset 0 is the first page")
    if len(query) > MAX_QUERY:
        raise SearchError(f"the query has {len(query)} characters", hint=f"use at most {MAX_QUERY}")
    for name in filters:
        if name not in FILTERS:
            raise SearchError(f"unknown search filter {name!r}", hint=f"filter by {', '.join(FILTERS)}")
    return {k: v for k, v in filters.items() if v}


def _documents(registry: Registry, product_ids: list[str]) -> Iterable[ProductDocument]:
    for product_id in product_ids:
        with contextlib.suppress(NotFoundError):  # gone from the registry since it was listed
            yield document_for(registry, product_id)


def _in(allowed: list[int] | None) -> tuple[str, tuple[str, ...]]:
    """SQL narrowing rows to the facet combinations that pass the filters, and its parameter."""
    if allowed is None:
        return "", ()
    return f" AND (rowid & {COMBO_MASK}) IN (SELECT value FROM json_each(?))", (json.dumps(allowed),)


def _browse(
    conn: sqlite3.Connection,
    query: str,
    combos: dict[int, Combo],
    allowed: list[int] | None,
    limit: int,
    offset: int,
) -> SearchResult:
    where, params = _in(allowed)
    rows = conn.execute(
        f"SELECT rowid FROM products WHERE 1{where} ORDER BY id LIMIT ? OFFSET ?", (*params, limit, offset)
    ).fetchall()
    counts = {c: combos[c].products for c in (combos if allowed is None else allowed)}
    hits = _hits(conn, [(r[0], 0.0) for r in rows], None)
    return SearchResult(query, sum(counts.values()), hits, _facets(combos, counts))


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
    counts = dict(
        conn.execute(
            f"SELECT rowid & {COMBO_MASK}, count(*) FROM docs WHERE docs MATCH ?{where} GROUP BY 1",
            (expr, *params),
        ).fetchall()
    )
    total = sum(counts.values())
    if not total:
        return SearchResult(query, 0, [], _facets(combos, counts))
    exact = [
        r[0]
        for r in conn.execute(
            "SELECT rowid FROM products WHERE id_key = ?1 OR name_key = ?1 OR short_key = ?1", (parsed.key,)
        )
        if allowed is None or r[0] & COMBO_MASK in allowed
    ]
    need = offset + limit + len(exact)
    ranked = [(rowid, 2.0) for rowid in exact]
    bands = ((1.0, f"{{name}} : ({expr})"), (0.0, f"({expr}) NOT {{name}} : ({expr})"))
    for band, tier in bands:
        found = conn.execute(
            f"SELECT rowid, bm25(docs, {WEIGHTS}) AS s FROM docs WHERE docs MATCH ?{where} ORDER BY s LIMIT ?",
            (tier, *params, need),
        ).fetchall()
        ranked += [(r, band + _squash(s)) for r, s in found if r not in exact]
        if len(ranked) >= need:
            break
    page = ranked[offset : offset + limit]
    return SearchResult(query, total, _hits(conn, page, parsed), _facets(combos, counts))


def _squash(bm25: float) -> float:
    """bm25 (negative, lower is better) mapped into [0, 1), higher is better."""
    return -bm25 / (1.0 - bm25)


def _hits(conn: sqlite3.Connection, page: list[tuple[int, float]], parsed: Query | None) -> list[Hit]:
    ids = json.dumps([rowid for rowid, _ in page])
    rows = {
        r[0]: r
        for r in conn.execute(
            "SELECT p.rowid, id, p.name, domain, type, status, p.owner, summary, t.* FROM products p "
            "JOIN texts t ON t.rowid = p.rowid WHERE p.rowid IN (SELECT value FROM json_each(?))",
            (ids,),
        )
    }
    return [
        Hit(
            product_id=row[1],
            name=row[2],
            domain=row[3],
            type=row[4],
            status=row[5],
            owner=row[6],
            summary=row[7],
            score=round(score, 4),
            matched=matched(parsed, row[9:]) if parsed else [],
        )
        for rowid, score in page
        if (row := rows.get(rowid))
    ]


def _facets(combos: dict[int, Combo], counts: dict[int, int]) -> dict[str, dict[str, int]]:
    found: dict[str, Counter[str]] = {f: Counter() for f in FILTERS}
    for combo, n in counts.items():
        for facet, values in combos[combo].values().items():
            for value in values:
                found[facet][value] += n
    return {f: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for f, c in found.items() if True}


# --- the query language: words, never operators --------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A query as units, one per word typed; a unit is the word's tokens, matched as a phrase prefix."""

    text: str
    units: tuple[tuple[str, ...], ...]

    @property
    def key(self) -> str:
        return key(self.text)

    def fts(self) -> str:
        """An FTS5 expression of quoted phrases (tokens hold no quote), so no input reads as an operator."""
        return " AND ".join(f'"{" ".join(u)}"' + ("*" if len(u[-1]) > 1 else "") for u in self.units)

    def found_in(self, text: str) -> bool:
        """Whether ``text`` holds a unit, as the index would match it."""
        low = text.lower()
        if not any(unit[0] in low for unit in self.units):
            return False
        tokens = words(text)
        return any(_contains(tokens, unit) for unit in self.units)


def parse(text: str) -> Query:
    """Units of a query: plurals folded (the last token is a prefix), lone stop words dropped."""
    units = [tuple(words(word)) for word in text.split()]
    units = [(*u[:-1], _singular(u[-1])) for u in units if u]
    kept = [u for u in units if len(u) > 1 or u[0] not in STOPWORDS]
    return Query(text, tuple(kept or units))


def _singular(token: str) -> str:
    return token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token


def _contains(tokens: list[str], unit: tuple[str, ...]) -> bool:
    *head, last = unit
    for i in range(len(tokens) - len(head)):
        if tokens[i : i + len(head)] == head:
            found = tokens[i + len(head)]
            if found == last or (len(last) > 1 and found.startswith(last)):
                return True
    return False


def matched(query: Query, texts: Sequence[str]) -> list[str]:
    """Where a hit matched: name, each tag and glossary term, description, each column, owner."""
    name, tags, glossary, description, columns, owner = texts
    found = ["name"] if query.found_in(name) else []
    found += [f"tag {t}" for t in tags.split("\n") if t and query.found_in(t)]
    found += [f"glossary {t}" for t in glossary.split("\n") if t and query.found_in(t)]
    found += ["description"] if query.found_in(description) else []
    hit = [line.split("\t", 1)[0] for line in columns.split("\n") if line and query.found_in(line)]
    found += [f"column {c}" for c in hit[:MAX_COLUMNS]]
    found += [f"{len(hit) - MAX_COLUMNS} more columns"] if len(hit) > MAX_COLUMNS else []
    return found + (["owner"] if query.found_in(owner) else [])


def correct(conn: sqlite3.Connection, query: Query) -> Query | None:
    """The query with each word the index has never seen replaced by the closest word it has."""
    text = query.text
    for token in dict.fromkeys(words(query.text)):
        if len(token) < 4 or not token.isalpha() or _known(conn, _singular(token)):
            continue
        if (best := _closest(conn, token)) is None:
            return None
        text = re.sub(rf"(?i)(?<![^\W_]){re.escape(token)}(?![^\W_])", best, text)
    return parse(text) if text != query.text else None


def _known(conn: sqlite3.Connection, prefix: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM vocabulary WHERE term >= ? AND term < ? LIMIT 1", (prefix, prefix + "\U0010ffff")
    )
    return found.fetchone() is not None


def _closest(conn: sqlite3.Connection, token: str) -> str | None:
    """The indexed word nearest ``token``: candidates share its trigrams, the edit distance decides."""
    grams = {token[i : i + 3] for i in range(len(token) - 2)}
    expr = " OR ".join(f'"{g}"' for g in sorted(grams))
    rows = conn.execute("SELECT term FROM terms WHERE terms MATCH ? ORDER BY rank LIMIT 100", (expr,))
    allowed = 1 if len(token) <= 5 else 2
    candidates = [str(r[0]) for r in rows if abs(len(r[0]) - len(token)) <= allowed]
    overlap = {t: len(grams & {t[i : i + 3] for i in range(len(t) - 2)}) for t in candidates}
    scored = [
        (_distance(token, t), -overlap[t], t) for t in sorted(candidates, key=lambda t: -overlap[t])[:20]
    ]
    best = min(scored, default=None)
    return best[2] if best and best[0] <= allowed else None


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (optimal string alignment)."""
    before, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if before and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]
