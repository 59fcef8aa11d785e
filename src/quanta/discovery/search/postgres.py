"""The search index as PostgreSQL full text in the registry's own database: for server mode.

Many stateless API workers share one registry; they share this index the same way, so every worker sees
the same, current index, kept so by ``apply`` from any of them (see ``search.postgres_schema`` for the
tables and how writers take turns). Queries are the shared ``Query`` rendered as a tsquery (never parsed
from user input), matched with GIN indexes; typos are fixed from a word list with a pg_trgm index.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.discovery.search.documents import Combo, ProductDocument, facet_token
from quanta.discovery.search.index import REBUILD_HINT, SearchError, SearchIndex, documents
from quanta.discovery.search.postgres_schema import (
    SCHEMA_VERSION,
    create,
    delete_documents,
    finish,
    lock,
    schema_version,
    write_documents,
)
from quanta.discovery.search.query_language import Query
from quanta.discovery.search.snapshot import Filters, Row, Snapshot

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from quanta.registry import Registry

RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"  # ts_rank per weight D (columns, owner), C, B, A, as in SQLite
META = (
    "SELECT key, value FROM search_meta UNION ALL SELECT 'low', min(seq)::text FROM search_products "
    "UNION ALL SELECT 'high', max(seq)::text FROM search_products"
)
# Then bitmap scans only (GIN, and b-tree ranges of sequence numbers), never walking rows in order and
# checking each document: the planner takes that check for cheap, but it reads the document from TOAST
# storage. Parallel workers would cost more to start than they save.
PLANNER = (
    "SELECT set_config('enable_indexscan', 'off', true), set_config('enable_seqscan', 'off', true), "
    "set_config('max_parallel_workers_per_gather', '0', true)"
)
ANALYZE_AFTER = 1000  # documents written at once after which the planner's statistics are refreshed


class PostgresSearchIndex(SearchIndex):
    """The index in ``search_*`` tables of a PostgreSQL database (the registry's). Its snapshot is a
    server round trip: a remembered result is given for 0.2 s before the generation is asked again
    (another worker's or process's index write shows within that; SQLite's is a file check, always made)."""

    RECHECK_SECONDS = 0.2

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def for_registry(cls, registry: Registry, state_dir: Path | None) -> PostgresSearchIndex:
        return cls(registry.engine)

    def exists(self) -> bool:
        with self._translated("read"), self.engine.connect() as conn:
            return schema_version(conn) == SCHEMA_VERSION

    def rebuild(self, registry: Registry) -> int:
        def write(conn: Connection) -> int:
            create(conn)
            products = sorted(registry.products(), key=lambda p: p.updated_at)  # oldest first, as SQLite
            written = write_documents(conn, documents(registry, [p.id for p in products]))
            finish(conn)
            return written

        return self._write(write)

    def update(self, registry: Registry, product_ids: list[str]) -> None:
        def write(conn: Connection) -> int:
            if schema_version(conn) != SCHEMA_VERSION:
                create(conn)
                written = write_documents(conn, documents(registry, [p.id for p in registry.products()]))
                finish(conn)
                return written
            delete_documents(conn, product_ids)  # read under the lock: the last writer reads the latest
            return write_documents(conn, documents(registry, product_ids))

        self._write(write)

    def add_documents(self, docs: Iterable[ProductDocument]) -> None:
        def write(conn: Connection) -> int:
            new = schema_version(conn) != SCHEMA_VERSION
            if new:
                create(conn)
            written = write_documents(conn, docs)
            if new or written >= ANALYZE_AFTER:
                finish(conn)
            return written

        self._write(write)

    def close(self) -> None:
        """Nothing to release: connections belong to the registry's engine."""

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        with self._translated("read"), self.engine.connect() as conn:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # No index tables: META fails with 42P01, which _translated says is no index at all.
            meta = {str(k): v for k, v in conn.exec_driver_sql(META)}
            if meta.get("schema") != SCHEMA_VERSION:
                raise SearchError(
                    f"no search index of this Quanta version in {self._where()}", hint=REBUILD_HINT
                )
            span = (int(meta["low"] or 0), int(meta["high"] or 0))
            yield PostgresSnapshot(conn, (meta.get("index"), meta["generation"]), span)
            conn.rollback()

    def _write(self, change: Callable[[Connection], int]) -> int:
        self._writes += 1  # this process's searches see its own writes at once
        self._confirmed = float("-inf")
        try:
            with self._translated("write"), self.engine.begin() as conn:
                lock(conn)
                return change(conn)
        finally:
            self._writes += 1
            self._confirmed = float("-inf")

    def _where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        """Driver errors as a SearchError saying which database and what to do (translated here, once)."""
        from sqlalchemy.exc import DBAPIError

        try:
            yield
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "42P01":  # undefined table: never built here
                raise SearchError(f"no search index in {self._where()}", hint=REBUILD_HINT) from None
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            hint = REBUILD_HINT
            if "pg_trgm" in reason or "permission denied" in reason:
                hint = "a superuser runs 'CREATE EXTENSION pg_trgm' in that database once, then rebuild"
            raise SearchError(
                f"cannot {doing} the search index in {self._where()}: {reason}", hint=hint
            ) from None


class PostgresSnapshot(Snapshot):
    """A search's read-only, repeatable-read transaction."""

    def __init__(self, conn: Connection, generation: Hashable, span: tuple[int, int]) -> None:
        self._conn = conn
        self._planned = False
        self._generation = generation
        self._span = span

    @property
    def conn(self) -> Connection:
        """The transaction, with the planner settings its searches want (set on first use: an answer
        remembered for this generation needs none)."""
        if not self._planned:
            self._conn.exec_driver_sql(PLANNER)  # after META, whose min and max want index-only scans
            self._planned = True
        return self._conn

    @property
    def generation(self) -> Hashable:
        return self._generation

    def combos(self) -> dict[int, Combo]:
        rows = [tuple(r) for r in self.conn.exec_driver_sql("SELECT * FROM search_combos")]
        return {int(r[0]): Combo.from_row(r) for r in rows}

    def is_word(self, token: str) -> bool:
        return self._one("SELECT 1 FROM search_words WHERE word = %s", (token,)) is not None

    def has_prefix(self, prefix: str) -> bool:
        sql = "SELECT 1 FROM search_words WHERE word >= %s AND word < %s LIMIT 1"
        return self._one(sql, (prefix, f"{prefix}\U0010ffff")) is not None

    def similar(self, token: str) -> list[str]:
        sql = (
            "SELECT word FROM search_words WHERE letters AND word %% %(t)s "
            "ORDER BY similarity(word, %(t)s) DESC, word LIMIT 100"
        )
        self.conn.exec_driver_sql("SET LOCAL pg_trgm.similarity_threshold = 0.2")
        return [str(r[0]) for r in self.conn.exec_driver_sql(sql, {"t": token})]

    def browse(self, filters: Filters, limit: int, offset: int) -> list[int]:
        where, params = _filtered("TRUE", filters)
        return [r[0] for r in self._newest(where, params, offset + limit)[offset:]]

    def span(self) -> tuple[int, int]:
        return self._span

    def newest(self, query: Query, filters: Filters, limit: int) -> list[tuple[int, int]]:
        where, params = _filtered("document @@ %(q)s::tsquery", filters)
        return [(seq, combo) for seq, combo, _ in self._newest(where, {**params, "q": tsquery(query)}, limit)]

    def _newest(self, where: str, params: dict[str, Any], limit: int) -> list[tuple[int, int, int]]:
        """(seq, combo, name_words) of the newest ``limit`` rows meeting ``where``: looked for among the
        newest products first, in a range of sequence numbers widened as the matches found so far tell,
        so about ``limit`` rows are read however many match in all. No ORDER BY ... LIMIT: with one, the
        planner walks the rows newest first checking each document, and a check reads it from TOAST."""
        bottom, top = self.span()
        width = 2 * limit
        sql = f"SELECT seq, combo, name_words FROM search_products WHERE {where} AND seq >= %(low)s"
        while True:
            low = top - width + 1
            rows = sorted(
                ((r[0], r[1], r[2]) for r in self.conn.exec_driver_sql(sql, {**params, "low": low})),
                reverse=True,
            )
            if len(rows) >= limit or low <= bottom:
                return rows[:limit]
            width = max(4 * width, int(1.5 * limit * width / max(1, len(rows))))

    def sample(
        self, query: Query, filters: Filters, ranges: list[tuple[int, int]], limit: int
    ) -> list[list[tuple[int, int]]]:
        # One query, so the GIN index is read once and intersected with all the ranges at once.
        where, params = _filtered("document @@ %(q)s::tsquery", filters)
        within = " OR ".join(f"seq BETWEEN {int(low)} AND {int(high)}" for low, high in ranges)
        sql = f"SELECT seq, combo FROM search_products WHERE {where} AND ({within})"
        found: list[list[tuple[int, int]]] = [[] for _ in ranges]
        starts = [low for low, _ in ranges]
        for seq, combo in self.conn.exec_driver_sql(sql, {**params, "q": tsquery(query)}):
            found[bisect_right(starts, seq) - 1].append((seq, combo))
        return [sorted(rows, reverse=True)[:limit] for rows in found]

    def exact(self, key: str) -> list[tuple[int, int]]:
        sql = (
            "SELECT seq, combo FROM search_products "
            "WHERE id_key = %(k)s OR name_key = %(k)s OR short_key = %(k)s"
        )
        return [(r[0], r[1]) for r in self.conn.exec_driver_sql(sql, {"k": key})]

    def ranked(
        self, query: Query, band: str, filters: Filters, tier: int, size: int
    ) -> tuple[list[tuple[int, float]], bool]:
        condition = "names @@ %(q)s::tsquery" if band == "name" else "document @@ %(q)s::tsquery"
        where, params = _filtered(condition, filters)
        values = {**params, "q": tsquery(query)}
        rows = self._newest(where, values, (tier + 1) * size)[tier * size :]
        more = len(rows) == size
        if band == "name":  # the share of the name's words the query holds, as in SQLite
            typed = sum(len(unit) for unit in query.units)
            found = [(seq, 0.99 * min(1.0, typed / max(1, words))) for seq, _, words in rows]
        else:  # what the name band has not ranked, by ts_rank with weights per field
            sql = (
                f"SELECT seq, ts_rank('{RANK_WEIGHTS}', document, %(q)s::tsquery, 1) FROM search_products "
                "WHERE seq = ANY(%(seqs)s) AND NOT names @@ %(q)s::tsquery ORDER BY seq DESC"
            )
            scored = self.conn.exec_driver_sql(sql, {**values, "seqs": [r[0] for r in rows]})
            found = [(int(seq), _squash(float(rank))) for seq, rank in scored]
        return sorted(found, key=lambda f: -f[1]), more

    def rows(self, keys: list[int]) -> dict[int, Row]:
        sql = (
            "SELECT p.seq, id, p.name, domain, type, status, p.owner, summary, t.name, t.tags, t.glossary, "
            "t.description, t.columns, t.owner FROM search_products p JOIN search_texts t USING (seq) "
            "WHERE p.seq = ANY(%s)"
        )
        return {r[0]: (tuple(r[1:8]), tuple(r[8:])) for r in self.conn.exec_driver_sql(sql, (keys,))}

    def _one(self, sql: str, params: Any) -> object:
        row = self.conn.exec_driver_sql(sql, params).first()
        return None if row is None else row[0]


def _squash(rank: float) -> float:
    """A ts_rank (0 and up, higher is better) into [0, 1)."""
    return rank / (1.0 + rank)


def _filtered(condition: str, filters: Filters) -> tuple[str, dict[str, Any]]:
    """The condition, and the filters as facet tokens the GIN index on ``facets`` finds."""
    if not filters:
        return condition, {}
    return f"{condition} AND facets @> %(f)s", {"f": sorted(facet_token(*p) for p in filters.pairs)}


def tsquery(query: Query) -> str:
    """A tsquery of quoted lexemes (escaped, never parsed as operators); a prefix ends in ``:*``."""
    parts = []
    for any_of, phrase, prefix in query.terms():
        if any_of:
            parts.append("(" + " | ".join(_lexeme(v) for v in sorted(any_of)) + ")")
        else:
            lexemes = [_lexeme(t) for t in phrase]
            lexemes[-1] += ":*" if prefix else ""
            parts.append("(" + " <-> ".join(lexemes) + ")")
    return (" | " if query.relaxed else " & ").join(parts)


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
