"""The SQLite search index on disk: its schema, writing documents into it, and its generation files.

The index path is a symbolic link to one *generation*, a complete SQLite file. A rebuild writes a new one
beside it and swaps the link in one rename: a search sees the old index or the new one, never a half-built
one, and each thread's connection follows the link again on its next search. A product's facet values
(domain, type, status, maturity, the classifications of its columns) form a *combination* whose number sits
in the low bits of the product's rowid, so counting facets over matches reads only the full-text index;
above it sits the number of words in the product's name (ranking prefers short names, without a lookup),
and the high bits count up as products are written, so the newest matches come first in rowid order.
Facet values are also indexed, as tokens of a ``facets`` column, so FTS5 intersects filters itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from quanta.discovery.search.documents import (
    FIELDS,
    ProductDocument,
    combo_pairs,
    facet_token,
    field_texts,
    vocabulary,
    words,
)
from quanta.errors import QuantaError

SCHEMA_VERSION = "2"
COMBO_BITS = 24
COMBO_MASK = (1 << COMBO_BITS) - 1
LENGTH_BITS = 6  # words in the name, up to 63
SEQ_SHIFT = COMBO_BITS + LENGTH_BITS
COLUMNS = (*FIELDS, "facets")
# Facet tokens start with a private-use character: part of a token to FTS5, never in a query's words,
# so no search can match a facet token, not even as a prefix.
FACET_MARK = "\ue000"
_TOKENIZER = f"tokenize=\"unicode61 remove_diacritics 2 tokenchars '_{FACET_MARK}'\", prefix='2 3'"

SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE combos(
    combo INTEGER PRIMARY KEY, domain TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
    maturity TEXT NOT NULL, classifications TEXT NOT NULL, products INTEGER NOT NULL DEFAULT 0,
    UNIQUE (domain, type, status, maturity, classifications));
CREATE TABLE products(
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, domain TEXT NOT NULL, type TEXT,
    status TEXT NOT NULL, owner TEXT, summary TEXT NOT NULL, id_key TEXT, name_key TEXT, short_key TEXT);
CREATE INDEX products_id_key ON products(id_key);
CREATE INDEX products_name_key ON products(name_key);
CREATE INDEX products_short_key ON products(short_key);
CREATE TABLE texts(rowid INTEGER PRIMARY KEY, {", ".join(f"{c} TEXT NOT NULL" for c in COLUMNS)});
CREATE VIRTUAL TABLE docs USING fts5({", ".join(COLUMNS)}, content='texts', content_rowid='rowid',
    {_TOKENIZER});
CREATE VIRTUAL TABLE names USING fts5(name, facets, content='texts', content_rowid='rowid', {_TOKENIZER});
CREATE TABLE vocabulary(term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE terms USING fts5(term, tokenize='trigram');
"""


def create(conn: sqlite3.Connection) -> None:
    """The tables of a new, empty generation, named so its searches can tell it from any other."""
    conn.executescript(SCHEMA)
    meta = {"schema": SCHEMA_VERSION, "file": uuid.uuid4().hex, "generation": "0"}
    conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())


def write_documents(conn: sqlite3.Connection, docs: Iterable[ProductDocument], batch: int = 1000) -> int:
    """Insert or replace documents inside the caller's transaction; returns how many were written."""
    combos = {tuple(r[1:6]): int(r[0]) for r in conn.execute("SELECT * FROM combos")}
    seq = int(conn.execute("SELECT coalesce(max(rowid), 0) >> ? FROM products", (SEQ_SHIFT,)).fetchone()[0])
    written, iterator = 0, iter(docs)
    while chunk := list(islice(iterator, batch)):
        delete_documents(conn, [d.id for d in chunk])
        products, texts, added, seen = [], [], Counter[int](), set[str]()
        for doc in chunk:
            seq, combo = seq + 1, combos.get(doc.facets) or _new_combo(conn, combos, doc.facets)
            fields = field_texts(doc)
            length = min(len(words(fields[0])), (1 << LENGTH_BITS) - 1)
            rowid = (seq << SEQ_SHIFT) | (length << COMBO_BITS) | combo
            added[combo] += 1
            products.append((rowid, *doc.display, *doc.keys))
            tokens = " ".join(FACET_MARK + facet_token(*pair) for pair in sorted(combo_pairs(doc.facets)))
            texts.append((rowid, *fields, tokens))
            seen |= vocabulary(fields)
        conn.executemany(f"INSERT INTO products VALUES ({', '.join('?' * 11)})", products)
        conn.executemany(f"INSERT INTO texts VALUES ({', '.join('?' * 8)})", texts)
        conn.executemany(
            f"INSERT INTO docs(rowid, {', '.join(COLUMNS)}) VALUES ({', '.join('?' * 8)})", texts
        )
        conn.executemany("INSERT INTO names(rowid, name, facets) VALUES (?, ?, ?)", _names(texts))
        conn.executemany("UPDATE combos SET products = products + ? WHERE combo = ?", _pairs(added))
        _add_terms(conn, seen)
        written += len(chunk)
    _touch(conn)
    return written


