"""Column lineage of one product: which input columns each output column is computed from.

SQL transforms are traced with sqlglot (one pass over the query for every output column); Python
transforms declare their lineage in the descriptor, as the custom property ``lineage``::

    customProperties:
      - property: lineage
        value:
          tier: [sales.orders.total_price]        # <input product id>.<column>
          region: [geography.region]              # <input port name>.<column> (sources too)

A declaration wins over what the SQL says for the columns it names. Lineage is computed when a version
is applied and stored in the registry (``quanta.registry.stores.column_lineage``), never on a query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.errors import Problem
    from quanta.spec.loader import LoadedProduct

LINEAGE_PROPERTY = "lineage"
IDENTITY, TRANSFORMATION, AGGREGATION = "IDENTITY", "TRANSFORMATION", "AGGREGATION"
INDIRECT = "INDIRECT"
"""An input column that decides which rows there are (joins, filters, groupings), not any value."""
WHOLE = "*"
"""The output column of an INDIRECT edge: the product as a whole."""
_HASHES = {"md5", "sha1", "sha256", "sha2", "hash", "md5_number"}
UpstreamColumns = Callable[[str], "list[str] | None"]
"""The columns of an upstream product's output (None: unknown, e.g. not registered yet)."""


@dataclass(frozen=True)
class ColumnOrigin:
    """An input column an output column is computed from, and how (OpenLineage's subtypes)."""

    port: str
    column: str
    transformation: str = IDENTITY
    masked: bool = False
    """The value passes through a hash on the way: the output does not reveal the input."""


@dataclass(frozen=True)
class ColumnEdge:
    """One stored lineage edge: output ``column`` of a product from ``upstream_column`` of an input."""

    column: str
    port: str
    upstream_product: str | None
    upstream_column: str
    origin: str
    """``sql`` (traced) or ``declared`` (the descriptor's ``lineage`` property)."""
    transformation: str = IDENTITY
    masked: bool = False


@dataclass(frozen=True)
class ProductLineage:
    """The column lineage of one product version and how it was found."""

    product_id: str
    version: str
    method: str
    """``sql``, ``declared``, ``sql+declared`` or ``none`` (a Python transform without a declaration)."""
    edges: list[ColumnEdge]


def trace_columns(
    sql: str, columns: list[str], inputs: dict[str, list[str] | None], dialect: str = "duckdb"
) -> dict[str, list[ColumnOrigin]]:
    """The input columns each of ``columns`` is computed from in ``sql``; ``inputs`` maps each view the
    SQL reads to its columns (None: unknown). Lineage is best effort: a column sqlglot cannot follow
    has no origins."""
    from sqlglot.lineage import lineage

    known = {view: cols for view, cols in inputs.items() if cols}
    unknown = [view for view in inputs if view not in known]
    if unknown and known:  # sqlglot needs every table's columns once one is known: read them off the SQL
        known.update(_referenced_columns(sql, unknown, dialect))
    schema = {view: dict.fromkeys(cols, "varchar") for view, cols in known.items()}
    try:
        roots = lineage(None, sql, schema=schema, dialect=dialect)
    except Exception:  # one construct sqlglot cannot follow: try the columns one by one
        roots = {}
        for column in columns:
            try:
                roots[column] = lineage(column, sql, schema=schema, dialect=dialect)
            except Exception:
                continue
    wanted = {c.lower(): c for c in columns}
    out: dict[str, list[ColumnOrigin]] = {}
    for name, root in roots.items():
        asked = wanted.get(name.lower())
        if asked is not None:
            out[asked] = sorted(set(_origins(root)), key=lambda o: (o.port, o.column))
    return out


def used_columns(
    sql: str, inputs: dict[str, list[str] | None], dialect: str = "duckdb"
) -> set[tuple[str, str]]:
    """Every (view, column) of ``inputs`` the SQL reads anywhere: selects, joins, filters, groupings."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import traverse_scope

    known = {view: cols for view, cols in inputs.items() if cols}
    known.update(_referenced_columns(sql, [v for v in inputs if v not in known], dialect))
    schema: dict[str, object] = {view: dict.fromkeys(cols, "varchar") for view, cols in known.items()}
    try:
        tree = qualify(
            sqlglot.parse_one(sql, dialect=dialect),
            schema=schema,
            dialect=dialect,
            validate_qualify_columns=False,
        )
        scopes = traverse_scope(tree)
    except Exception:  # best effort, as for the column edges
        return set()
    found = set()
    for scope in scopes:
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table) and source.name in inputs:
                found.add((source.name, column.name))
    return found


def _referenced_columns(sql: str, views: list[str], dialect: str) -> dict[str, list[str]]:
    """The columns the SQL reads from ``views`` through their aliases (``g.region`` of ``geography g``)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, dialect=dialect)
    except Exception:  # unparsable SQL: validation reports it; lineage has nothing to go on
        return {}
    aliases = {t.alias_or_name: t.name for t in tree.find_all(exp.Table) if t.name in views}
    found: dict[str, set[str]] = {}
    for column in tree.find_all(exp.Column):
        if column.table in aliases:
            found.setdefault(aliases[column.table], set()).add(column.name)
    return {view: sorted(columns) for view, columns in found.items()}


