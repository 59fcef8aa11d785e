"""What the search index holds: one flattened document per product, written to SQLite FTS5 tables.

Each product's facet values (domain, type, status, maturity, column classifications) form a *combination*
with a small id kept in the low bits of the product's rowid, so counting facets over every match reads
only the full-text index, never the product rows.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.registry import Registry

SCHEMA_VERSION = "1"
COMBO_BITS = 24
COMBO_MASK = (1 << COMBO_BITS) - 1
FIELDS = ("name", "tags", "glossary", "description", "columns", "owner")
_WORD = re.compile(r"[^\W_]+")
_VOCABULARY_WORD = re.compile(r"[^\W\d_]{3,40}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_GLOSSARY_PROPERTIES = {"glossary", "terms", "glossaryterms", "businessterms"}

SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '{SCHEMA_VERSION}');
CREATE TABLE combos(
    combo INTEGER PRIMARY KEY, domain TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
    maturity TEXT NOT NULL, classifications TEXT NOT NULL, products INTEGER NOT NULL DEFAULT 0,
    UNIQUE (domain, type, status, maturity, classifications));
CREATE TABLE products(
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, domain TEXT NOT NULL,
    type TEXT, status TEXT NOT NULL, owner TEXT, summary TEXT NOT NULL,
    id_key TEXT NOT NULL, name_key TEXT NOT NULL, short_key TEXT NOT NULL);
CREATE INDEX products_id_key ON products(id_key);
CREATE INDEX products_name_key ON products(name_key);
CREATE INDEX products_short_key ON products(short_key);
CREATE TABLE texts(rowid INTEGER PRIMARY KEY, {", ".join(f"{f} TEXT NOT NULL" for f in FIELDS)});
CREATE VIRTUAL TABLE docs USING fts5({", ".join(FIELDS)}, content='texts', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
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
    def classifications(self) -> tuple[str, ...]:
        return tuple(sorted({c.classification for c in self.columns if c.classification}))


@dataclass(frozen=True)
class Combo:
    """One combination of facet values that products share, and how many products have it."""

    domain: str
    type: str
    status: str
    maturity: str
    classifications: tuple[str, ...]
    products: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Combo:
        _, domain, type_, status, maturity, classes, products = row
        return cls(domain, type_, status, maturity, tuple(c for c in classes.split("\n") if c), products)

    def values(self) -> dict[str, tuple[str, ...]]:
        """Facet name ► the values products with this combination have ('' meaning none is left out)."""
        single = {"domain": self.domain, "type": self.type, "status": self.status, "maturity": self.maturity}
        return {**{k: (v,) if v else () for k, v in single.items()}, "classification": self.classifications}

    def has(self, filters: dict[str, str]) -> bool:
        values = self.values()
        return all(value in values[facet] for facet, value in filters.items())


def words(text: str) -> list[str]:
    """Lower-case words as the index's tokenizer sees them (underscores and dots separate words)."""
    return _WORD.findall(text.lower())


def key(text: str) -> str:
    """The form exact-name matching compares: ``Revenue_by nation`` and ``revenue by nation`` are equal."""
    return " ".join(words(text))


def _identifier(name: str) -> str:
    """A column or product name plus its camelCase parts, so ``customerId`` is found by ``customer id``."""
    split = _CAMEL.sub(" ", name)
    return f"{name} {split}" if split != name else name


def field_texts(doc: ProductDocument) -> tuple[str, ...]:
    """Text per FTS field; tags, glossary terms and columns one per line, a column as name<TAB>text."""
    columns = (f"{_clean(c.name)}\t{_identifier(c.name)} {_clean(c.text)}" for c in doc.columns)
    return (
        f"{doc.id} {_identifier(doc.name)}",
        "\n".join(_clean(t) for t in doc.tags),
        "\n".join(_clean(t) for t in doc.glossary),
        doc.description,
        "\n".join(columns),
        " ".join(doc.people or ([doc.owner] if doc.owner else [])),
    )


def _clean(text: str) -> str:
    return " ".join(text.split())


