"""Find the data products a SQL statement reads and rewrite them to engine views.

``sales.orders`` reads the current published version; ``"sales.orders@1.0.0"`` the latest publish of
that version; ``"sales.orders@2026-11-21T10:00:00"`` what was current at that time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quanta.errors import NotFoundError, PermissionDenied, QuantaError

if TYPE_CHECKING:
    from sqlglot import exp

_REF = re.compile(r"^(?P<product>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)(?:@(?P<at>.+))?$")


class QueryError(QuantaError):
    """A query cannot run: it does not parse, names no product, or reads something it may not."""

    sqlstate: str | None = None
    """For a failure of the engine, the SQLSTATE of its ``EngineError`` (for PostgreSQL-wire clients)."""


class UnknownProduct(QueryError, NotFoundError):
    """The query names a product that is not registered."""

    status = 404


class AccessDenied(QueryError, PermissionDenied):
    """The query reads a product the acting principal may not read (a PermissionDenied, as the SDK
    and every client name it)."""

    status = 403

    def __init__(self, message: str, *, product_id: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.product_id = product_id


@dataclass(frozen=True)
class ProductRef:
    """One product reference in a query, with the view name it was rewritten to."""

    product_id: str
    at: str | None
    view: str


def parse_ref(text: str) -> tuple[str, str | None] | None:
    match = _REF.match(text)
    return (match["product"], match["at"]) if match else None


def parse_one_statement(sql: str) -> exp.Expr:
    """The one statement in ``sql`` (DuckDB dialect); a parse error says where, and several
    statements are refused."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (SqlglotError, ValueError) as exc:  # TokenError (an unclosed quote) is not a ParseError
        first = (getattr(exc, "errors", None) or [{}])[0]
        raise QueryError(
            f"SQL does not parse: {first.get('description') or exc} (line {first.get('line')}, "
            f"column {first.get('col')})",
            hint="check the syntax near that position",
        ) from None
    if len(statements) != 1:
        raise QueryError("run exactly one statement", hint="remove the extra ';'")
    return statements[0]


def bind_products(sql: str, known: set[str]) -> tuple[str, list[ProductRef]]:
    """Rewrite product references to view names; anything else that looks like a table is an error."""
    from sqlglot import exp

    tree = parse_one_statement(sql)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    refs: dict[str, ProductRef] = {}
    for table in list(tree.find_all(exp.Table)):
        name = table.name
        if not table.args.get("db") and name in ctes:
            continue
        text = f"{table.args['db'].name}.{name}" if table.args.get("db") else name
        parsed = parse_ref(text)
        if parsed is None or parsed[0] not in known:
            hint = "query data products by id, e.g. select * from sales.orders"
            if parsed is not None:
                hint = f"{parsed[0]!r} is not a product with published data; see quanta ls"
            raise QueryError(f"unknown table {text!r}", hint=hint)
        view = refs.setdefault(text, ProductRef(parsed[0], parsed[1], f"__p{len(refs)}")).view
        alias = table.alias
        table.replace(exp.to_table(view).as_(alias or name) if alias or name else exp.to_table(view))
    return tree.sql(dialect="duckdb"), list(refs.values())
