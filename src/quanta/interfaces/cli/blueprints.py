"""Blueprint commands: new (a product from a blueprint, optionally with a contract inferred from data),
blueprint add/ls/show/update, and search (the marketplace's search from the terminal)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh

if TYPE_CHECKING:
    from quanta.mesh import Created

blueprint_app = typer.Typer(
    help="Blueprints (Copier templates) products are made from: add, ls, show, update."
)
app.add_typer(blueprint_app, name="blueprint")


@app.command()
def new(
    blueprint: Annotated[
        str | None,
        typer.Argument(help="Blueprint name (quanta blueprint ls); default: files, or what --from implies."),
    ] = None,
    domain: Annotated[str | None, typer.Option(help="Domain of the new product.")] = None,
    name: Annotated[
        str | None, typer.Option(help="Name of the new product (product id: domain.name).")
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", help="Answer a blueprint question: key=value (repeatable)."),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Infer the contract from this data: CSV/Parquet/JSON path, database URL "
            "(with --data table=NAME) or a published product id.",
        ),
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Make a product from a blueprint in domains/<domain>/<name>/: descriptor, contract, transform, CI.

    Questions are asked in a terminal; otherwise (scripts, CI) their defaults are taken."""
    from quanta.mesh import parse_data

    answers = parse_data(data or [])
    answers.update({k: v for k, v in (("domain", domain), ("name", name)) if v is not None})
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not json_  # a person at a terminal
    created = open_mesh().new_product(blueprint, answers, source=from_, interactive=interactive)
    if json_:
        render.emit_json(created)
    else:
        _report(created)
    if not created.validation.ok:
        raise typer.Exit(1)


def _report(created: Created) -> None:
    made = created.product
    version = f"@{made.version}" if made.version else ""
    render.out.print(
        f"[green]✓[/green] {made.product_id} made from blueprint {made.blueprint}{version} in "
        f"[bold]{render.escape(str(made.folder))}[/bold] ({render.count(len(made.files), 'file')})"
    )
    if created.profile is not None:
        found = created.profile
        keys = ", ".join(found.keys) or "none"
        render.out.print(
            f"  contract inferred from {render.escape(found.source)}: {found.rows:,} rows, "
            f"{render.count(len(found.columns), 'column')}, candidate keys: {render.escape(keys)}"
        )
    render.problems(created.validation.problems)
    if not created.validation.ok:
        render.err.print("[red]✗[/red] the new product does not validate: fix the errors above")
        return
    render.out.print("  next:")
    for command in created.next_commands:
        render.out.print(f"    {render.escape(command)}", highlight=False)


@blueprint_app.command("ls")
def blueprint_ls(json_: Json = False, debug: Debug = False) -> None:
    """List the blueprints: shipped with Quanta, then the workspace's (blueprints.yaml)."""
    found = open_mesh(required=False).blueprints()
    if json_:
        render.emit_json(found)
        return
    render.table(
        None,
        ["name", "from", "what it makes"],
        [(b.name, "shipped" if b.shipped else b.source, b.description) for b in found],
    )


@blueprint_app.command("show")
def blueprint_show(
    name: Annotated[str, typer.Argument(help="Blueprint name.")], json_: Json = False, debug: Debug = False
) -> None:
    """Show a blueprint: what it makes, its versions, its questions and the command to use it."""
    found = open_mesh(required=False).blueprint(name)
    questions = found.questions()
    if json_:
        render.emit_json({"blueprint": found, "questions": questions})
        return
    render.out.print(f"[bold]{render.escape(found.name)}[/bold]: {render.escape(found.description)}")
    render.out.print(f"  source: {render.escape('shipped with Quanta' if found.shipped else found.source)}")
    if found.versions:
        render.out.print(f"  versions: {render.escape(', '.join(found.versions))}")
    render.table(
        None,
        ["question", "help", "default"],
        [
            (q.name, q.help + (f" ({', '.join(q.choices)})" if q.choices else ""), q.default)
            for q in questions
        ],
    )
    render.out.print(f"  use: quanta new {found.name} --domain DOMAIN --name NAME [--data key=value]")


@blueprint_app.command("add")
def blueprint_add(
    name: Annotated[str, typer.Argument(help="Name to use it by.")],
    source: Annotated[str, typer.Argument(help="Git URL or folder of the Copier template.")],
    description: Annotated[str | None, typer.Option(help="What it makes (for blueprint ls).")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """List a community blueprint in the workspace's blueprints.yaml (versions are its git tags)."""
    added = open_mesh().add_blueprint(name, source, description)
    if json_:
        render.emit_json(added)
        return
    versions = ", ".join(added.versions) or "untagged"
    render.out.print(f"[green]✓[/green] blueprint {added.name} added ({render.escape(versions)})")
    render.out.print(f"  use: quanta new {added.name} --domain DOMAIN --name NAME")


@blueprint_app.command("update")
def blueprint_update(
    product: Annotated[
        str | None, typer.Argument(help="Product id (default: every product made from a blueprint).")
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Apply the newest version of a product's blueprint (copier update: local edits are kept).
    Exit 1 when an edit conflicts: both sides are kept between conflict markers, listed as file:line."""
    updated = open_mesh().update_product(product)
    if json_:
        render.emit_json(updated)
    for item in [] if json_ else updated:
        where = render.escape(str(item.folder))
        if item.current:
            render.out.print(f"  [dim]= {where} current ({item.after or 'untagged'})[/dim]")
            continue
        render.out.print(
            f"  [green]✓[/green] {where} {item.before or '?'} ► {item.after}: "
            f"{render.count(len(item.changed), 'file')} changed"
        )
        for conflict in item.conflicts:
            render.err.print(
                f"  [red]conflict[/red] {render.escape(conflict)}: resolve the markers, then commit"
            )
    if any(item.conflicts for item in updated):
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find (typos tolerated); '' lists every product.")],
    limit: Annotated[int, typer.Option(help="At most this many hits.")] = 20,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Search the marketplace: products by name, description, columns, tags and owners."""
    found = open_mesh().search(query, limit=limit)
    if json_:
        render.emit_json(found)
        return
    render.table(
        None,
        ["id", "name", "domain", "owner", "matched"],
        [(h.product_id, h.name, h.domain, h.owner or "", ", ".join(h.matched)) for h in found.hits],
    )
    if not found.hits:
        render.err.print(f"no product matches {query!r}")
