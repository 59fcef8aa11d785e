"""The PostgreSQL search index's tables, and writing documents into them.

The tables live in the registry's database beside its own, but belong to the search backend, not to
Alembic: they are derived data (rebuilt from the registry whenever their schema version changes), exist
only on PostgreSQL, and are created in the same transaction that first fills them. Every write takes one
transaction-level advisory lock, so two workers applying at once queue rather than interleave, and
readers keep seeing the last committed index (MVCC), never a half-written one.

Documents become tsvectors here, in Python: the words are split as the SQLite index splits them
(``search.documents.words``), each field at its own positions (phrases never run from one field into the
next) and weight (A name, B tags and glossary, C description, D columns and owner).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

from quanta.discovery.search.documents import (
    FIELDS,
    ProductDocument,
    combo_pairs,
    facet_token,
    field_texts,
    vocabulary,
    words,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

SCHEMA_VERSION = "1"
LOCK = 0x5155414E5441  # pg_advisory_xact_lock key of every write ("QUANTA")
WEIGHT = dict(zip(FIELDS, "ABBCDD", strict=True))
MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
MAX_POSITIONS = 255  # positions kept per word and document
FIELD_GAP = 100  # positions between fields, so a phrase never spans two

TABLES = ("search_texts", "search_products", "search_combos", "search_words", "search_meta")
DDL = f"""
CREATE TABLE search_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE search_combos (
    combo integer PRIMARY KEY, domain text NOT NULL, type text NOT NULL, status text NOT NULL,
    maturity text NOT NULL, classifications text NOT NULL, products integer NOT NULL DEFAULT 0,
    UNIQUE (domain, type, status, maturity, classifications));
CREATE TABLE search_products (
    seq bigint PRIMARY KEY, id text NOT NULL UNIQUE, combo integer NOT NULL, name_words integer NOT NULL,
    name text NOT NULL, domain text NOT NULL, type text, status text NOT NULL, owner text,
    summary text NOT NULL, id_key text NOT NULL, name_key text NOT NULL, short_key text NOT NULL,
    facets text[] NOT NULL, names tsvector NOT NULL, document tsvector NOT NULL);
CREATE TABLE search_texts (seq bigint PRIMARY KEY, {", ".join(f"{f} text NOT NULL" for f in FIELDS)});
CREATE TABLE search_words (word text COLLATE "C" PRIMARY KEY, letters boolean NOT NULL);
INSERT INTO search_meta VALUES ('schema', '{SCHEMA_VERSION}'), ('generation', '0')
"""
# Built after the first load of new tables: one bulk build is far faster than a row at a time.
INDEXES = """
CREATE INDEX IF NOT EXISTS search_products_document ON search_products USING gin (document)
    WITH (fastupdate = off);
CREATE INDEX IF NOT EXISTS search_products_names ON search_products USING gin (names) WITH (fastupdate = off);
CREATE INDEX IF NOT EXISTS search_products_facets ON search_products USING gin (facets)
    WITH (fastupdate = off);
CREATE INDEX IF NOT EXISTS search_products_exact_id ON search_products (id_key);
CREATE INDEX IF NOT EXISTS search_products_exact_name ON search_products (name_key);
CREATE INDEX IF NOT EXISTS search_products_exact_short ON search_products (short_key);
CREATE INDEX IF NOT EXISTS search_words_trigrams ON search_words USING gin (word gin_trgm_ops) WHERE letters
"""


def lock(conn: Connection) -> None:
    """Wait for any other writer of the index to commit; held until this transaction ends."""
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK})")


def schema_version(conn: Connection) -> str | None:
    """The index's schema version, None when there are no index tables."""
    if conn.exec_driver_sql("SELECT to_regclass('search_meta')").scalar() is None:
        return None
    found = conn.exec_driver_sql("SELECT value FROM search_meta WHERE key = 'schema'").scalar()
    return None if found is None else str(found)


def create(conn: Connection) -> None:
    """Empty index tables of this version, replacing those of any other (inside a locked transaction);
    ``finish`` indexes them once filled. Existing rows are deleted, not truncated: searches running
    meanwhile keep reading the index as it was until this transaction commits."""
    version = schema_version(conn)
    if version == SCHEMA_VERSION:
        for table in TABLES[:-1]:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        return
    for table in TABLES:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for statement in DDL.split(";\n"):
        conn.exec_driver_sql(statement)
    # Checking a document for a match (the planner often does, for the newest matches) decompresses it:
    # lz4, where the server has it, does that several times faster than the default.
    lz4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    if conn.exec_driver_sql(lz4).scalar():
        conn.exec_driver_sql("ALTER TABLE search_products ALTER COLUMN document SET COMPRESSION lz4")
    # Searches cache facet combinations per (index, generation): tables made anew are another index.
    conn.exec_driver_sql("INSERT INTO search_meta VALUES ('index', %s)", (uuid.uuid4().hex,))


