"""The search index as a SQLite FTS5 file in the workspace: the default, zero-setup backend.

Every query runs on FTS5 doclists in rowid order, newest first, with ``LIMIT`` inside the full-text
query, so a search reads a window of matches rather than all of them (see ``search.counts``); filters are
facet tokens intersected inside the same full-text query.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Hashable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.discovery.search.documents import Combo, ProductDocument, facet_token
from quanta.discovery.search.index import REBUILD_HINT, SearchError, SearchIndex, documents
from quanta.discovery.search.query_language import Query, trigrams
from quanta.discovery.search.snapshot import Filters, Row, Snapshot
from quanta.discovery.search.sqlite_files import (
    COMBO_BITS,
    COMBO_MASK,
    FACET_MARK,
    LENGTH_BITS,
    SCHEMA_VERSION,
    SEQ_SHIFT,
    IndexFiles,
    delete_documents,
    optimize,
    write_documents,
)

if TYPE_CHECKING:
    from quanta.registry import Registry

# Relevance outside the name: weights of the fields holding every word (tags and glossary terms are
# chosen words, descriptions prose, columns and owners incidental).
PRESENCE = (("{tags glossary}", 5.0), ("description", 2.0), ("columns", 1.0), ("owner", 0.5))
PRESENCE_TOTAL = sum(w for _, w in PRESENCE) + 0.5  # scores stay below 1


class SqliteSearchIndex(SearchIndex):
    """The index in a SQLite file (``.quanta/search.db``), one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._files = IndexFiles(self.path)

    @classmethod
    def for_registry(cls, registry: Registry, state_dir: Path | None) -> SqliteSearchIndex:
        from quanta.errors import WorkspaceError

        if state_dir is None:
            raise WorkspaceError("search needs a workspace", hint="run inside a workspace ('quanta init')")
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(state_dir / "search.db")

    def exists(self) -> bool:
        return self.path.exists()

    def rebuild(self, registry: Registry) -> int:
        started = datetime.now(UTC) - timedelta(minutes=1)  # margin for the clocks of other registry writers

        def write(conn: sqlite3.Connection) -> int:
            # Oldest first: rowids then follow updates, which browsing and match windows rely on.
            products = sorted(registry.products(), key=lambda p: p.updated_at)
            write_documents(conn, documents(registry, [p.id for p in products]))
            # Products applied while this rebuild read the registry are read again, so none is missed.
            again = [p.id for p in registry.products() if p.updated_at >= started]
            write_documents(conn, documents(registry, again))
            return int(conn.execute("SELECT count(*) FROM products").fetchone()[0])

        with self._translated("write"):
            return self._files.build(write)

    def update(self, registry: Registry, product_ids: list[str]) -> None:
        with self._translated("write"):
            conn = self._files.connection()
            if conn is None or _meta(conn).get("schema") != SCHEMA_VERSION:
                self.rebuild(registry)
                return

            def replace_products() -> int:  # read under the write lock: the last writer reads the latest
                delete_documents(conn, product_ids)
                return write_documents(conn, documents(registry, product_ids))

            self._write(conn, replace_products)

    def add_documents(self, docs: Iterable[ProductDocument]) -> None:
        with self._translated("write"):
            conn = self._files.connection()
            if conn is None:
                self._files.build(lambda c: write_documents(c, docs))
            elif self._write(conn, lambda: write_documents(conn, docs)) >= 1000:
                optimize(conn)

    def close(self) -> None:
        self._files.close()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        with self._translated("read"):
            conn = self._files.connection()
            if conn is None:
                raise SearchError(f"no search index at {self.path}", hint=REBUILD_HINT)
            conn.execute("BEGIN")  # one snapshot for counts, ranking and hits
            try:
                meta = _meta(conn)
                if meta.get("schema") != SCHEMA_VERSION:
                    raise SearchError(
                        f"the search index {self.path} is unreadable or from another Quanta version",
                        hint=REBUILD_HINT,
                    )
                yield SqliteSnapshot(conn, (meta["file"], meta["generation"]))
            finally:
                conn.execute("COMMIT")

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
        return written


def _meta(conn: sqlite3.Connection) -> dict[str, str]:
    with contextlib.suppress(sqlite3.DatabaseError):
        return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    return {}


