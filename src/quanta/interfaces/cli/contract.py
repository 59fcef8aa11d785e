"""Contract commands: suggest (tighter rules from a product's published history)."""

from __future__ import annotations

from typing import Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh

contract_app = typer.Typer(help="Contracts of the workspace's products: suggest tighter rules.")
app.add_typer(contract_app, name="contract")


@contract_app.command("suggest")
def contract_suggest(
    product: Annotated[str, typer.Argument(help="Product id (domain.name) of this workspace.")],
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the suggestions into the contract file.")
    ] = False,
    min_publishes: Annotated[
        int, typer.Option(min=1, help="Suggest only from at least this many publishes.")
    ] = 2,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Suggest tighter contract rules the published history supports (start loose, tighten later):
    required, unique, allowed values, ranges, lengths and patterns, each with its evidence, as a diff
    of the contract file. Without --apply nothing is written."""
    done = open_mesh().suggest_contract(product, apply=apply, min_publishes=min_publishes)
    found = done.tightened
    if json_:
        render.emit_json(done)
        return
    if not found.suggestions:
        render.out.print(
            f"nothing to suggest for {product}: its contract already says what "
            f"{found.publishes} publishes show"
        )
        return
    for s in found.suggestions:
        render.out.print(
            f"  {render.escape(s.column)}: {s.rule} ({render.escape(s.evidence)})", highlight=False
        )
    render.out.print(render.escape(found.diff), highlight=False, markup=False, end="")
    if done.validation is None:
        render.out.print(f"to write these: quanta contract suggest {product} --apply", highlight=False)
        return
    render.problems(done.validation.problems)
    if not done.validation.ok:
        render.err.print("[red]✗[/red] the contract with the suggestions does not validate")
        raise typer.Exit(1)
    render.out.print(
        f"[green]✓[/green] {render.escape(str(found.path))}: "
        f"{render.count(len(found.suggestions), 'rule')} added; next: quanta build {product}"
    )
