"""Workspace and spec commands: init, validate, apply, ls, show, import, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, Lenient, Paths, app, open_mesh


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")] = Path(),
    demo: Annotated[
        bool, typer.Option("--demo", help="Add the TPC-H modelled demo mesh and generate its data.")
    ] = False,
    scale: Annotated[float, typer.Option(help="With --demo: TPC-H scale factor of the data.")] = 0.01,
    name: Annotated[str | None, typer.Option(help="Workspace name (default: the folder name).")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Create a workspace: quanta.yaml and domains/<domain>/<product>/..."""
    from quanta.mesh import Mesh, generate_demo_data

    written = Mesh.init(directory, demo=demo, name=name)
    if demo:  # the demo's products read these files: without them every build fails
        render.err.print(f"generating TPC-H data at scale {scale} in {directory}/data ...")
        generate_demo_data(directory, scale, on_step=lambda step: render.err.print(f"  {step}"))
    if json_:
        render.emit_json(
            {"ok": True, "workspace": str(directory.resolve()), "files": [str(p) for p in written]}
        )
        return
    render.out.print(
        f"[green]✓[/green] workspace created in [bold]{render.escape(str(directory))}[/bold]"
        f" ({render.count(len(written), 'file')})"
    )
    then = "quanta build" if demo else "quanta new --domain DOMAIN --name NAME"
    render.out.print(f"  next: cd {render.escape(str(directory))} && quanta validate && {then}")


@app.command()
def validate(
    paths: Paths = None, lenient: Lenient = False, json_: Json = False, debug: Debug = False
) -> None:
    """Check descriptors and contracts: official schemas, references, cron, SQL. Exit 1 on any error."""
    mesh = open_mesh(required=not paths)
    result = mesh.validate(paths, lenient=lenient)
    if json_:
        render.emit_json({"ok": result.ok, "files": result.files, "problems": result.problems})
    else:
        render.problems(result.problems)
        if result.ok:
            extra = f", {render.count(len(result.warnings), 'warning')}" if result.warnings else ""
            render.out.print(
                f"[green]✓[/green] {render.count(result.files, 'file')} valid: "
                f"{render.count(len(result.products), 'product')}, "
                f"{render.count(len(result.contracts), 'contract')}{extra}"
            )
        else:
            render.err.print(
                f"[red]✗[/red] {render.count(len(result.errors), 'error')}, "
                f"{render.count(len(result.warnings), 'warning')} in {render.count(result.files, 'file')}"
            )
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def apply(paths: Paths = None, json_: Json = False, debug: Debug = False) -> None:
    """Validate and register new product versions, showing what changed."""
    report = open_mesh().apply(paths)
    if json_:
        render.emit_json({"ok": True, "applied": report.applied, "warnings": report.warnings})
        return
    render.problems(report.warnings)
    for item in report.applied:
        reg = item.registration
        if reg.status == "unchanged":
            render.out.print(f"  [dim]= {reg.product_id} {reg.version} unchanged[/dim]")
        elif reg.status == "new":
            render.out.print(f"  [green]+ {reg.product_id} {reg.version}[/green] registered ({item.source})")
        else:
            render.out.print(f"  [yellow]~ {reg.product_id} {reg.previous_version} ► {reg.version}[/yellow]")
            for change in item.changes:
                render.out.print(f"      {render.escape(str(change))}", highlight=False)
    changed = sum(1 for a in report.applied if a.registration.status != "unchanged")
    render.out.print(
        f"[green]✓[/green] {render.count(changed, 'product')} registered, "
        f"{len(report.applied) - changed} unchanged"
    )


@app.command("ls")
def list_products(
    domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="source-aligned, aggregate or consumer-aligned.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="proposed, draft, active, deprecated or retired.")
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """List registered data products."""
    products = open_mesh(light=True).products(domain=domain, type=type, status=status)
    if json_:
        render.emit_json(products)
        return
    render.table(
        None,
        ["id", "version", "type", "status", "owner"],
        [(p.id, p.version_label, p.type, p.status, p.owner) for p in products],
    )
    if not products:
        render.err.print("no products registered yet: run 'quanta apply'")


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="Product id, optionally id@version.", metavar="ID")],
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Show a registered product: description, ports, contracts, versions and consumers."""
    from quanta.interfaces.cli.show import show_product

    view = open_mesh(light=True).product(ref)
    if json_:
        render.emit_json(view)
        return
    show_product(view)


@app.command("import")
def import_(
    fmt: Annotated[
        str, typer.Argument(help="odcs, odps or dcs (Data Contract Specification).", metavar="FORMAT")
    ],
    file: Annotated[Path, typer.Argument(help="The document to import.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Read ODCS, ODPS or Data Contract Specification and write Quanta-native YAML."""
    text = open_mesh(required=False).import_document(fmt, file)
    _write(text, output, json_)


@app.command()
def export(
    fmt: Annotated[str, typer.Argument(help="odcs, odps, jsonschema, sql or markdown.", metavar="FORMAT")],
    target: Annotated[
        str, typer.Argument(help="A registered product/contract id (id@version) or a YAML file.")
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    dialect: Annotated[
        str | None, typer.Option(help="SQL dialect for 'sql': duckdb, postgres, spark.")
    ] = None,
    api_version: Annotated[
        str | None, typer.Option("--api-version", help="ODCS apiVersion for 'odcs': v3.1.0 or v3.2.0.")
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Write a product or contract as ODCS, ODPS, JSON Schema, SQL DDL or Markdown."""
    options: dict[str, Any] = {}
    if dialect:
        options["dialect"] = dialect
    if api_version:
        options["api_version"] = api_version
    text, warnings = open_mesh(required=False).export_checked(fmt, target, **options)
    render.problems(warnings)
    _write(text, output, json_)


def _write(text: str, output: Path | None, as_json: bool) -> None:
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        if as_json:
            render.emit_json({"ok": True, "written": str(output)})
        else:
            render.err.print(f"[green]✓[/green] wrote {render.escape(str(output))}")
    elif as_json:
        render.emit_json({"ok": True, "content": text})
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