# --- writing --------------------------------------------------------------------------------------------


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def write_documents(conn: sqlite3.Connection, docs: Iterable[ProductDocument], batch: int = 1000) -> int:
    """Insert or replace documents inside the caller's transaction; returns how many were written."""
    combos = {
        tuple(r[1:]): int(r[0])
        for r in conn.execute("SELECT combo, domain, type, status, maturity, classifications FROM combos")
    }
    seq = int(conn.execute("SELECT coalesce(max(rowid), 0) >> ? FROM products", (COMBO_BITS,)).fetchone()[0])
    known = {str(r[0]) for r in conn.execute("SELECT term FROM vocabulary")}
    written = 0
    iterator = iter(docs)
    while chunk := list(islice(iterator, batch)):
        delete_documents(conn, [d.id for d in chunk])
        products, texts, added = [], [], Counter[int]()
        new_terms: set[str] = set()
        for doc in chunk:
            seq += 1
            combo = _combo(conn, combos, doc)
            rowid = (seq << COMBO_BITS) | combo
            added[combo] += 1
            short = doc.id.split(".", 1)[-1]
            display = (doc.id, doc.name, doc.domain, doc.type, doc.status, doc.owner, doc.summary)
            products.append((rowid, *display, key(doc.id), key(doc.name), key(short)))
            fields = field_texts(doc)
            texts.append((rowid, *fields))
            new_terms.update(t for t in _VOCABULARY_WORD.findall(" ".join(fields).lower()) if t not in known)
        conn.executemany(f"INSERT INTO products VALUES ({', '.join('?' * 11)})", products)
        conn.executemany(f"INSERT INTO texts VALUES ({', '.join('?' * 7)})", texts)
        conn.executemany(f"INSERT INTO docs(rowid, {', '.join(FIELDS)}) VALUES ({', '.join('?' * 7)})", texts)
        conn.executemany("UPDATE combos SET products = products + ? WHERE combo = ?", _pairs(added))
        conn.executemany("INSERT INTO vocabulary VALUES (?)", ((t,) for t in sorted(new_terms)))
        conn.executemany("INSERT INTO terms(term) VALUES (?)", ((t,) for t in sorted(new_terms)))
        known |= new_terms
        written += len(chunk)
    return written


def delete_documents(conn: sqlite3.Connection, product_ids: list[str]) -> None:
    """Remove products from the index (unknown ids are ignored); words stay in the vocabulary."""
    rows = conn.execute(
        "SELECT rowid FROM products WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(product_ids),)
    ).fetchall()
    if not rows:
        return
    rowids = json.dumps([r[0] for r in rows])
    # External-content FTS5 tables forget a row only when told the exact text they indexed.
    conn.execute(
        f"INSERT INTO docs(docs, rowid, {', '.join(FIELDS)}) SELECT 'delete', rowid, {', '.join(FIELDS)} "
        "FROM texts WHERE rowid IN (SELECT value FROM json_each(?))",
        (rowids,),
    )
    for table in ("texts", "products"):
        conn.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT value FROM json_each(?))", (rowids,))
    removed = Counter(r[0] & COMBO_MASK for r in rows)
    conn.executemany("UPDATE combos SET products = products - ? WHERE combo = ?", _pairs(removed))


def _pairs(counts: Counter[int]) -> Iterator[tuple[int, int]]:
    return ((n, combo) for combo, n in counts.items())


def _combo(conn: sqlite3.Connection, combos: dict[tuple[Any, ...], int], doc: ProductDocument) -> int:
    # '' stands for "none" so the UNIQUE constraint sees equal combinations as equal (NULLs never are).
    values = (doc.domain, doc.type or "", doc.status, doc.maturity or "", "\n".join(doc.classifications))
    found = combos.get(values)
    if found is None:
        found = len(combos) + 1
        if found > COMBO_MASK:
            raise OverflowError("more facet combinations than the index can number")
        conn.execute("INSERT INTO combos VALUES (?, ?, ?, ?, ?, ?, 0)", (found, *values))
        combos[values] = found
    return found


# --- reading the registry ---------------------------------------------------------------------------------


