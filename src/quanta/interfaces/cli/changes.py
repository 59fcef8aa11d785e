"""CLI commands for change feeds and file delivery: changes, subscribe, deliver."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh
from quanta.interfaces.cli.data import Format, print_stream


@app.command()
def changes(
    product_id: Annotated[str, typer.Argument(metavar="ID", help="The product, e.g. sales.orders.")],
    since: Annotated[str, typer.Option(help="The older version (e.g. 1.2.0).")],
    until: Annotated[
        str | None, typer.Option(help="The newer version (default: the current one).", show_default=False)
    ] = None,
    fmt: Format = "table",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Stream every change to a .csv, .json or .parquet file (egress)."
        ),
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """The rows inserted, deleted and updated between two versions of a product, as you may read them
    (masks, row filters, column grants): a _change column (insert, delete, update_before,
    update_after) and the _version each row is from. Same as SQL over "ID@SINCE..UNTIL"."""
    mesh = open_mesh()
    if output is not None:
        rows = mesh.export_changes(product_id, since, until, output)
        render.err.print(f"wrote {rows:,} changes to {output}")
        return
    with mesh.changes(product_id, since, until) as stream:
        print_stream(stream.reader, "json" if json_ else fmt)


@app.command()
def subscribe(
    product_id: Annotated[str, typer.Argument(metavar="ID", help="The product to follow.")],
    deliver: Annotated[
        Path | None,
        typer.Option(help="Also write every new version into this folder (created when missing)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv (with --deliver).")] = "parquet",
    mode: Annotated[
        str, typer.Option(help="full: every row of each version; changes: the rows changed since the last.")
    ] = "full",
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Follow a product (notifications of new versions); with --deliver, have each new version written
    into a folder as you read it, with a manifest, under the egress policies (quanta deliver sends
    what is pending; a build that publishes sends it too)."""
    mesh = open_mesh()
    if deliver is None:
        followed = mesh.subscribe(product_id)
        render.err.print(f"following {product_id}" + ("" if followed else " (already)"))
        return
    subscription = mesh.subscribe_delivery(product_id, deliver, format=fmt, mode=mode)
    report = mesh.deliver()
    if json_:
        render.emit_json({"subscription": subscription, "report": report})
        return
    render.err.print(
        f"{product_id} will be delivered to {subscription.folder} ({fmt}, {mode}); "
        f"delivered now: {report.delivered}, to retry: {report.retrying}, failed: {report.failed}"
    )
    for error in report.errors:
        render.err.print(f"[red]{render.escape(error)}[/red]")


@app.command("deliver")
def deliver_command(
    now: Annotated[
        bool, typer.Option("--now", help="Also retry deliveries still waiting out their backoff.")
    ] = False,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Make the pending file deliveries (each as its subscriber); failures are retried with backoff."""
    from datetime import UTC, datetime, timedelta

    mesh = open_mesh()
    report = mesh.deliver(now=datetime.now(UTC) + timedelta(days=1) if now else None)
    if json_:
        render.emit_json(report)
        return
    render.table(
        None,
        ["subscription", "product", "folder", "format", "mode", "delivered"],
        [
            (s.id, s.product_id, s.folder, s.format, s.mode, s.delivered_version or "-")
            for s in mesh.delivery_subscriptions()
        ],
    )
    render.err.print(f"delivered {report.delivered}, to retry {report.retrying}, failed {report.failed}")
    for error in report.errors:
        render.err.print(f"[red]{render.escape(error)}[/red]")
    if report.failed or report.retrying:
        raise typer.Exit(1)