class SqliteSnapshot(Snapshot):
    """A search's read transaction on one generation file."""

    def __init__(self, conn: sqlite3.Connection, generation: Hashable) -> None:
        self.conn = conn
        self._generation = generation

    @property
    def generation(self) -> Hashable:
        return self._generation

    def combos(self) -> dict[int, Combo]:
        return {int(r[0]): Combo.from_row(r) for r in self.conn.execute("SELECT * FROM combos")}

    def is_word(self, token: str) -> bool:
        return self._one("SELECT 1 FROM vocabulary WHERE term = ?", token) is not None

    def has_prefix(self, prefix: str) -> bool:
        sql = "SELECT 1 FROM vocabulary WHERE term >= ? AND term < ? LIMIT 1"
        return self._one(sql, prefix, f"{prefix}\U0010ffff") is not None

    def similar(self, token: str) -> list[str]:
        expr = " OR ".join(f'"{g}"' for g in sorted(trigrams(token)))
        rows = self.conn.execute(
            "SELECT term FROM terms WHERE terms MATCH ? ORDER BY rank LIMIT 100", (expr,)
        )
        return [str(r[0]) for r in rows]

    def browse(self, filters: Filters, limit: int, offset: int) -> list[int]:
        if not filters:
            sql = "SELECT rowid FROM products ORDER BY rowid DESC LIMIT ? OFFSET ?"
            return [r[0] for r in self.conn.execute(sql, (limit, offset))]
        sql = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rowid DESC LIMIT ? OFFSET ?"
        return [r[0] for r in self.conn.execute(sql, (_filters(filters), limit, offset))]

    def span(self) -> tuple[int, int]:
        ends = [self._one(f"SELECT {end}(rowid) FROM products") for end in ("min", "max")]  # 2 seeks
        return (0, 0) if ends[0] is None else (int(str(ends[0])) >> SEQ_SHIFT, int(str(ends[1])) >> SEQ_SHIFT)

    def newest(self, query: Query, filters: Filters, limit: int) -> list[tuple[int, int]]:
        sql = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rowid DESC LIMIT ?"
        rows = self.conn.execute(sql, (_searched(query, filters), limit))
        return [(r >> SEQ_SHIFT, r & COMBO_MASK) for (r,) in rows]

    def sample(
        self, query: Query, filters: Filters, ranges: list[tuple[int, int]], limit: int
    ) -> list[list[tuple[int, int]]]:
        sql = (
            "SELECT rowid FROM docs WHERE docs MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rowid DESC LIMIT ?"
        )
        expr, found = _searched(query, filters), []
        for low, high in ranges:  # FTS5 seeks each range in the doclists
            rows = self.conn.execute(sql, (expr, low << SEQ_SHIFT, ((high + 1) << SEQ_SHIFT) - 1, limit))
            found.append([(r >> SEQ_SHIFT, r & COMBO_MASK) for (r,) in rows])
        return found

    def exact(self, key: str) -> list[tuple[int, int]]:
        sql = "SELECT rowid FROM products WHERE id_key = ?1 OR name_key = ?1 OR short_key = ?1"
        return [(r[0], r[0] & COMBO_MASK) for r in self.conn.execute(sql, (key,))]

    def ranked(
        self, query: Query, band: str, filters: Filters, tier: int, size: int
    ) -> tuple[list[tuple[int, float]], bool]:
        if band == "name":  # in the small index of names
            table, expr = "names", _searched(query, filters)
        else:  # what the name band has not ranked
            table, expr = "docs", f"({_searched(query, filters)}) NOT (name : ({fts(query)}))"
        sql = f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT ? OFFSET ?"
        rowids = [r[0] for r in self.conn.execute(sql, (expr, size, tier * size))]
        scores = _brevity(query, rowids) if band == "name" else self._presence(query, rowids)
        return sorted(zip(rowids, scores, strict=True), key=lambda f: -f[1]), len(rowids) == size

    def _presence(self, query: Query, rowids: list[int]) -> list[float]:
        """Per product, the weights of the fields holding the query, in [0, 1): a few queries over the
        candidates' rowid range, rather than bm25, whose statistics read every match in the index."""
        if not rowids:
            return []
        weight = dict.fromkeys(rowids, 0.0)
        sql = "SELECT rowid FROM docs WHERE docs MATCH ? AND rowid BETWEEN ? AND ?"
        for columns, w in PRESENCE:
            for (r,) in self.conn.execute(sql, (f"{columns} : ({fts(query)})", rowids[-1], rowids[0])):
                if r in weight:
                    weight[r] += w
        return [weight[r] / PRESENCE_TOTAL for r in rowids]

    def rows(self, keys: list[int]) -> dict[int, Row]:
        sql = (
            "SELECT p.rowid, id, p.name, domain, type, status, p.owner, summary, t.name, t.tags, t.glossary, "
            "t.description, t.columns, t.owner FROM products p JOIN texts t ON t.rowid = p.rowid "
            "WHERE p.rowid IN (SELECT value FROM json_each(?))"
        )
        return {r[0]: (r[1:8], r[8:]) for r in self.conn.execute(sql, (json.dumps(keys),))}

    def _one(self, sql: str, *params: object) -> object:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]


def fts(query: Query) -> str:
    """An FTS5 expression of quoted strings (tokens hold no quote), so no input reads as an operator."""
    parts = []
    for any_of, phrase, prefix in query.terms():
        if any_of:
            parts.append("(" + " OR ".join(f'"{v}"' for v in sorted(any_of)) + ")")
        else:
            parts.append(f'"{" ".join(phrase)}"' + ("*" if prefix else ""))
    return (" OR " if query.relaxed else " AND ").join(parts)


def _searched(query: Query, filters: Filters) -> str:
    """The query and the filters (the query's words can never match a facet token)."""
    return f"({fts(query)}) AND {_filters(filters)}" if filters else fts(query)


def _brevity(query: Query, rowids: list[int]) -> list[float]:
    """In the name band: the share of the name's words the query holds, in [0, 1), from the rowid."""
    typed = sum(len(unit) for unit in query.units)
    lengths = ((r >> COMBO_BITS) & ((1 << LENGTH_BITS) - 1) for r in rowids)
    return [0.99 * min(1.0, typed / max(1, n)) for n in lengths]


def _filters(filters: Filters) -> str:
    return " AND ".join(f'"{FACET_MARK}{facet_token(*pair)}"' for pair in sorted(filters.pairs))
