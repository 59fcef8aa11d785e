"""A prepared statement's parameters (bound by the client with DoPut, as an Arrow record batch) put
into its SQL as typed literals: ``?`` placeholders in order, ``$n`` by position. sqlglot writes the
literals, so a value can never become SQL."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from quanta.interfaces.flight.errors import invalid
from quanta.interfaces.pgwire import types as t
from quanta.interfaces.pgwire.sql import typed_literal

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp


def bind(sql: str, parameters: pa.Table | None) -> str:
    """``sql`` with its placeholders replaced by the one row of ``parameters``."""
    import sqlglot
    from sqlglot import exp

    if parameters is None or parameters.num_columns == 0:
        return sql
    if parameters.num_rows != 1:
        raise invalid(
            f"bind one row of parameters to a query, not {parameters.num_rows}",
            "execute the prepared statement once per set of parameters",
        )
    values = [column[0].as_py() for column in parameters.columns]
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return sql  # the governed parser gives the positioned error
    unnamed = iter(range(len(values)))

    def literal(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Placeholder):
            return node
        index = int(node.this) - 1 if str(node.this).isdigit() else next(unnamed, len(values))
        if not 0 <= index < len(values):
            raise invalid(
                f"the query has more parameters than the {len(values)} bound",
                "bind a value for every ? or $n",
            )
        value = values[index]
        if value is None:
            return exp.Null()
        return typed_literal(value, t.UUID.oid if isinstance(value, uuid.UUID) else 0)

    return tree.transform(literal).sql(dialect="duckdb")


def count(sql: str) -> int:
    """How many parameters ``sql`` takes (``?`` placeholders, or the highest ``$n``)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return 0
    found = list(tree.find_all(exp.Placeholder))
    numbered = [int(p.this) for p in found if str(p.this).isdigit()]
    return max(numbered, default=0) + sum(1 for p in found if not str(p.this).isdigit())
