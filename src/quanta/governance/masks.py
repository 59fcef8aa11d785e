"""Column masks: what a principal sees of a column it is not cleared for.

A mask is applied where the data enters the query (a masked view of the product), so it holds
through CTEs, subqueries, UNION, functions, casts, ``SELECT *`` and error messages: the query never
sees the clear value. The mask comes from the property's custom property ``mask`` or, by default, from
its type: text is redacted, numbers and dates become NULL.
"""

from __future__ import annotations

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


def masked_sql(column: str, mask: Mask, sql_type: str) -> str:
    """The SQL expression that replaces ``column`` (quoted) for someone not cleared to see it."""
    col = '"' + column.replace('"', '""') + '"'
    if mask == "hash":  # the same value always hashes the same: joins and counts still work
        return f"sha256(cast({col} as varchar))"
    if mask == "redact":
        return f"case when {col} is null then null else '****' end"
    if mask == "last4":
        return f"case when {col} is null then null else '****' || right(cast({col} as varchar), 4) end"
    if mask == "year" and sql_type.upper().startswith(("DATE", "TIMESTAMP")):
        return f"make_date(year({col}), 1, 1)"
    return f"cast(null as {sql_type})"
