"""Products as search documents: the fields a search looks at, the words in them, their facet values.

Backend-neutral: the SQLite and PostgreSQL indexes store what this module produces. Words are split the
way the SQLite FTS5 tokenizer splits them (``_`` joins, other punctuation separates, accents dropped), so
both indexes and the query parser agree on what a word is.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.registry import Registry

FIELDS = ("name", "tags", "glossary", "description", "columns", "owner")
FACETS = ("domain", "type", "status", "classification", "maturity")
MAX_WORD = 40  # longer "words" (hashes, encoded blobs) are not worth remembering for typo correction
_WORD = re.compile(r"\w+")
_KEY_WORD = re.compile(r"[^\W_]+")
_IDENTIFIER = re.compile(r"\w*(?:[^\W_]_[^\W_]|[a-z0-9][A-Z])\w*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_GLOSSARY_PROPERTIES = {"glossary", "terms", "glossaryterms", "businessterms"}
_OWNER_ROLES = ("owner", "product owner", "data product owner")


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

    @property
    def display(self) -> tuple[str, str, str, str | None, str, str | None, str]:
        """What a hit shows: id, name, domain, type, status, owner, summary."""
        return (self.id, self.name, self.domain, self.type, self.status, self.owner, self.summary)

    @property
    def keys(self) -> tuple[str, str, str]:
        """The forms an exact-name query is compared with: the id, the name, the id without its domain."""
        return key(self.id), key(self.name), key(self.id.split(".", 1)[-1])


@dataclass(frozen=True)
class Combo:
    """One combination of facet values, as (facet, value) pairs, and how many products have it."""

    pairs: frozenset[tuple[str, str]]
    products: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Combo:
        """From (combo, domain, type, status, maturity, classifications, products)."""
        _, domain, type_, status, maturity, classes, products = row
        return cls(combo_pairs((domain, type_, status, maturity, classes)), int(products))


def combo_pairs(facets: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    """(facet, value) pairs of a combination as ``ProductDocument.facets`` gives it; empty values left out."""
    domain, type_, status, maturity, classes = facets
    single = {"domain": domain, "type": type_, "status": status, "maturity": maturity}
    pairs = {(k, v) for k, v in single.items() if v} | {("classification", c) for c in classes.split("\n")}
    return frozenset(p for p in pairs if p[1])


def facet_token(facet: str, value: str) -> str:
    """One index token standing for a facet value: filters become terms the full-text index intersects."""
    return "f" + hashlib.blake2b(f"{facet}\t{value}".encode(), digest_size=8).hexdigest()


def fold(text: str) -> str:
    """Lower case without accents: what the SQLite tokenizer (remove_diacritics 2) indexes."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Tokens as the indexes see them (``_`` joins, other punctuation separates, accents dropped)."""
    low = text.lower()
    return _WORD.findall(low if low.isascii() else fold(low))


def key(text: str) -> str:
    """The form exact-name matching compares: ``Revenue_by nation`` and ``revenue by nation`` are equal."""
    return " ".join(_KEY_WORD.findall(fold(text)))


def _parts(text: str) -> str:
    """The parts of each snake_case or camelCase identifier in ``text``, so a part finds the identifier."""
    return " ".join(_CAMEL.sub(" ", w).replace("_", " ") for w in _IDENTIFIER.findall(text))


def _expand(text: str) -> str:
    return f"{' '.join(text.split())} {_parts(text)}".strip()


def _labelled(label: str, text: str = "") -> str:
    """One line of a list field: its label (shown in ``matched``), a tab, then words that find it."""
    return f"{' '.join(label.split())}\t{_parts(label)} {_expand(text)}".rstrip()


def field_texts(doc: ProductDocument) -> tuple[str, ...]:
    """Text per field (see FIELDS); tags, glossary terms and columns one labelled line each."""
    return (
        f"{doc.id} {_parts(doc.id)} {_expand(doc.name)}",
        "\n".join(_labelled(t) for t in doc.tags),
        "\n".join(_labelled(t) for t in doc.glossary),
        _expand(doc.description),
        "\n".join(_labelled(c.name, c.text) for c in doc.columns),
        " ".join(doc.people or ([doc.owner] if doc.owner else [])),
    )


def vocabulary(texts: tuple[str, ...]) -> set[str]:
    """The words of a document worth remembering: to tell whole words from prefixes, and to fix typos."""
    return {w for w in words(" ".join(texts)) if len(w) <= MAX_WORD}


# --- reading the registry ---------------------------------------------------------------------------------


def document_for(registry: Registry, product_id: str, maturity: str | None = None) -> ProductDocument:
    """Flatten the version consumers read (the latest registered one before any publish) of a product
    and its output ports' contracts; ``maturity`` is its DATSIS level (else a ``maturity`` property)."""
    descriptor = registry.descriptor(product_id, registry.served_versions([product_id]).get(product_id))
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
        maturity=maturity or (str(custom["maturity"]) if custom.get("maturity") else None),
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