def finish(conn: Connection) -> None:
    """Build the indexes new tables lack, and refresh the planner's statistics."""
    for statement in INDEXES.split(";\n"):
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql("ANALYZE search_products")
    conn.exec_driver_sql("ANALYZE search_words")


def write_documents(conn: Connection, docs: Iterable[ProductDocument], batch: int = 500) -> int:
    """Insert or replace documents inside the caller's locked transaction; returns how many."""
    combos = {tuple(r[1:6]): int(r[0]) for r in conn.exec_driver_sql("SELECT * FROM search_combos")}
    seq = int(conn.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM search_products").scalar() or 0)
    written, iterator = 0, iter(docs)
    while chunk := list(islice(iterator, batch)):
        delete_documents(conn, [d.id for d in chunk])
        products, texts, seen = [], [], set[str]()
        for doc in chunk:
            seq, combo = seq + 1, combos.get(doc.facets) or _new_combo(conn, combos, doc.facets)
            fields = field_texts(doc)
            products.append(_product_row(seq, combo, doc, fields))
            texts.append((seq, *fields))
            seen |= vocabulary(fields)
        _insert(conn, "search_products", products)
        _insert(conn, "search_texts", texts)
        counts: dict[int, int] = {}
        for row in products:
            counts[row[2]] = counts.get(row[2], 0) + 1
        _add_to_combos(conn, counts)
        new = sorted(seen)  # all to tell whole words from prefixes, those of letters for typos
        conn.exec_driver_sql(
            "INSERT INTO search_words SELECT * FROM unnest(%s::text[], %s::boolean[]) ON CONFLICT DO NOTHING",
            (new, [len(w) >= 3 and w.isalpha() for w in new]),
        )
        written += len(chunk)
    touch(conn)
    return written


def delete_documents(conn: Connection, product_ids: Sequence[str]) -> None:
    """Remove products from the index (unknown ids are ignored); their words stay for typo correction."""
    gone = conn.exec_driver_sql(
        "DELETE FROM search_products WHERE id = ANY(%s) RETURNING seq, combo", (list(product_ids),)
    ).all()
    if gone:
        conn.exec_driver_sql("DELETE FROM search_texts WHERE seq = ANY(%s)", ([r[0] for r in gone],))
        counts: dict[int, int] = {}
        for _, combo in gone:
            counts[combo] = counts.get(combo, 0) - 1
        _add_to_combos(conn, counts)
        touch(conn)


def touch(conn: Connection) -> None:
    """Count the change, so searches drop facet combinations they cached from before it."""
    conn.exec_driver_sql("UPDATE search_meta SET value = (value::bigint + 1)::text WHERE key = 'generation'")


def tsvector(fields: Sequence[str], weights: Sequence[str]) -> str:
    """A tsvector literal: each field's words at their positions, with the field's weight."""
    positions: dict[str, list[str]] = {}
    start = 1
    for text, weight in zip(fields, weights, strict=True):
        tokens = words(text)
        for i, token in enumerate(tokens):
            seen = positions.setdefault(token, [])
            if len(seen) < MAX_POSITIONS:
                seen.append(f"{min(start + i, MAX_POSITION)}{weight}")
        start += len(tokens) + FIELD_GAP
    return " ".join(f"'{t}':{','.join(p)}" for t, p in positions.items())


def _product_row(seq: int, combo: int, doc: ProductDocument, fields: tuple[str, ...]) -> tuple[Any, ...]:
    """A row of search_products (see DDL): display fields after the keys, the vectors last."""
    facets = sorted(facet_token(*pair) for pair in combo_pairs(doc.facets))
    names, document = tsvector(fields[:1], "A"), tsvector(fields, [WEIGHT[f] for f in FIELDS])
    length = len(words(fields[0]))
    return (seq, doc.id, combo, length, *doc.display[1:], *doc.keys, facets, names, document)


def _insert(conn: Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        marks = ["%s"] * len(rows[0])
        if table == "search_products":  # tsvector literals, built above
            marks[-2:] = ["%s::tsvector"] * 2
        conn.exec_driver_sql(f"INSERT INTO {table} VALUES ({', '.join(marks)})", rows)


def _add_to_combos(conn: Connection, counts: dict[int, int]) -> None:
    if counts:
        conn.exec_driver_sql(
            "UPDATE search_combos SET products = products + %s WHERE combo = %s",
            [(n, combo) for combo, n in counts.items()],
        )


def _new_combo(conn: Connection, combos: dict[tuple[Any, ...], int], facets: tuple[str, ...]) -> int:
    combo = max(combos.values(), default=0) + 1
    conn.exec_driver_sql("INSERT INTO search_combos VALUES (%s, %s, %s, %s, %s, %s, 0)", (combo, *facets))
    combos[facets] = combo
    return combo
