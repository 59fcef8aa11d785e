"""ODCS ``sql`` rules: read-only, limited to the contract's tables, and folded into the aggregate scan
when they only count rows of their own table.

``select count(*) from {object} where <predicate>`` (the most common form) becomes one more
``count(*) filter (where <predicate>)`` of the object's single scan, with sample rows for free; any
other query runs on its own, alongside the scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from quanta.contracts.aggregates import Metric, comparator_judge, counting, q
from quanta.contracts.run import Check, verdict_of
from quanta.engines.base import Engine, Input
from quanta.errors import EngineError
from quanta.spec.contract import QualityRule, SchemaObject

if TYPE_CHECKING:
    from sqlglot import exp


@dataclass(frozen=True)
class SqlQuery:
    """A SQL rule that needs its own query."""

    rule: QualityRule
    table: str
    query: str

    @property
    def name(self) -> str:
        return self.rule.name or self.rule.description or "sql rule"


def prepare(
    rule: QualityRule, obj: SchemaObject, column: str | None, tables: list[str]
) -> Metric | SqlQuery | Check:
    """A SQL rule as a metric of the object's scan, a query of its own, or (when it is not a read-only
    query of the contract's tables) an error check saying why."""
    from quanta.spec.checks import SQL_DIALECT, sql_problem

    # ODCS placeholders: {object} is the table, {property} the column of a property-level rule.
    query = (rule.query or "").replace("{object}", q(obj.name)).replace("{property}", q(column or ""))
    found = SqlQuery(rule, obj.name, query)
    problem = sql_problem(query, read_only=True, tables=tables)
    if problem:
        return _error(found, problem[0])
    import sqlglot

    predicate = _counted_rows(sqlglot.parse_one(query, read=SQL_DIALECT), obj.name)
    if predicate is None:
        return found
    return counting(
        predicate,
        found.name,
        "sql",
        None,
        judge=comparator_judge(rule),
        severity=rule.severity or "error",
        dimension=rule.dimension,
    )


# Clauses that make a query more than a count of its table's rows.
_NOT_A_ROW_COUNT = ("joins", "group", "having", "qualify", "limit", "with", "distinct", "order", "offset",
                    "windows", "laterals", "pivots")  # fmt: skip


def _counted_rows(statement: exp.Expr, table: str) -> str | None:
    """For ``select count(*) from <table> [as t] [where P]``: P (or ``true``) in DuckDB SQL over the
    scan's ``__table`` alias; None for any other shape."""
    from sqlglot import exp

    if not isinstance(statement, exp.Select) or len(statement.expressions) != 1:
        return None
    if any(statement.args.get(k) for k in _NOT_A_ROW_COUNT):
        return None
    projection = statement.expressions[0]
    count = projection.this if isinstance(projection, exp.Alias) else projection
    if not isinstance(count, exp.Count) or not isinstance(count.this, exp.Star):
        return None
    source = statement.args.get("from_") or statement.args.get("from")
    if source is None or not isinstance(source.this, exp.Table) or source.this.name.lower() != table.lower():
        return None
    if source.this.args.get("db") or source.this.args.get("catalog"):
        return None
    where = statement.args.get("where")
    if where is None:
        return "true"
    condition = where.this.copy()
    if any(isinstance(node, (exp.Subquery, exp.Select, exp.Window)) for node in condition.walk()):
        return None  # a subquery may refer to the outer table by name: leave it a query of its own
    names = {source.this.name.lower(), source.this.alias_or_name.lower()}
    for col in condition.find_all(exp.Column):
        if col.table and col.table.lower() in names:
            col.set("table", exp.to_identifier("__table"))
    return condition.sql(dialect="duckdb")


def run_query(engine: Engine, inputs: dict[str, Input], found: SqlQuery) -> Check:
    """A SQL rule on its own: its first column of the first row is the measured value."""
    try:
        row = engine.first_row(found.query, inputs)  # plain values without loading pyarrow
    except IndexError:  # no rows
        row = ()
    except EngineError as exc:  # the engine's error text is the useful part for the producer
        return _error(found, str(exc).splitlines()[0])
    value = row[0] if row else None
    ok, threshold = comparator_judge(found.rule)(value, 0)
    severity = found.rule.severity or "error"
    return Check(
        found.name, "sql", verdict_of(ok, severity), value, threshold, found.table, None, severity,
        found.rule.dimension,
    )  # fmt: skip


def _error(found: SqlQuery, message: str) -> Check:
    severity = found.rule.severity or "error"
    return Check(found.name, "sql", "error", None, None, found.table, severity=severity, message=message)