def document_for(registry: Registry, product_id: str) -> ProductDocument:
    """Flatten the latest registered version of a product and its output ports' contracts."""
    descriptor = registry.descriptor(product_id)
    contracts = registry.port_contracts(product_id, descriptor.get("version"))
    description = descriptor.get("description") or {}
    if isinstance(description, str):
        description = {"purpose": description}
    parts = [description.get(k) for k in ("purpose", "usage", "limitations")]
    tags = list(descriptor.get("tags") or [])
    glossary = _glossary(descriptor)
    columns: list[ColumnText] = []
    for contract in contracts.values():
        parts.extend(_description_texts(contract.get("description")))
        tags.extend(contract.get("tags") or [])
        glossary.extend(_glossary(contract))
        for obj in contract.get("schema") or []:
            parts.append(obj.get("description"))
            tags.extend(obj.get("tags") or [])
            glossary.extend(_glossary(obj))
            columns.extend(_columns(obj.get("properties") or [], "", glossary))
    custom = {p.get("property"): p.get("value") for p in descriptor.get("customProperties") or []}
    maturity = custom.get("maturity")
    texts = [str(p) for p in parts if p]
    return ProductDocument(
        id=product_id,
        name=str(descriptor.get("name") or product_id.rsplit(".", 1)[-1]),
        domain=str(descriptor.get("domain") or product_id.split(".", 1)[0]),
        status=str(descriptor.get("status") or "draft"),
        type=descriptor.get("type"),
        owner=_owner(descriptor),
        maturity=str(maturity) if maturity not in (None, "") else None,
        summary=_summary(texts[0] if texts else ""),
        description="\n".join(texts),
        tags=tuple(dict.fromkeys(str(t) for t in tags)),
        glossary=tuple(dict.fromkeys(glossary)),
        people=_people(descriptor),
        columns=tuple(columns),
    )


def _columns(properties: list[dict[str, Any]], prefix: str, glossary: list[str]) -> Iterator[ColumnText]:
    for prop in properties:
        name = f"{prefix}{prop.get('name') or ''}"
        terms = _glossary(prop)
        glossary.extend(terms)
        text = [prop.get("businessName"), prop.get("description"), *(prop.get("tags") or []), *terms]
        yield ColumnText(name, " ".join(str(t) for t in text if t), prop.get("classification"))
        nested = list(prop.get("properties") or []) + list((prop.get("items") or {}).get("properties") or [])
        yield from _columns(nested, f"{name}.", glossary)


def _glossary(element: dict[str, Any]) -> list[str]:
    """Glossary terms: authoritative definitions of type businessDefinition, or a glossary/terms property."""
    terms: list[str] = []
    for definition in element.get("authoritativeDefinitions") or []:
        if str(definition.get("type", "")).lower().replace(" ", "") == "businessdefinition":
            url = str(definition.get("url") or "").rstrip("/")
            last = url.rsplit("/", 1)[-1].split("#")[-1].replace("-", " ").replace("_", " ")
            term = last if re.search(r"[^\W\d_]", last) else definition.get("description") or url
            terms.append(str(term))
    for prop in element.get("customProperties") or []:
        if str(prop.get("property", "")).lower().replace("_", "") in _GLOSSARY_PROPERTIES:
            value = prop.get("value")
            items = value if isinstance(value, list) else str(value or "").split(",")
            terms.extend(str(v).strip() for v in items if str(v).strip())
    return terms


def _description_texts(description: Any) -> list[str]:
    if isinstance(description, dict):
        return [str(v) for k, v in description.items() if k in ("purpose", "usage", "limitations") and v]
    return [str(description)] if description else []


def _owner(descriptor: dict[str, Any]) -> str | None:
    # The registry's rule (DataProduct.owner_name), on the stored dict: old versions need not validate.
    if descriptor.get("owner"):
        return str(descriptor["owner"])
    for member in (descriptor.get("team") or {}).get("members") or []:
        if str(member.get("role") or "").lower() in ("owner", "product owner", "data product owner"):
            return str(member.get("username"))
    return None


def _people(descriptor: dict[str, Any]) -> tuple[str, ...]:
    team = descriptor.get("team") or {}
    found = [descriptor.get("owner"), team.get("name")]
    for member in team.get("members") or []:
        found += [member.get("username"), member.get("name")]
    return tuple(dict.fromkeys(str(p) for p in found if p))


def _summary(text: str, width: int = 200) -> str:
    text = _clean(text)
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"
