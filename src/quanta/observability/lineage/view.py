"""The lineage of one product as a viewer may see it: the products and sources upstream and downstream
(to a depth), the links between them and, on request, between their columns.

Products the viewer may not see are left out and counted (``hidden``), never named, and so are the
sources they read (not counted); the walk goes on through them, so a visible product further along
still shows (without the hidden link).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from quanta.observability.lineage.graph import LineageGraph

Direction = Literal["both", "upstream", "downstream"]
Visible = Callable[[str], bool]
"""Whether the viewer may see a product (by id)."""


@dataclass(frozen=True)
class LineageNode:
    """A product or a source in the view; ``depth`` < 0 upstream, 0 the product itself, > 0 downstream."""

    id: str
    kind: str
    label: str
    depth: int
    domain: str | None = None
    type: str | None = None
    status: str | None = None
    column_lineage: str | None = None
    """How the product's column lineage is known: sql, declared, sql+declared, none (unknown)."""
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineageLink:
    """Data flows from ``source`` into ``target`` through the target's input port ``port``."""

    source: str
    target: str
    port: str


@dataclass(frozen=True)
class ColumnLinkView:
    """``target_column`` of ``target`` is computed from ``source_column`` of ``source``."""

    source: str
    source_column: str
    target: str
    target_column: str
    transformation: str
    origin: str


@dataclass(frozen=True)
class LineageView:
    product_id: str
    direction: str
    depth: int | None
    nodes: list[LineageNode]
    links: list[LineageLink]
    column_links: list[ColumnLinkView]
    hidden: int
    """Products in this lineage the viewer may not see (left out, never named)."""


def lineage_view(
    graph: LineageGraph,
    product_id: str,
    visible: Visible,
    direction: Direction = "both",
    depth: int | None = None,
    columns: bool = False,
) -> LineageView:
    """The lineage around ``product_id``, as ``visible`` allows."""
    levels = {product_id: 0}
    if direction in ("both", "upstream"):
        levels.update(_walk(graph.upstream, product_id, depth, -1))
    if direction in ("both", "downstream"):
        levels.update(_walk(graph.downstream, product_id, depth, 1))
    shown = {n for n in levels if n == product_id or visible(graph.owner_product(n))}
    nodes = sorted((_node(graph, n, levels[n], columns) for n in shown), key=lambda n: (n.depth, n.id))
    links = [
        LineageLink(up, node, port)
        for node in sorted(shown)
        for up, port in graph.upstream.get(node, [])
        if up in shown
    ]
    column_links = _column_links(graph, shown) if columns else []
    hidden = sum(1 for n in levels if n not in shown and n in graph.products)
    return LineageView(product_id, direction, depth, nodes, links, column_links, hidden)


def _walk(
    adjacent: dict[str, list[tuple[str, str]]], start: str, depth: int | None, sign: int
) -> dict[str, int]:
    """Breadth-first from ``start``: each node reached and its signed distance."""
    found: dict[str, int] = {}
    queue = deque([(start, 0)])
    while queue:
        node, distance = queue.popleft()
        if depth is not None and distance >= depth:
            continue
        for nxt, _port in adjacent.get(node, []):
            if nxt not in found and nxt != start:
                found[nxt] = sign * (distance + 1)
                queue.append((nxt, distance + 1))
    return found


def _node(graph: LineageGraph, node: str, depth: int, columns: bool) -> LineageNode:
    shown = tuple(sorted(graph.columns.get(node, ()))) if columns else ()
    product = graph.products.get(node)
    if product is None:
        return LineageNode(node, "source", graph.label(node), depth, columns=shown)
    return LineageNode(
        node,
        "product",
        product.name,
        depth,
        product.domain,
        product.type,
        product.status,
        product.method,
        shown,
    )


def _column_links(graph: LineageGraph, shown: set[str]) -> list[ColumnLinkView]:
    links = []
    for node in sorted(shown):
        for column in sorted(graph.columns.get(node, ())):
            for link in graph.column_up.get((node, column), []):
                if link.upstream in shown:
                    links.append(
                        ColumnLinkView(
                            link.upstream,
                            link.upstream_column,
                            node,
                            column,
                            link.transformation,
                            link.origin,
                        )
                    )
    return links
