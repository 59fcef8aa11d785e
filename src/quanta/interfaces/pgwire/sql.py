"""SQL rewriting at the wire: bound parameters as typed literals, and telling catalog questions
(``pg_catalog``, ``information_schema``, no table at all) from reads of data products."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from quanta.interfaces.pgwire import types as t
from quanta.interfaces.pgwire.backend import WireError
from quanta.interfaces.pgwire.catalog import CATALOG_SCHEMAS, parse_catalog

if TYPE_CHECKING:
    from sqlglot import exp


def is_catalog_query(sql: str) -> bool:
    """True when no table of the query is a data product (``select 1``, ``pg_catalog.pg_type``,
    ``information_schema.tables``, unqualified ``pg_*`` tables)."""
    from sqlglot import exp

    tree = parse_catalog(sql)
    if tree is None:
        return False  # the governed parser gives the positioned error
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        schema = table.db.lower()
        name = table.name.lower()
        if schema in CATALOG_SCHEMAS or (not schema and (name.startswith("pg_") or name in ctes)):
            continue
        return False  # a product, or a table function: the governed path decides
    return True


def bind_parameters(sql: str, values: list[bytes | None], oids: list[int], formats: list[int]) -> str:
    """``sql`` with ``$n`` replaced by the n-th value as a literal of its declared type (sqlglot quotes
    it, so a value can never become SQL)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.SqlglotError as exc:
        raise WireError(
            f"syntax error: {(getattr(exc, 'errors', None) or [{'description': exc}])[0]['description']}",
            "42601",
        ) from None

    def literal(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Parameter):
            return node
        index = int(node.this.this) - 1 if isinstance(node.this, exp.Literal) else -1
        if not 0 <= index < len(values):
            raise WireError(f"there is no parameter ${index + 1}", "42P02")
        raw = values[index]
        if raw is None:
            return exp.Null()
        try:
            value = t.decode_parameter(raw, oids[index], formats[index] == 1)
        except (ValueError, UnicodeDecodeError, IndexError) as exc:
            raise WireError(str(exc) or "invalid parameter", "22P02") from None
        return typed_literal(value, oids[index])

    return tree.transform(literal).sql(dialect="postgres")


def typed_literal(value: object, oid: int) -> exp.Expr:
    from sqlglot import exp

    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"
        return exp.Cast(this=exp.Literal.string(value.isoformat(sep=" ")), to=exp.DataType.build(kind))
    if isinstance(value, date):
        return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("DATE"))
    if isinstance(value, bytes):
        return exp.Cast(this=exp.Literal.string("\\x" + value.hex()), to=exp.DataType.build("BLOB"))
    text = exp.Literal.string(str(value))
    if oid == t.UUID.oid:
        return exp.Cast(this=text, to=exp.DataType.build("UUID"))
    return text


def asks_catalog(sql: str) -> bool:
    """``is_catalog_query``, remembered (a parse of the text alone: the same text, the same answer)."""
    from quanta.interfaces.pgwire.statements import REMEMBERED_SQL

    return _remembered_catalog(sql) if len(sql) <= REMEMBERED_SQL else is_catalog_query(sql)


_remembered_catalog = lru_cache(maxsize=512)(is_catalog_query)
