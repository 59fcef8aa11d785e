"""SQL rewriting at the wire: bound parameters as typed literals, and telling catalog questions
(``pg_catalog``, ``information_schema``, no table at all) from reads of data products."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from quanta.interfaces.pgwire import types as t
from quanta.interfaces.pgwire.backend import WireError
from quanta.interfaces.pgwire.catalog import CATALOG_SCHEMAS, PG_NAMES, parse_catalog

if TYPE_CHECKING:
    from sqlglot import exp


def parsed(sql: str) -> exp.Expr | None:
    """``parse_catalog``, the trees of the last few short statements remembered: telling a catalog
    question from a product read and naming the result's columns read one parse. Read-only: never
    rewrite what it returns."""
    return _parsed(sql) if len(sql) <= _PARSED_SQL else parse_catalog(sql)


_PARSED_SQL = 4096  # longer statements are parsed each time: the remembered trees stay small
_parsed = lru_cache(maxsize=128)(parse_catalog)


def is_catalog_query(sql: str) -> bool:
    """True when no table of the query is a data product (``select 1``, ``pg_catalog.pg_type``,
    ``information_schema.tables``, unqualified ``pg_*`` tables)."""
    from sqlglot import exp

    tree = parsed(sql)
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


def postgres_names(sql: str, names: list[str]) -> list[str]:
    """The result's column names as PostgreSQL gives them: an unaliased function call is named after
    the function (``count``, not the engine's ``count_star()``), a cast after what it casts, any other
    unnamed expression ``?column?``; aliased columns and plain columns keep the engine's names. The
    engine's names when the statement's columns cannot be told apart (``*``, a count that differs)."""
    if len(sql) > _NAMED_SQL:
        return names
    given = _postgres_names(sql)
    if given is None or len(given) != len(names):
        return names
    return [ours or name for ours, name in zip(given, names, strict=True)]


_NAMED_SQL = 16_384  # longer statements keep the engine's names: the remembered ones stay small


@lru_cache(maxsize=512)
def _postgres_names(sql: str) -> tuple[str | None, ...] | None:
    from sqlglot import exp

    tree = parsed(sql)
    while isinstance(tree, exp.SetOperation):  # UNION ...: the first query names the columns
        tree = tree.left
    while isinstance(tree, exp.Select) and _only_star(tree):  # select * from (...) as q
        source = tree.args.get("from_") or tree.args.get("from")
        inner = source.this if isinstance(source, exp.From) else None
        if not isinstance(inner, exp.Subquery) or tree.args.get("joins"):
            return None
        tree = inner.this
        while isinstance(tree, exp.SetOperation):
            tree = tree.left
    if not isinstance(tree, exp.Select) or any(_is_star(p) for p in tree.expressions):
        return None
    return tuple(_unnamed(p) for p in tree.expressions)


def _only_star(select: exp.Select) -> bool:
    return len(select.expressions) == 1 and _is_star(select.expressions[0])


def _is_star(node: exp.Expr) -> bool:
    from sqlglot import exp

    return isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star))


def _unnamed(node: exp.Expr) -> str | None:
    """PostgreSQL's name for an unaliased projection; None where the engine's name is PostgreSQL's."""
    from sqlglot import exp

    if isinstance(node, exp.Alias | exp.Column):
        return None
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):  # pg_catalog.f(...)
        node = node.expression
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Func):  # as PostgreSQL writes it (sqlglot's own names differ: TimestampTrunc)
        head = node.name if isinstance(node, exp.Anonymous) else node.sql(dialect="postgres").split("(")[0]
        name = head.strip().lower().rsplit(".", 1)[-1]
        return PG_NAMES.get(name, name) if name.replace("_", "").isalnum() else "?column?"
    return "?column?"
