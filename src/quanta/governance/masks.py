"""Column masks: what a principal sees of a column it is not cleared for.

A mask is applied where the data enters the query (a masked view of the product), so it holds
through CTEs, subqueries, UNION, functions, casts, ``SELECT *`` and error messages: the query never
sees the clear value. The mask comes from the property's custom property ``mask`` or, by default, from
its type: text is redacted, numbers and dates become NULL.

``hash`` is HMAC-SHA-256 under the mesh's mask key (:mod:`quanta.governance.keys`): equal values give
equal hashes in every product and query (joins and counts still work), but without the key nobody can
hash guesses of a low-entropy value (a phone number, a birth date) to find the one that matches.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from quanta.governance.model import Principal
from quanta.spec.contract import SchemaObject, SchemaProperty

Mask = Literal["hash", "redact", "last4", "null", "year"]
MASKS: tuple[Mask, ...] = ("hash", "redact", "last4", "null", "year")


@dataclass(frozen=True)
class ColumnView:
    """How one column appears to one principal: in clear, or through a mask."""

    column: str
    mask: Mask | None
    level: str | None
    tags: tuple[str, ...]


def column_views(obj: SchemaObject, principal: Principal) -> list[ColumnView]:
    """Every property of the object as the principal may see it."""
    views = []
    for prop in obj.properties or []:
        tags = tuple(sorted({t.lower() for t in prop.tags or []}))
        clear = principal.cleared_for(prop.classification, set(tags))
        views.append(ColumnView(prop.column, None if clear else mask_of(prop), prop.classification, tags))
    return views


def mask_of(prop: SchemaProperty) -> Mask:
    chosen = str(_custom(prop, "mask") or "").lower()
    if chosen in MASKS:
        return chosen
    return "redact" if (prop.logical_type or "string") == "string" else "null"


def _custom(prop: SchemaProperty, name: str) -> object:
    for item in prop.custom_properties or []:
        if item.property == name:
            return item.value
    return None


def masked_sql(column: str, mask: Mask, sql_type: str, key: bytes) -> str:
    """The SQL expression that replaces ``column`` (quoted) for someone not cleared to see it;
    ``key`` is the mesh's mask key (the ``hash`` mask's HMAC key)."""
    col = '"' + column.replace('"', '""') + '"'
    if mask == "hash":  # the same value always hashes the same: joins and counts still work
        return hmac_sql(f"cast({col} as varchar)", key)
    if mask == "redact":
        return f"case when {col} is null then null else '****' end"
    if mask == "last4":
        return f"case when {col} is null then null else '****' || right(cast({col} as varchar), 4) end"
    if mask == "year" and sql_type.upper().startswith(("DATE", "TIMESTAMP")):
        return f"make_date(year({col}), 1, 1)"
    return f"cast(null as {sql_type})"


def hmac_sql(text: str, key: bytes) -> str:
    """HMAC-SHA-256 (RFC 2104) of the UTF-8 text ``text`` as a DuckDB expression, in lower-case hex.

    DuckDB has no ``hmac`` function, but HMAC is two SHA-256 passes over constant pads: the inner
    and outer pads are literals, and DuckDB's native, vectorised ``sha256`` of a BLOB does the rest
    (about three times the cost of one plain ``sha256``; no Python call per row). The pads are
    derived from the key, so the expression lives only in the engine's views, which queries cannot
    name or read (the parser admits product ids only, the catalog functions are refused).
    """
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
    block = block.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in block).hex()
    outer = bytes(b ^ 0x5C for b in block).hex()
    return f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({text}))))"


def keyed_hash(value: str, key: bytes) -> str:
    """What the ``hash`` mask shows for ``value`` (the same as :func:`hmac_sql` computes)."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


_BLOCK = 64  # SHA-256's block size in bytes
