"""The search index on disk: product documents, the tables they are written to, the generation files.

The index path is a symbolic link to one *generation*, a complete SQLite file. A rebuild writes a new one
beside it and swaps the link in one rename: a search sees the old index or the new one, never a half-built
one, and each thread's connection follows the link again on its next search. A product's facet values
(domain, type, status, maturity, the classifications of its columns) form a *combination* whose number sits
in the low bits of the product's rowid, so counting facets over matches reads only the full-text index.
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.errors import QuantaError

if TYPE_CHECKING:
    from quanta.registry import Registry

SCHEMA_VERSION = "1"
COMBO_BITS = 24
COMBO_MASK = (1 << COMBO_BITS) - 1
FIELDS = ("name", "tags", "glossary", "description", "columns", "owner")
REBUILD_HINT = "rebuild it from the registry (SearchIndex.rebuild); it is derived data, safe to delete"
_WORD = re.compile(r"\w+")
_KEY_WORD = re.compile(r"[^\W_]+")
_IDENTIFIER = re.compile(r"\w*(?:[^\W_]_[^\W_]|[a-z0-9][A-Z])\w*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_GLOSSARY_PROPERTIES = {"glossary", "terms", "glossaryterms", "businessterms"}
_OWNER_ROLES = ("owner", "product owner", "data product owner")

SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '{SCHEMA_VERSION}');
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
CREATE TABLE texts(rowid INTEGER PRIMARY KEY, {", ".join(f"{f} TEXT NOT NULL" for f in FIELDS)});
CREATE VIRTUAL TABLE docs USING fts5({", ".join(FIELDS)}, content='texts', content_rowid='rowid',
    tokenize="unicode61 remove_diacritics 2 tokenchars '_'", prefix='2 3');
CREATE VIRTUAL TABLE names USING fts5(name, content='texts', content_rowid='rowid',
    tokenize="unicode61 remove_diacritics 2 tokenchars '_'", prefix='2 3');
CREATE TABLE vocabulary(term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE terms USING fts5(term, tokenize='trigram');
"""


@dataclass(frozen=True)
class ColumnText:
    """One column of an output port: its name, the words describing it, its classification."""

    name: str
    text: str = ""
    classification: str | None = None


@dataclass(frozen=True)
class ProductDocument:
    """A product flattened for search: display fields, facet values, text per field, one text per column."""

    id: str
    name: str
    domain: str
    status: str
    type: str | None = None
    owner: str | None = None
    maturity: str | None = None
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    glossary: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    columns: tuple[ColumnText, ...] = ()

    @property
    def facets(self) -> tuple[str, str, str, str, str]:
        """Domain, type, status, maturity, classifications: the combination ('' for none)."""
        classes = sorted({c.classification for c in self.columns if c.classification})
        return (self.domain, self.type or "", self.status, self.maturity or "", "\n".join(classes))


@dataclass(frozen=True)
class Combo:
    """One combination of facet values, as (facet, value) pairs, and how many products have it."""

    pairs: frozenset[tuple[str, str]]
    products: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Combo:
        _, domain, type_, status, maturity, classes, products = row
        single = {"domain": domain, "type": type_, "status": status, "maturity": maturity}
        pairs = {(k, v) for k, v in single.items() if v} | {
            ("classification", c) for c in classes.split("\n")
        }
        return cls(frozenset(p for p in pairs if p[1]), products)


def words(text: str) -> list[str]:
    """Lower-case tokens as the index's tokenizer sees them (``_`` joins, other punctuation separates)."""
    return _WORD.findall(text.lower())


def key(text: str) -> str:
    """The form exact-name matching compares: ``Revenue_by nation`` and ``revenue by nation`` are equal."""
    return " ".join(_KEY_WORD.findall(text.lower()))


def _parts(text: str) -> str:
    """The parts of each snake_case or camelCase identifier in ``text``, so a part finds the identifier."""
    return " ".join(_CAMEL.sub(" ", w).replace("_", " ") for w in _IDENTIFIER.findall(text))


def _expand(text: str) -> str:
    return f"{' '.join(text.split())} {_parts(text)}".strip()


def _labelled(label: str, text: str = "") -> str:
    """One line of a list field: its label (shown in ``matched``), a tab, then words that find it."""
    return f"{' '.join(label.split())}\t{_parts(label)} {_expand(text)}".rstrip()


