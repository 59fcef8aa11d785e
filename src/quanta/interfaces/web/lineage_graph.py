"""The interactive lineage graph on the product page (an htmx fragment): an SVG drawn on the server,
upstream on the left and downstream on the right, each product a link to its page.

Picking a column (htmx) redraws it in column mode: the columns it is computed from and those computed
from it are named in their boxes and highlighted, with the same facts as lists for screen readers.
The layout is layered by distance, ordered within each layer by the mean position of the neighbours
in the previous layer (two sweeps), which keeps crossings few for the shapes meshes have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from quanta.interfaces.api.deps import CallerDep
from quanta.interfaces.web import product_page
from quanta.interfaces.web.pages import Viewer, WebRoute, render

if TYPE_CHECKING:
    from quanta.observability.impact import Impact, TouchedColumn
    from quanta.observability.lineage.view import LineageNode, LineageView

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LAYER_W, NODE_W, NODE_H, ROW_H, GAP, PAD = 250, 200, 44, 16, 18, 10
MAX_LISTED = 4
"""Columns named in a box in column mode; more are counted."""


@dataclass
class Box:
    """A node placed on the drawing."""

    id: str
    label: str
    sub: str
    kind: str
    depth: int
    href: str | None
    columns: list[str] = field(default_factory=list)
    mark: str = ""
    """``root``, ``up`` (feeds the picked column), ``down`` (touched by it) or ``""``."""
    x: int = 0
    y: int = 0

    @property
    def height(self) -> int:
        shown = min(len(self.columns), MAX_LISTED) + (1 if len(self.columns) > MAX_LISTED else 0)
        return NODE_H + ROW_H * shown + (4 if shown else 0)

    @property
    def listed(self) -> list[str]:
        extra = len(self.columns) - MAX_LISTED
        return self.columns[:MAX_LISTED] + ([f"+{extra} more"] if extra > 0 else [])


@dataclass(frozen=True)
class Edge:
    path: str
    mark: str


@dataclass(frozen=True)
class Drawing:
    boxes: list[Box]
    edges: list[Edge]
    width: int
    height: int


@router.get("/products/{product_id}/panels/lineage", response_class=HTMLResponse)
def lineage_panel(
    request: Request,
    caller: CallerDep,
    product_id: str,
    column: Annotated[str, Query(max_length=200)] = "",
    depth: Annotated[int | None, Query(ge=1, le=20)] = None,
) -> HTMLResponse:
    """The product's lineage graph; with ``column``, what that column comes from and what it feeds."""
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        columns = [c.name for c in product_page.columns(mesh.product(product_id).contracts)]
        view = mesh.lineage(product_id, depth=depth)
        impact = sources = None
        hidden_up = 0
        if column:
            impact = mesh.impact(f"{product_id}.{column}", depth=depth)
            sources, hidden_up = mesh.column_sources(f"{product_id}.{column}", depth=depth)
    drawing = layout(view, impact, sources or [], column or None)
    return render(
        request,
        "_panel_lineage.html",
        viewer,
        product_id=product_id,
        view=view,
        drawing=drawing,
        columns=columns,
        column=column,
        impact=impact,
        sources=sources or [],
        hidden_up=hidden_up,
        upstream=sorted((b for b in drawing.boxes if b.depth < 0), key=lambda b: (b.kind, -b.depth, b.id)),
        downstream=[b for b in drawing.boxes if b.depth > 0],
    )


def layout(
    view: LineageView, impact: Impact | None, sources: list[TouchedColumn], column: str | None
) -> Drawing:
    """Place every node of ``view`` in layers by distance and draw the links between them."""
    boxes = {n.id: _box(n) for n in view.nodes}
    if column:
        _mark(boxes, view.product_id, column, impact, sources)
    layers: dict[int, list[Box]] = {}
    for box in boxes.values():
        layers.setdefault(box.depth, []).append(box)
    order = sorted(layers)
    neighbours = _neighbours(view)
    for sweep in (order, list(reversed(order))):  # left to right, then back
        placed: dict[str, int] = {}
        for depth in sweep:
            layer = sorted(layers[depth], key=lambda b: _barycentre(b, neighbours, placed, b.id))
            layers[depth] = layer
            placed.update({b.id: i for i, b in enumerate(layer)})
    tallest = max(sum(b.height + GAP for b in layer) for layer in layers.values())
    for i, depth in enumerate(order):
        top = PAD + (tallest - sum(b.height + GAP for b in layers[depth])) // 2
        for box in layers[depth]:
            box.x, box.y = PAD + i * LAYER_W, top
            top += box.height + GAP
    edges = [_edge(boxes[link.source], boxes[link.target]) for link in view.links]
    width = PAD * 2 + (len(order) - 1) * LAYER_W + NODE_W
    return Drawing(sorted(boxes.values(), key=lambda b: (b.depth, b.y)), edges, width, tallest + PAD)


def _box(node: LineageNode) -> Box:
    if node.kind == "source":
        return Box(node.id, node.label.split(" (")[0], node.label.partition(" (")[2].rstrip(")"), "source",
                   node.depth, None)  # fmt: skip
    return Box(node.id, node.label, node.id, "product", node.depth, f"/products/{node.id}",
               mark="root" if node.depth == 0 else "")  # fmt: skip


def _mark(
    boxes: dict[str, Box], root: str, column: str, impact: Impact | None, sources: list[TouchedColumn]
) -> None:
    """Column mode: name the picked column, what it is computed from and what is computed from it."""
    boxes[root].columns = [column]
    for found in sources:
        box = boxes.get(found.product_id)
        if box is not None:
            box.mark = "up"
            box.columns.append(found.column)
    for touched in impact.products if impact else []:
        box = boxes.get(touched.product_id)
        if box is not None:
            box.mark = "down"
            box.columns += touched.columns or [
                {"rows": "(its rows)", "unknown": "(maybe)"}.get(touched.via, "")
            ]


def _neighbours(view: LineageView) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for link in view.links:
        found.setdefault(link.target, []).append(link.source)
        found.setdefault(link.source, []).append(link.target)
    return found


def _barycentre(
    box: Box, neighbours: dict[str, list[str]], placed: dict[str, int], name: str
) -> tuple[float, str]:
    """Mean position of the already placed neighbours (ties and loners by name)."""
    positions = [placed[n] for n in neighbours.get(box.id, []) if n in placed]
    return (sum(positions) / len(positions) if positions else float("inf"), name)


def _edge(source: Box, target: Box) -> Edge:
    x1, y1 = source.x + NODE_W, source.y + NODE_H // 2
    x2, y2 = target.x, target.y + NODE_H // 2
    bend = (x2 - x1) // 2
    marked = {source.mark, target.mark}
    mark = "up" if marked <= {"up", "root"} and "up" in marked else ""
    mark = "down" if marked <= {"down", "root"} and "down" in marked else mark
    return Edge(f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}", mark)
