"""CLI commands that move data: build, versions, rollback, query, quarantine, runs, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, Lenient, app, open_mesh

if TYPE_CHECKING:
    import pyarrow as pa


quarantine_app = typer.Typer(help="Snapshots that failed their contract checks: list, inspect, query.")
app.add_typer(quarantine_app, name="quarantine")

Format = Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")]


@app.command()
def build(
    selectors: Annotated[
        list[str] | None, typer.Argument(help="Products: id, domain, +id (with upstream), id+ (downstream).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when nothing changed.")] = False,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Build products and publish each new version only if its data passes the contract."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    mesh = open_mesh()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=render.err,
        disable=json_ or not render.err.is_terminal,
    ) as progress:
        tasks: dict[str, Any] = {}

        def report(product_id: str, stage: str) -> None:
            if product_id not in tasks:
                tasks[product_id] = progress.add_task(product_id)
            progress.update(tasks[product_id], description=f"{product_id}: {stage}")

        results = mesh.build(selectors, force=force, progress=report)
    failed = [r for r in results if r.status in ("failed", "not built")]
    if json_:
        render.emit_json({"ok": not failed, "results": results})
    else:
        for r in results:
            rows = ", ".join(f"{n:,} rows" for n in r.rows.values())
            if r.status == "published":
                render.out.print(
                    f"  [green]✓ {r.product_id} {r.version}[/green] published ({rows}, {r.seconds:.1f}s)"
                )
            elif r.status == "skipped":
                render.out.print(f"  [dim]= {r.product_id} unchanged, skipped[/dim]")
            else:
                error = (r.error or "").removeprefix(f"{r.product_id}: ")
                render.out.print(f"  [red]✗ {r.product_id}[/red] {r.status}: {render.escape(error)}")
                if r.hint:
                    render.out.print(f"    [cyan]hint:[/cyan] {render.escape(r.hint)}")
        done = sum(r.status == "published" for r in results)
        render.out.print(
            f"{'[red]✗' if failed else '[green]✓'}[/] {done} published, "
            f"{sum(r.status == 'skipped' for r in results)} unchanged, {len(failed)} failed"
        )
    if failed:
        raise typer.Exit(1)


@app.command()
def versions(
    product_id: Annotated[str, typer.Argument(metavar="ID", help="Product id.")],
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Published data versions of a product (newest last)."""
    publishes = open_mesh().publishes(product_id)
    if json_:
        render.emit_json(publishes)
        return
    render.table(
        f"Published versions of {product_id}",
        ["version", "run", "published", "by", "rows", "checks"],
        [
            (
                p.version,
                p.run_id,
                p.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                p.created_by,
                ", ".join(f"{n:,}" for n in p.rows.values()),
                _checks(p.checks),
            )
            for p in publishes
        ],
    )


def _checks(checks: dict[str, Any]) -> str:
    summary = checks.get("summary") or {}
    return f"{summary.get('passed', 0)} passed" + (
        f", {summary['warning']} warnings" if summary.get("warning") else ""
    )