def _origins(root: Any) -> Iterator[ColumnOrigin]:
    """Leaves of a sqlglot lineage tree, each with the strongest transformation on its path."""
    from sqlglot import exp

    stack: list[tuple[Any, str, bool]] = [(root, IDENTITY, False)]
    seen: set[int] = set()
    while stack:
        node, kind, masked = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if not isinstance(node.expression, exp.Table):
            kind, masked = stronger(kind, _kind(node.expression)), masked or _hashed(node.expression)
        if not node.downstream:
            if isinstance(node.source, exp.Table):
                yield ColumnOrigin(node.source.name, _column_name(node.name), kind, masked)
            continue
        stack.extend((child, kind, masked) for child in node.downstream)


def _column_name(qualified: str) -> str:
    """``raw."user"`` ► ``user`` (sqlglot names lineage nodes by their SQL)."""
    import sqlglot
    from sqlglot import exp

    try:
        return sqlglot.parse_one(qualified, into=exp.Column, dialect="duckdb").name
    except Exception:  # not a column reference: keep what sqlglot said
        return qualified.rpartition(".")[2]


def _kind(expression: Any) -> str:
    from sqlglot import exp

    if expression.find(exp.AggFunc) is not None:
        return AGGREGATION
    inner = expression.this if isinstance(expression, exp.Alias) else expression
    return IDENTITY if isinstance(inner, exp.Column) else TRANSFORMATION


def stronger(a: str, b: str) -> str:
    """The stronger of two transformation subtypes (IDENTITY < TRANSFORMATION < AGGREGATION < INDIRECT)."""
    return a if _RANK[a] >= _RANK[b] else b


_RANK = {IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2, INDIRECT: 3}


def _hashed(expression: Any) -> bool:
    """The expression hashes its input (the output then reveals nothing of it)."""
    from sqlglot import exp

    for node in expression.walk():
        if isinstance(node, (exp.MD5, exp.SHA, exp.SHA2)):
            return True
        if isinstance(node, exp.Anonymous) and node.name.lower() in _HASHES:
            return True
    return False


def output_columns(loaded: LoadedProduct) -> list[str]:
    """The columns of the product's (first) output port, from its contract."""
    ports = loaded.product.output_ports or []
    bound = loaded.contracts.get(ports[0].name) if ports else None
    if bound is None:
        return []
    objects = bound.contract.objects
    obj = (bound.contract.object(ports[0].object) if ports[0].object else None) or (
        objects[0] if objects else None
    )
    return [p.column for p in (obj.properties or [])] if obj is not None else []


def product_lineage(
    loaded: LoadedProduct, sql: str | None, upstream_columns: UpstreamColumns
) -> tuple[ProductLineage, list[Problem]]:
    """The column lineage of ``loaded`` from its transform's ``sql`` (None: a Python transform) and
    its declaration; problems of the declaration are returned, positioned in the descriptor."""
    from quanta.observability.lineage.declared import declared_edges

    product = loaded.product
    outputs = output_columns(loaded)
    ports = {p.name: p for p in product.input_ports or []}
    traced: list[ColumnEdge] = []
    if sql:
        inputs = {name: upstream_columns(p.product) if p.product else None for name, p in ports.items()}
        for column, origins in trace_columns(sql, outputs, inputs).items():
            traced += [_traced_edge(column, o, ports) for o in origins if o.port in ports]
        direct = {(e.port, e.upstream_column) for e in traced}
        for view, column in sorted(used_columns(sql, inputs) - direct):
            traced.append(_traced_edge(WHOLE, ColumnOrigin(view, column, INDIRECT), ports))
    declared, problems = declared_edges(loaded, outputs, upstream_columns)
    named = {e.column for e in declared}
    edges = [e for e in traced if e.column not in named] + declared
    method = "+".join(m for m, found in (("sql", sql), ("declared", declared)) if found) or "none"
    return ProductLineage(product.id, product.version or "0.0.0", method, edges), problems


def _traced_edge(column: str, origin: ColumnOrigin, ports: dict[str, Any]) -> ColumnEdge:
    upstream = ports[origin.port].product
    return ColumnEdge(
        column, origin.port, upstream, origin.column, "sql", origin.transformation, origin.masked
    )
