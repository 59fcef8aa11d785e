"""Impact analysis: every downstream product, column and consumer a change to a product (or to one of
its columns) would touch, each with the path the change takes to reach it.

A column change follows column edges; a product that reads a touched product but whose column lineage
is unknown (a Python transform without a declaration) is listed as *possibly* touched, and so is
everything downstream of it. A product change touches every product downstream through input ports.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from quanta.observability.lineage.columns import IDENTITY, WHOLE, stronger
from quanta.observability.lineage.graph import LineageGraph, NodeColumn
from quanta.observability.lineage.view import Visible

HIDDEN = "(hidden)"
"""Stands in a path for a product the viewer may not see."""


@dataclass(frozen=True)
class TouchedProduct:
    """A product the change reaches, how far away, through which products, and how."""

    product_id: str
    depth: int
    path: list[str]
    via: str
    """``columns`` (its columns are computed from changed ones), ``rows`` (it joins, filters or groups
    on a changed column), ``product`` (it reads the changed product), ``unknown`` (it reads a touched
    product whose column lineage is not known, or is downstream of such a product)."""
    columns: list[str]

    @property
    def certain(self) -> bool:
        return self.via != "unknown"


@dataclass(frozen=True)
class TouchedColumn:
    product_id: str
    column: str
    depth: int
    path: list[str]
    """``product.column`` from the changed column to this one."""
    transformation: str
    """The strongest step on the way: IDENTITY, TRANSFORMATION or AGGREGATION."""


@dataclass(frozen=True)
class Consumer:
    """A principal using a touched product: through a grant, or queries in the audit log."""

    principal: str
    product_id: str
    via: str
    last_query: datetime | None = None


@dataclass(frozen=True)
class Impact:
    product_id: str
    column: str | None
    products: list[TouchedProduct]
    columns: list[TouchedColumn]
    consumers: list[Consumer]
    hidden: int
    """Touched products the viewer may not see (left out, never named)."""


Reached = dict[str, tuple[int, list[str], str]]
"""product ► (hops, product path, via)"""


def analyse(
    graph: LineageGraph, product_id: str, column: str | None, visible: Visible, depth: int | None = None
) -> Impact:
    """What a change to ``product_id`` (or its ``column``) touches downstream; consumers are added by
    the caller (:func:`with_consumers`), who knows grants and the audit log."""
    own = sorted(graph.columns.get(product_id, ()))
    reached = _columns(graph, [(product_id, column)] if column else [(product_id, c) for c in own], depth)
    if column:
        products = _products_of(reached, product_id)
        products.update(_unknown_readers(graph, product_id, products, depth))
    else:
        products = _products(graph, product_id, depth)
    hidden = {pid for pid in products if not visible(pid)}
    columns = [
        TouchedColumn(node, col, level, [HIDDEN if n in hidden else f"{n}.{c}" for n, c in path], kind)
        for (node, col), (level, path, kind) in reached.items()
        if level > 0 and col != WHOLE and node in graph.products and node not in hidden
    ]
    by_product: dict[str, list[str]] = {}
    for c in columns:
        by_product.setdefault(c.product_id, []).append(c.column)
    result = [
        TouchedProduct(pid, level, _redacted(path, hidden), via, sorted(by_product.get(pid, [])))
        for pid, (level, path, via) in products.items()
        if pid not in hidden
    ]
    return Impact(
        product_id,
        column,
        sorted(result, key=lambda t: (t.depth, t.product_id)),
        sorted(columns, key=lambda c: (c.depth, c.product_id, c.column)),
        [],
        len(hidden),
    )


ColumnsReached = dict[NodeColumn, tuple[int, list[NodeColumn], str]]
"""(product, column) ► (hops, path of (product, column), strongest transformation)"""


def _columns(
    graph: LineageGraph, seeds: list[NodeColumn], depth: int | None, up: bool = False
) -> ColumnsReached:
    """Breadth-first over column edges, downstream (or ``up``); ``(product, *)`` stands for a product
    reached through an indirect edge (joins, filters)."""
    reached: ColumnsReached = {seed: (0, [seed], IDENTITY) for seed in seeds}
    edges = graph.column_up if up else graph.column_down
    queue = deque(seeds)
    while queue:
        current = queue.popleft()
        level, path, kind = reached[current]
        if depth is not None and level >= depth:
            continue
        for link in edges.get(current, []):
            nxt = (link.upstream, link.upstream_column) if up else (link.node, link.column)
            if nxt not in reached:
                reached[nxt] = (level + 1, [*path, nxt], stronger(kind, link.transformation))
                queue.append(nxt)
    return reached


def _products_of(reached: ColumnsReached, origin: str) -> Reached:
    """The products of the columns reached, each at its nearest column, with the product path."""
    found: Reached = {}
    for (node, column), (level, path, _kind) in sorted(reached.items(), key=lambda kv: kv[1][0]):
        via = "rows" if column == WHOLE else "columns"
        if node != origin and (node not in found or (found[node][0] == level and via == "columns")):
            found[node] = (level, [n for n, _c in path], via)
    return found


def _unknown_readers(graph: LineageGraph, origin: str, touched: Reached, depth: int | None) -> Reached:
    """Products that may be touched: readers of a touched product whose own column lineage is unknown,
    and everything downstream of them or of a product whose rows change (``via`` rows)."""
    found: Reached = {}
    paths = {origin: [origin], **{pid: path for pid, (_level, path, _via) in touched.items()}}
    spreads = {pid for pid, (_level, _path, via) in touched.items() if via == "rows"}
    queue = deque([origin, *sorted(touched)])
    while queue:
        current = queue.popleft()
        path = paths[current]
        if depth is not None and len(path) - 1 >= depth:
            continue
        for reader, _port in graph.downstream.get(current, []):
            node = graph.products.get(reader)
            unknown = node is not None and node.method in (None, "none")
            if reader in found or reader in touched or reader == origin:
                continue
            if unknown or current in found or current in spreads:
                found[reader] = (len(path), [*path, reader], "unknown")
                paths[reader] = [*path, reader]
                queue.append(reader)
    return found


def _products(graph: LineageGraph, origin: str, depth: int | None) -> Reached:
    """Every product downstream of ``origin`` through input ports, with its path."""
    found: Reached = {}
    queue = deque([(origin, [origin])])
    while queue:
        current, path = queue.popleft()
        if depth is not None and len(path) - 1 >= depth:
            continue
        for reader, _port in graph.downstream.get(current, []):
            if reader not in found and reader != origin:
                found[reader] = (len(path), [*path, reader], "product")
                queue.append((reader, [*path, reader]))
    return found


def column_sources(
    graph: LineageGraph, product_id: str, column: str, visible: Visible, depth: int | None = None
) -> tuple[list[TouchedColumn], int]:
    """The columns upstream that ``column`` is computed from (products' and sources'), nearest first,
    and how many products among them the viewer may not see (their columns and sources left out)."""
    reached = _columns(graph, [(product_id, column)], depth, up=True)
    owners = {node: graph.owner_product(node) for node, _column in reached}
    hidden = {node for node, owner in owners.items() if node != product_id and not visible(owner)}
    found = [
        TouchedColumn(node, col, level, [HIDDEN if n in hidden else f"{n}.{c}" for n, c in path], kind)
        for (node, col), (level, path, kind) in reached.items()
        if level > 0 and node not in hidden
    ]
    hidden_products = {owners[node] for node in hidden if node in graph.products}
    return sorted(found, key=lambda c: (c.depth, c.product_id, c.column)), len(hidden_products)


def _redacted(path: list[str], hidden: set[str]) -> list[str]:
    return path if hidden.isdisjoint(path) else [HIDDEN if p in hidden else p for p in path]


def with_consumers(
    impact: Impact,
    grants: Iterable[tuple[str, str]],
    queries: dict[str, dict[str, datetime]],
) -> Impact:
    """``impact`` with the principals using the changed product or a touched one (visible ones only)."""
    relevant = {impact.product_id, *(p.product_id for p in impact.products)}
    found: dict[tuple[str, str], Consumer] = {}
    for product, principal in grants:
        if product in relevant:
            found[(principal, product)] = Consumer(principal, product, "grant")
    for product, users in queries.items():
        for principal, at in users.items():
            if product in relevant and (principal, product) not in found:
                found[(principal, product)] = Consumer(principal, product, "query", at)
    consumers = sorted(found.values(), key=lambda c: (c.product_id, c.principal))
    return Impact(impact.product_id, impact.column, impact.products, impact.columns, consumers, impact.hidden)