@app.command()
def rollback(
    product_id: Annotated[str, typer.Argument(metavar="ID")],
    version: Annotated[str, typer.Argument(help="A published version (1.2.0) or a time (2026-11-21T10:00).")],
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Make an earlier published version current again."""
    record = open_mesh().rollback(product_id, version)
    if json_:
        render.emit_json({"ok": True, "publish": record})
        return
    render.out.print(
        f"[green]✓[/green] {product_id} rolled back to {record.version} ({record.inputs['rollback_of']})"
    )


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over products by id, e.g. select * from sales.orders.")],
    fmt: Format = "table",
    limit: Annotated[int | None, typer.Option(help="At most this many rows.")] = None,
    as_: Annotated[
        str | None,
        typer.Option("--as", help="See exactly what this principal would (admins and stewards; audited)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Stream the whole result to a .csv, .json or .parquet file (egress policies apply).",
        ),
    ] = None,
    receipt: Annotated[
        Path | None,
        typer.Option(help="Write the signed receipt of the read here (check: quanta audit verify-receipt)."),
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Query published products through the governed query service (access rules, masks and row
    filters of the acting principal, QUANTA_USER); "sales.orders@1.0.0" or "sales.orders@<time>" read
    older versions. The table shows the first 1,000 rows; csv, json and --output stream every row."""
    if output is not None:
        rows = open_mesh().export_data(sql, output, as_principal=as_, limit=limit)
        render.err.print(f"wrote {rows:,} rows to {output}")
        return
    with open_mesh().governed_stream(sql, limit=limit, as_principal=as_) as stream:  # closed: engine stops
        print_stream(stream.reader, "json" if json_ else fmt)
    if receipt is not None:
        receipt.write_text(json.dumps(stream.receipt, indent=2) + "\n", encoding="utf-8")
        render.err.print(f"receipt {stream.receipt['id'] if stream.receipt else '-'} written to {receipt}")


_SHOWN = 1000
"""Rows the table format shows: the rest of a result is never computed (it may not fit in memory)."""


def print_stream(reader: pa.RecordBatchReader, fmt: str) -> None:
    from quanta.mesh import write_csv, write_json

    if fmt == "csv":
        write_csv(reader, sys.stdout.buffer)
        return
    if fmt == "json":
        write_json(reader, sys.stdout)
        return
    shown, more = _first_rows(reader, _SHOWN)
    render.table(None, shown.column_names, [[_cell(v) for v in row.values()] for row in shown.to_pylist()])
    if more:
        render.err.print(
            f"at least {shown.num_rows:,} rows (first {shown.num_rows:,} shown; --output FILE has all)"
        )
    else:
        render.err.print(f"{shown.num_rows:,} row{'s' if shown.num_rows != 1 else ''}")


def _first_rows(reader: pa.RecordBatchReader, count: int) -> tuple[pa.Table, bool]:
    """The first ``count`` rows of ``reader`` and whether it has more (reading no further)."""
    import pyarrow as pa

    batches, rows = [], 0
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        if rows > count:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return table.slice(0, count), rows > count


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


@quarantine_app.command("ls")
def quarantine_ls(
    product_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Quarantined snapshots, oldest first."""
    entries = open_mesh().quarantine(product_id)
    if json_:
        render.emit_json(entries)
        return
    render.table(
        None,
        ["product", "run", "port", "snapshot", "at"],
        [
            (q.product_id, q.run_id, q.port, q.snapshot_id, q.at.strftime("%Y-%m-%d %H:%M:%S"))
            for q in entries
        ],
    )


@quarantine_app.command("show")
def quarantine_show(
    product_id: Annotated[str, typer.Argument(metavar="ID")],
    run_id: Annotated[str, typer.Argument(metavar="RUN")],
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Why a snapshot was quarantined: every check with its measured value."""
    entry, run = open_mesh().quarantined_run(product_id, run_id)
    checks = (run.details.get("checks") or {}).get("checks", []) if run else []
    if json_:
        render.emit_json({"quarantined": entry, "run": run})
        return
    render.out.print(f"{product_id} run {run_id}: {render.escape(run.error or '') if run else ''}")
    render.table(
        "Checks",
        ["check", "verdict", "measured", "expected", "note"],
        # A rule that could not run measured nothing: its note is the engine's message.
        [
            (c["name"], c["verdict"], c.get("measured"), c.get("threshold"), c.get("message") or "")
            for c in checks
        ],
    )


@quarantine_app.command("query")
def quarantine_query(
    product_id: Annotated[str, typer.Argument(metavar="ID")],
    run_id: Annotated[str, typer.Argument(metavar="RUN")],
    sql: Annotated[str, typer.Argument(help="SQL where the product id stands for the quarantined data.")],
    fmt: Format = "table",
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Query the data of a quarantined snapshot."""
    print_stream(open_mesh().query_quarantine(product_id, run_id, sql).to_reader(), "json" if json_ else fmt)


@app.command()
def runs(
    product_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Recent build runs and their outcome."""
    records = open_mesh().runs(product_id, limit)
    if json_:
        render.emit_json(records)
        return
    render.table(
        None,
        ["run", "product", "version", "status", "trigger", "started", "error"],
        [
            (
                r.id,
                r.product_id,
                r.version,
                r.status,
                r.trigger,
                r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                (r.error or "")[:80],
            )
            for r in records
        ],
    )


@app.command()
def demo(
    scale: Annotated[float, typer.Option(help="TPC-H scale factor (0.01 ≈ 60k line items).")] = 0.01,
    directory: Annotated[Path, typer.Option("--dir", help="Workspace to create or reuse.")] = Path(
        "demo-mesh"
    ),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start over: remove the workspace (it must hold quanta.yaml).")
    ] = False,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Create the demo mesh, generate TPC-H data for it, and build every product."""
    import shutil

    from quanta.errors import WorkspaceError
    from quanta.mesh import Mesh, generate_demo_data

    if fresh and directory.exists():
        if not (directory / "quanta.yaml").exists():
            raise WorkspaceError(f"{directory} is not a Quanta workspace; not removing it", hint="use --dir")
        shutil.rmtree(directory)
    if not (directory / "quanta.yaml").exists():
        Mesh.init(directory, demo=True)
    render.err.print(f"generating TPC-H data at scale {scale} in {directory}/data ...")
    generate_demo_data(directory, scale, on_step=lambda step: render.err.print(f"  {step}"))
    mesh = Mesh.open(directory)
    results = mesh.build()
    failed = [r for r in results if r.status in ("failed", "not built")]
    if json_:
        render.emit_json({"ok": not failed, "results": results})
    else:
        for r in results:
            mark = "[green]✓[/green]" if r.status in ("published", "skipped") else "[red]✗[/red]"
            render.out.print(
                f"  {mark} {r.product_id} {r.status} {', '.join(f'{n:,} rows' for n in r.rows.values())}"
            )
    if failed:
        raise typer.Exit(1)


schedule_app = typer.Typer(help="Cron schedules from the descriptors: list them, run the scheduler.")
app.add_typer(schedule_app, name="schedule")


@schedule_app.command("ls")
def schedule_ls(json_: Json = False, debug: Debug = False) -> None:
    """Every scheduled product with its last and next fire time and missed runs."""
    entries = open_mesh().schedules()
    if json_:
        render.emit_json(entries)
        return
    render.table(
        None,
        ["product", "cron", "last fired", "next", "due now", "missed"],
        [
            (
                s.product_id,
                s.cron,
                s.last_fired.strftime("%Y-%m-%d %H:%M") if s.last_fired else "never",
                s.next_fire.strftime("%Y-%m-%d %H:%M"),
                "yes" if s.due else "",
                len(s.missed) or "",
            )
            for s in entries
        ],
    )


@schedule_app.command("run")
def schedule_run(
    once: Annotated[bool, typer.Option("--once", help="Fire what is due now, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between checks.")] = 30.0,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Run the scheduler in the foreground: build each product when its cron fires (Ctrl-C stops)."""
    import time

    mesh = open_mesh()
    render.err.print(f"scheduler started; checking every {interval:g}s (Ctrl-C to stop)")
    while True:
        for s in mesh.schedules():
            if s.missed:
                render.err.print(
                    f"[yellow]{s.product_id}: missed {len(s.missed)} run(s); building once now[/yellow]"
                )
        for r in mesh.run_schedule():
            line = {"product": r.product_id, "status": r.status, "run": r.run_id, "error": r.error}
            if json_:
                render.emit_json(line)
            else:
                render.out.print(f"  {r.product_id}: {r.status} {render.escape(r.error or '')}")
        if once:
            return
        time.sleep(interval)


@app.command()
def diff(
    old: Annotated[
        str, typer.Argument(help="The old contract: a file, or a registered contract id[@version].")
    ],
    new: Annotated[
        str, typer.Argument(help="The new contract: a file, or a registered contract id[@version].")
    ],
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Classify every change between two contracts as breaking, non-breaking or info. Exit 1 if breaking."""
    changes = open_mesh(required=False).diff(old, new)
    if json_:
        render.emit_json([c.__dict__ for c in changes])
    else:
        colours = {"breaking": "red", "non-breaking": "yellow", "info": "dim"}
        for c in changes:
            colour = colours.get(c.severity, "white")
            render.out.print(
                f"[{colour}]{c.severity:>12}[/] {render.escape(c.path)}: {render.escape(c.reason or c.kind)}"
            )
        breaking = sum(c.severity == "breaking" for c in changes)
        render.out.print(f"{len(changes)} change(s), {breaking} breaking" if changes else "no changes")
    if any(c.severity == "breaking" for c in changes):
        raise typer.Exit(1)


@app.command()
def ci(
    output: Annotated[
        str, typer.Option("--output", "-o", help="table, junit or github (annotations).")
    ] = "table",
    output_file: Annotated[Path | None, typer.Option("--output-file", help="Write the report here.")] = None,
    lenient: Lenient = False,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Lint, breaking-change gate and data tests in one go, for pipelines (JUnit, GitHub annotations)."""
    from quanta.interfaces.cli.contract_test import print_ci_runs
    from quanta.mesh import github_annotations, junit

    report = open_mesh().ci_runs(lenient=lenient)
    runs = report.runs
    fmt = "json" if json_ else output
    if fmt == "junit":
        text = junit(runs)
    elif fmt == "github":
        text = github_annotations(runs, {})
    elif fmt == "json":
        text = ""
        render.emit_json(
            {
                "ok": report.ok,
                "results": {
                    k: {"summary": r.summary(), "checks": [c.to_dict() for c in r.checks]}
                    for k, r in runs.items()
                },
            }
        )
    else:
        text = ""
        print_ci_runs(runs)
    if text:
        if output_file:
            output_file.write_text(text)
        else:
            sys.stdout.write(text)
    if not report.ok:
        raise typer.Exit(1)