def field_texts(doc: ProductDocument) -> tuple[str, ...]:
    """Text per FTS field; tags, glossary terms and columns one labelled line each."""
    return (
        f"{doc.id} {_parts(doc.id)} {_expand(doc.name)}",
        "\n".join(_labelled(t) for t in doc.tags),
        "\n".join(_labelled(t) for t in doc.glossary),
        _expand(doc.description),
        "\n".join(_labelled(c.name, c.text) for c in doc.columns),
        " ".join(doc.people or ([doc.owner] if doc.owner else [])),
    )


# --- writing --------------------------------------------------------------------------------------------


def write_documents(conn: sqlite3.Connection, docs: Iterable[ProductDocument], batch: int = 1000) -> int:
    """Insert or replace documents inside the caller's transaction; returns how many were written."""
    combos = {tuple(r[1:6]): int(r[0]) for r in conn.execute("SELECT * FROM combos")}
    seq = int(conn.execute("SELECT coalesce(max(rowid), 0) >> ? FROM products", (COMBO_BITS,)).fetchone()[0])
    written, iterator = 0, iter(docs)
    while chunk := list(islice(iterator, batch)):
        delete_documents(conn, [d.id for d in chunk])
        products, texts, added, seen = [], [], Counter[int](), set[str]()
        for doc in chunk:
            seq, combo = seq + 1, combos.get(doc.facets) or _new_combo(conn, combos, doc.facets)
            rowid, short = (seq << COMBO_BITS) | combo, doc.id.split(".", 1)[-1]
            added[combo] += 1
            display = (doc.id, doc.name, doc.domain, doc.type, doc.status, doc.owner, doc.summary)
            products.append((rowid, *display, key(doc.id), key(doc.name), key(short)))
            fields = field_texts(doc)
            texts.append((rowid, *fields))
            seen.update(words(" ".join(fields)))
        conn.executemany(f"INSERT INTO products VALUES ({', '.join('?' * 11)})", products)
        conn.executemany(f"INSERT INTO texts VALUES ({', '.join('?' * 7)})", texts)
        conn.executemany(f"INSERT INTO docs(rowid, {', '.join(FIELDS)}) VALUES ({', '.join('?' * 7)})", texts)
        conn.executemany("INSERT INTO names(rowid, name) VALUES (?, ?)", (t[:2] for t in texts))
        conn.executemany("UPDATE combos SET products = products + ? WHERE combo = ?", _pairs(added))
        _add_terms(conn, seen)
        written += len(chunk)
    return written


def delete_documents(conn: sqlite3.Connection, product_ids: list[str]) -> None:
    """Remove products from the index (unknown ids are ignored); their words stay in the vocabulary."""
    found = "SELECT rowid FROM products WHERE id IN (SELECT value FROM json_each(?))"
    rows = conn.execute(found, (json.dumps(product_ids),)).fetchall()
    if not rows:
        return
    rowids = json.dumps([r[0] for r in rows])
    # An external-content FTS5 table forgets a row only when given the exact text it indexed.
    for table, fields in (("docs", ", ".join(FIELDS)), ("names", "name")):
        conn.execute(
            f"INSERT INTO {table}({table}, rowid, {fields}) SELECT 'delete', rowid, {fields} "
            "FROM texts WHERE rowid IN (SELECT value FROM json_each(?))",
            (rowids,),
        )
    for table in ("texts", "products"):
        conn.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT value FROM json_each(?))", (rowids,))
    removed = Counter(r[0] & COMBO_MASK for r in rows)
    conn.executemany("UPDATE combos SET products = products - ? WHERE combo = ?", _pairs(removed))


def optimize(conn: sqlite3.Connection) -> None:
    """Merge the full-text indexes into one segment each: the fastest shape to query."""
    for table in ("docs", "names"):
        conn.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")


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
    candidates = json.dumps(sorted(t for t in seen if len(t) <= 40))
    known = "SELECT term FROM vocabulary WHERE term IN (SELECT value FROM json_each(?))"
    new = sorted(set(json.loads(candidates)) - {r[0] for r in conn.execute(known, (candidates,))})
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
                conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
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
            if not os.path.lexists(self.path):
                return None
            real = Path(os.path.realpath(self.path))
            try:
                stat = real.stat()
            except FileNotFoundError:
                continue  # swapped and deleted since the link was read: read it again
            conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
            if conn is not None and self.local.inode == (stat.st_dev, stat.st_ino):
                return conn
            if conn is not None:
                self._forget(conn)
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
            self.local.conn, self.local.inode, self.local.cache = conn, (stat.st_dev, stat.st_ino), None
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


