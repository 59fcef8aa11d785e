"""Lineage commands: `quanta lineage ID` (the graph as a tree, JSON or Graphviz DOT) and
`quanta impact ID[.column]` (what a change would touch)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh

if TYPE_CHECKING:
    from rich.tree import Tree

    from quanta.observability.impact import Impact
    from quanta.observability.lineage.view import Direction, LineageNode, LineageView

Depth = Annotated[int | None, typer.Option(min=1, help="How many hops to follow (default: all).")]
HOW = {
    "columns": "its columns are computed from it",
    "rows": "joins, filters or groups on it",
    "product": "reads it",
    "unknown": "maybe (column lineage unknown on the way)",
}


@app.command()
def lineage(
    product_id: Annotated[str, typer.Argument(metavar="ID", help="The product, e.g. sales.orders.")],
    upstream: Annotated[bool, typer.Option("--upstream", help="Only what it is built from.")] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="Only what is built from it.")] = False,
    depth: Depth = None,
    columns: Annotated[
        bool, typer.Option("--columns", help="Show which input columns make each column.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="tree or dot (Graphviz).")] = "tree",
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """The products and sources a product is built from and those built from it."""
    direction: Direction = "both"
    if upstream != downstream:
        direction = "upstream" if upstream else "downstream"
    view = open_mesh().lineage(product_id, direction=direction, depth=depth, columns=columns)
    if json_:
        render.emit_json(view)
    elif fmt == "dot":
        typer.echo(dot(view))
    else:
        render.out.print(tree(view))
        if view.hidden:
            render.out.print(
                f"[dim]{render.count(view.hidden, 'product')} not shown: you may not read them[/dim]"
            )


def tree(view: LineageView) -> Tree:
    """The lineage as a Rich tree: the product, what it is built from, what is built from it."""
    from rich.tree import Tree

    nodes = {n.id: n for n in view.nodes}
    root = Tree(_label(nodes[view.product_id]))
    for title, sign in (("built from", -1), ("used by", 1)):
        if view.direction in ("both", "upstream" if sign < 0 else "downstream"):
            branch = root.add(f"[bold]{title}[/bold]")
            _grow(branch, view, nodes, view.product_id, sign, {view.product_id})
            if not branch.children:
                branch.add("[dim]nothing[/dim]")
    return root


def _grow(
    branch: Tree, view: LineageView, nodes: dict[str, LineageNode], node: str, sign: int, path: set[str]
) -> None:
    if sign < 0:
        nexts = [link.source for link in view.links if link.target == node]
    else:
        nexts = [link.target for link in view.links if link.source == node]
    for nxt in sorted(set(nexts)):
        child = branch.add(_label(nodes[nxt]))
        for link in view.column_links:
            if (link.target, link.source) == ((node, nxt) if sign < 0 else (nxt, node)):
                child.add(
                    f"[dim]{link.source_column} ► {link.target_column} ({link.transformation.lower()})[/dim]"
                )
        if nxt not in path:
            _grow(child, view, nodes, nxt, sign, path | {nxt})


def _label(node: LineageNode) -> str:
    name = render.escape(node.id if node.kind == "product" else node.label)
    if node.kind == "source":
        return f"[cyan]{name}[/cyan] [dim]source[/dim]"
    lineage = f" · column lineage: {node.column_lineage}" if node.column_lineage else ""
    return f"[bold]{name}[/bold] [dim]{render.escape(node.label)} · {node.type or 'product'}{lineage}[/dim]"


def dot(view: LineageView) -> str:
    """Graphviz DOT: products as boxes, sources as cylinders, column edges as labelled arrows."""
    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node in view.nodes:
        shape = "box" if node.kind == "product" else "cylinder"
        label = node.id if node.kind == "product" else node.label
        lines.append(f'  "{_q(node.id)}" [shape={shape}, label="{_q(label)}"];')
    for link in view.links:
        lines.append(f'  "{_q(link.source)}" -> "{_q(link.target)}" [label="{_q(link.port)}"];')
    for c in view.column_links:
        label = f"{c.source_column} ► {c.target_column}"
        lines.append(f'  "{_q(c.source)}" -> "{_q(c.target)}" [style=dashed, label="{_q(label)}"];')
    return "\n".join([*lines, "}"])


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@app.command()
def impact(
    ref: Annotated[str, typer.Argument(metavar="ID[.COLUMN]", help="A product, or one of its columns.")],
    depth: Depth = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Every downstream product, column and consumer a change would touch, with the path."""
    found = open_mesh().impact(ref, depth=depth)
    if json_:
        render.emit_json(found)
        return
    show_impact(found)


def show_impact(found: Impact) -> None:
    target = f"{found.product_id}.{found.column}" if found.column else found.product_id
    hidden = f" and {render.count(found.hidden, 'product')} you may not read" if found.hidden else ""
    products, columns = (
        render.count(len(found.products), "product"),
        render.count(len(found.columns), "column"),
    )
    consumers = render.count(len(found.consumers), "consumer")
    touched = f"{products}{hidden}, {columns} and {consumers}"
    render.out.print(f"Changing [bold]{render.escape(target)}[/bold] touches {touched}.")
    if found.products:
        rows = [[p.product_id, HOW[p.via], " ► ".join(p.path), ", ".join(p.columns)] for p in found.products]
        render.table("Products", ["product", "how", "path", "columns"], rows)
    if found.columns:
        rows = [
            [f"{c.product_id}.{c.column}", c.transformation.lower(), " ► ".join(c.path)]
            for c in found.columns
        ]
        render.table("Columns", ["column", "computed by", "path"], rows)
    if found.consumers:
        rows = [
            [c.principal, c.product_id, c.via, f"{c.last_query:%Y-%m-%d %H:%M}" if c.last_query else ""]
            for c in found.consumers
        ]
        render.table("Consumers", ["principal", "uses", "through", "last query (UTC)"], rows)