def delete_documents(conn: sqlite3.Connection, product_ids: list[str]) -> None:
    """Remove products from the index (unknown ids are ignored); their words stay in the vocabulary."""
    found = "SELECT rowid FROM products WHERE id IN (SELECT value FROM json_each(?))"
    rows = conn.execute(found, (json.dumps(product_ids),)).fetchall()
    if not rows:
        return
    rowids = json.dumps([r[0] for r in rows])
    # An external-content FTS5 table forgets a row only when given the exact text it indexed.
    for table, columns in (("docs", ", ".join(COLUMNS)), ("names", "name, facets")):
        conn.execute(
            f"INSERT INTO {table}({table}, rowid, {columns}) SELECT 'delete', rowid, {columns} "
            "FROM texts WHERE rowid IN (SELECT value FROM json_each(?))",
            (rowids,),
        )
    for table in ("texts", "products"):
        conn.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT value FROM json_each(?))", (rowids,))
    removed = Counter(r[0] & COMBO_MASK for r in rows)
    conn.executemany("UPDATE combos SET products = products - ? WHERE combo = ?", _pairs(removed))
    _touch(conn)


def optimize(conn: sqlite3.Connection) -> None:
    """Merge the full-text indexes into one segment each: the fastest shape to query."""
    for table in ("docs", "names"):
        conn.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")


def _touch(conn: sqlite3.Connection) -> None:
    """Count the change, so searches drop facet combinations they cached from before it."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")


def _names(texts: list[tuple[Any, ...]]) -> Iterator[tuple[Any, Any, Any]]:
    """Rows of the names index (a small one, so matches in names are found without reading the others)."""
    return ((t[0], t[1], t[-1]) for t in texts)


def _pairs(counts: Counter[int]) -> Iterator[tuple[int, int]]:
    return ((n, combo) for combo, n in counts.items())


def _new_combo(conn: sqlite3.Connection, combos: dict[tuple[Any, ...], int], facets: tuple[str, ...]) -> int:
    combo = len(combos) + 1
    if combo > COMBO_MASK:
        raise QuantaError("too many combinations of facet values for the search index")
    conn.execute("INSERT INTO combos VALUES (?, ?, ?, ?, ?, ?, 0)", (combo, *facets))
    combos[facets] = combo
    return combo


def _add_terms(conn: sqlite3.Connection, seen: set[str]) -> None:
    """Remember new words: all of them to tell whole words from prefixes, letters-only ones for typos."""
    candidates = json.dumps(sorted(seen))
    known = "SELECT term FROM vocabulary WHERE term IN (SELECT value FROM json_each(?))"
    new = sorted(seen - {r[0] for r in conn.execute(known, (candidates,))})
    conn.executemany("INSERT INTO vocabulary VALUES (?)", ((t,) for t in new))
    conn.executemany("INSERT INTO terms VALUES (?)", ((t,) for t in new if len(t) >= 3 and t.isalpha()))


# --- generation files -------------------------------------------------------------------------------------


class IndexFiles:
    """The index path (a link to the current generation) and one connection per thread to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    def build(self, write: Callable[[sqlite3.Connection], int]) -> int:
        """Write a new generation with ``write`` and swap it in; returns what ``write`` returned."""
        target = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex[:12]}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(target, isolation_level=None)
            try:
                # Until the swap nothing points at this file, so a crash needs no journal to recover.
                conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
                create(conn)
                conn.execute("BEGIN")
                result = write(conn)
                conn.execute("COMMIT")
                optimize(conn)
                conn.execute("PRAGMA journal_mode=WAL")
            finally:
                conn.close()
            self._swap(target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return result

    def _swap(self, target: Path) -> None:
        previous = Path(os.path.realpath(self.path)) if self.path.is_symlink() else None
        link = target.with_name(f"{target.name}.link")
        link.symlink_to(target.name)
        link.replace(self.path)
        # The generation replaced, and leftovers of crashed rebuilds (surely no longer being written).
        # A connection still reading a deleted generation keeps its open file until its next search.
        hour_ago = time.time() - 3600
        for old in [*self.path.parent.glob(f"{self.path.name}.*"), *([previous] if previous else [])]:
            with contextlib.suppress(OSError):  # a concurrent rebuild may remove it first
                if not old.name.startswith(target.name) and (
                    old == previous or old.lstat().st_mtime < hour_ago
                ):
                    for file in (old, Path(f"{old}-wal"), Path(f"{old}-shm")):
                        file.unlink(missing_ok=True)

    def connection(self) -> sqlite3.Connection | None:
        """This thread's connection to the current generation (None without an index)."""
        for _ in range(5):
            try:
                stat = self.path.stat()  # the generation the link points to (one system call)
            except FileNotFoundError:
                if not os.path.lexists(self.path):
                    return None
                continue  # swapped and deleted since the link was read: read it again
            conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
            if conn is not None and self.local.inode == (stat.st_dev, stat.st_ino):
                return conn
            if conn is not None:
                self._forget(conn)
            real = Path(os.path.realpath(self.path))
            if not _same_file(real, stat):
                continue  # swapped since stat(): read the link again
            try:
                conn = sqlite3.connect(
                    f"{real.as_uri()}?mode=rw", uri=True, isolation_level=None, check_same_thread=False
                )
            except sqlite3.OperationalError:
                continue
            conn.executescript(
                "PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=268435456;"
            )
            with self._lock:
                self._connections.append(conn)
            self.local.conn, self.local.inode = conn, (stat.st_dev, stat.st_ino)
            return conn
        return None

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self.local = threading.local()

    def _forget(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()


def _same_file(path: Path, stat: os.stat_result) -> bool:
    try:
        found = path.stat()
    except FileNotFoundError:
        return False
    return (found.st_dev, found.st_ino) == (stat.st_dev, stat.st_ino)