# --- reading the registry ---------------------------------------------------------------------------------


def document_for(registry: Registry, product_id: str) -> ProductDocument:
    """Flatten the latest registered version of a product and its output ports' contracts."""
    descriptor = registry.descriptor(product_id)
    contracts = registry.port_contracts(product_id, descriptor.get("version"))
    parts = _description(descriptor.get("description"))
    tags, glossary, columns = list(descriptor.get("tags") or []), _glossary(descriptor), list[ColumnText]()
    for contract in contracts.values():
        parts += _description(contract.get("description"))
        tags += contract.get("tags") or []
        glossary += _glossary(contract)
        for obj in contract.get("schema") or []:
            parts += _description(obj.get("description"))
            tags += obj.get("tags") or []
            glossary += _glossary(obj)
            columns += _columns(obj.get("properties") or [], "", glossary)
    custom = {p.get("property"): p.get("value") for p in descriptor.get("customProperties") or []}
    team = descriptor.get("team") or {}
    members = team.get("members") or []
    owner = descriptor.get("owner") or next(
        (m.get("username") for m in members if str(m.get("role") or "").lower() in _OWNER_ROLES), None
    )  # the registry's rule (DataProduct.owner_name), on the stored dict: old versions need not validate
    people = [descriptor.get("owner"), team.get("name")] + [
        v for m in members for v in (m.get("username"), m.get("name"))
    ]
    summary = " ".join(parts[0].split()) if parts else ""
    return ProductDocument(
        id=product_id,
        name=str(descriptor.get("name") or product_id.rsplit(".", 1)[-1]),
        domain=str(descriptor.get("domain") or product_id.split(".", 1)[0]),
        status=str(descriptor.get("status") or "draft"),
        type=descriptor.get("type"),
        owner=str(owner) if owner else None,
        maturity=str(custom["maturity"]) if custom.get("maturity") else None,
        summary=summary if len(summary) <= 200 else summary[:199].rsplit(" ", 1)[0] + "…",
        description="\n".join(parts),
        tags=tuple(dict.fromkeys(str(t) for t in tags)),
        glossary=tuple(dict.fromkeys(glossary)),
        people=tuple(dict.fromkeys(str(p) for p in people if p)),
        columns=tuple(columns),
    )


def _columns(properties: list[dict[str, Any]], prefix: str, glossary: list[str]) -> list[ColumnText]:
    """Columns of a schema object, nested ones as ``parent.child``; their glossary terms join ``glossary``."""
    found = []
    for prop in properties:
        name, terms = f"{prefix}{prop.get('name') or ''}", _glossary(prop)
        glossary += terms
        text = [prop.get("businessName"), prop.get("description"), *(prop.get("tags") or []), *terms]
        found.append(ColumnText(name, " ".join(str(t) for t in text if t), prop.get("classification")))
        nested = list(prop.get("properties") or []) + list((prop.get("items") or {}).get("properties") or [])
        found += _columns(nested, f"{name}.", glossary)
    return found


def _glossary(element: dict[str, Any]) -> list[str]:
    """Glossary terms: authoritative definitions of type businessDefinition, or a glossary/terms property."""
    terms: list[str] = []
    for definition in element.get("authoritativeDefinitions") or []:
        if str(definition.get("type", "")).lower().replace(" ", "") == "businessdefinition":
            url = str(definition.get("url") or "").rstrip("/")
            last = url.rsplit("/", 1)[-1].split("#")[-1].replace("-", " ").replace("_", " ")
            terms.append(last if re.search(r"[^\W\d_]", last) else str(definition.get("description") or url))
    for prop in element.get("customProperties") or []:
        if str(prop.get("property", "")).lower().replace("_", "") in _GLOSSARY_PROPERTIES:
            value = prop.get("value")
            items = value if isinstance(value, list) else str(value or "").split(",")
            terms += [str(v).strip() for v in items if str(v).strip()]
    return terms


def _description(description: Any) -> list[str]:
    if isinstance(description, dict):
        return [str(description[k]) for k in ("purpose", "usage", "limitations") if description.get(k)]
    return [str(description)] if description else []
