"""`quanta score [ID]`: DATSIS maturity, criterion by criterion."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh

if TYPE_CHECKING:
    from quanta.discovery.maturity.scoring import Maturity
    from quanta.registry.stores.maturity_scores import MaturityRecord

_SHORT = {
    "discoverable": "D",
    "addressable": "A",
    "trustworthy": "T",
    "self-describing": "S",
    "interoperable": "I",
    "secure": "Sec",
}


@app.command()
def score(
    product_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="One product: every criterion explained.")
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="List the product's stored scores (its trend).")
    ] = False,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """DATSIS maturity (Discoverable, Addressable, Trustworthy, Self-describing, Interoperable, Secure):
    a table of every product, or one product criterion by criterion with how to meet each."""
    mesh = open_mesh()
    if product_id is None:
        found, _ = mesh.maturity_all()
        _table(found, json_)
        return
    if history:
        _history(mesh.maturity_history(product_id), json_)
        return
    maturity = mesh.maturity(product_id)
    if json_:
        render.emit_json(maturity)
        return
    _explain(maturity)


def _table(found: list[Maturity], json_: bool) -> None:
    if json_:
        render.emit_json([_summary(m) for m in found])
        return
    columns = ["id", "version", "level", "score", *_SHORT.values()]
    rows = [[m.product_id, m.version, m.level, m.score, *(d.score for d in m.dimensions)] for m in found]
    render.table(None, columns, rows)
    render.out.print(
        "D discoverable · A addressable · T trustworthy · S self-describing · I interoperable · Sec secure; "
        "quanta score ID explains one product",
        style="dim",
        highlight=False,
    )


def _explain(maturity: Maturity) -> None:
    out, esc = render.out, render.escape
    out.print(
        f"[bold]{esc(maturity.product_id)}[/bold] {esc(maturity.version)}: [bold]{maturity.level}[/bold] "
        f"({maturity.score}/100)",
        highlight=False,
    )
    if maturity.next_level:
        out.print(f"  next: {esc(maturity.next_level)}", style="dim", highlight=False)
    for dimension in maturity.dimensions:
        met = sum(c.met for c in dimension.criteria)
        out.print(
            f"\n[bold]{dimension.title}[/bold] {dimension.score}/100 "
            f"[dim]({met} of {len(dimension.criteria)} criteria met)[/dim]",
            highlight=False,
        )
        for c in dimension.criteria:
            mark = "[green]✓[/green]" if c.met else "[red]✗[/red]"
            extra = " [dim](does not apply)[/dim]" if not c.applicable else ""
            out.print(f"  {mark} {esc(c.title)}{extra}: [dim]{esc(c.evidence)}[/dim]", highlight=False)
            if c.hint:
                out.print(f"      [cyan]how:[/cyan] {esc(c.hint)}", highlight=False)


def _history(records: list[MaturityRecord], json_: bool) -> None:
    if json_:
        render.emit_json([asdict(r) for r in records])
        return
    rows = [
        [
            f"{r.at:%Y-%m-%d %H:%M}",
            r.version,
            r.level,
            r.score,
            *(r.dimensions.get(d, "") for d in _SHORT),
            r.trigger,
        ]
        for r in records
    ]
    render.table(None, ["at (UTC)", "version", "level", "score", *_SHORT.values(), "after"], rows)


def _summary(maturity: Maturity) -> dict[str, object]:
    return {
        "product_id": maturity.product_id,
        "version": maturity.version,
        "score": maturity.score,
        "level": maturity.level,
        "rank": maturity.rank,
        "dimensions": {d.name: d.score for d in maturity.dimensions},
    }
