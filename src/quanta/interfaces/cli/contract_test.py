"""``quanta test``: data against its contract, with datacontract-cli's command line (a drop-in for
``datacontract test``): the same option names, and its ``--output-format FORMAT --output PATH``.
Also the runs of checks ``quanta ci`` reports (lint, breaking-change gates, data tests)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from quanta.errors import QuantaError
from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh

if TYPE_CHECKING:
    from quanta.mesh import Run

FORMATS = ("table", "json", "junit")
SUFFIX_FORMATS = {".json": "json", ".xml": "junit"}  # as datacontract-cli infers them from --output PATH


class OutputError(QuantaError):
    """``--output``/``--output-format``/``--output-file`` do not name one format and one place."""


def resolve_output(
    output: str | None, output_format: str | None, output_file: Path | None
) -> tuple[str, Path | None]:
    """(format, file or None for stdout). ``--output`` is a format (Quanta's spelling) when it names one,
    otherwise a path (datacontract-cli's spelling, format from ``--output-format`` or the suffix)."""
    fmt = output_format.lower() if output_format else None
    if fmt is not None and fmt not in FORMATS:
        raise OutputError(f"unknown --output-format {output_format!r}", hint=f"use {', '.join(FORMATS)}")
    if output is None or output.lower() in FORMATS:
        chosen = output.lower() if output else None
        if chosen and fmt and chosen != fmt:
            raise OutputError(
                f"--output {output} and --output-format {output_format} disagree", hint="give one of them"
            )
        return chosen or fmt or "table", output_file
    path = Path(output)
    if output_file is not None:
        raise OutputError(
            f"--output {output} is a file, and --output-file {output_file} is another",
            hint="write the report to one file: --output-format FORMAT --output PATH",
        )
    if fmt is None and path.suffix.lower() not in SUFFIX_FORMATS and "/" not in output:
        raise OutputError(
            f"unknown --output value {output!r}: neither a format nor a report file",
            hint=f"use --output {' | '.join(FORMATS)}, or --output-format json|junit --output PATH",
        )
    fmt = fmt or SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(
            f"cannot tell the report format of --output {output!r}",
            hint="add --output-format json or junit (or name the file *.json or *.xml)",
        )
    return fmt, path


@app.command()
def test(
    target: Annotated[
        str, typer.Argument(help="A contract file (ODCS or DCS) with servers, or a product id.")
    ] = "datacontract.yaml",
    server: Annotated[
        str | None, typer.Option(help="Which of the contract's servers; 'all' or none: the first.")
    ] = None,
    checks: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated: schema (properties), quality, sla (servicelevel, slaProperties)."
        ),
    ] = None,
    schema_name: Annotated[
        str | None, typer.Option(help="Only this schema object of the contract ('all': every one).")
    ] = None,
    dimension: Annotated[
        str | None, typer.Option(help="Only quality rules of these dimensions, and checks measuring them.")
    ] = None,
    quality_id: Annotated[str | None, typer.Option(help="Only the quality rules with these ids.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only the quality rules with one of these tags.")] = None,
    filter_: Annotated[
        str | None, typer.Option("--filter", help="A SQL predicate: test only these rows (one object).")
    ] = None,
    filters: Annotated[
        str | None, typer.Option(help='Row filters per object, JSON: \'{"orders": "amount > 0"}\'.')
    ] = None,
    metadata_only: Annotated[bool, typer.Option(help="Only presence and type checks.")] = False,
    include_failed_samples: Annotated[
        bool, typer.Option(help="Sample rows of failed checks (masked where sensitive).")
    ] = True,
    logs: Annotated[bool, typer.Option(help="Print what was read and how (to stderr).")] = False,
    inline_references: Annotated[
        bool, typer.Option(help="Accepted for datacontract-cli scripts: quanta never fetches references.")
    ] = False,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="table, json or junit; or a report file path.")
    ] = None,
    output_format: Annotated[
        str | None, typer.Option(help="json, junit or table (with --output PATH).")
    ] = None,
    output_file: Annotated[Path | None, typer.Option("--output-file", help="Write the report here.")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Test data against its contract; exit 1 when an error-severity check fails (like datacontract test)."""
    from quanta.mesh import Selection, TestOptions

    fmt, report_file = resolve_output(output, "json" if json_ else output_format, output_file)
    selection = Selection.parse(checks, dimension, quality_id, tag, metadata_only)
    options = TestOptions(selection, filter_, filters, include_failed_samples, schema_name)
    if logs:
        _log_to_stderr()
    runs = open_mesh(required=False).test(target, server=server, options=options)
    write_report(runs, fmt, report_file)
    if not all(r.passed for r in runs.values()):
        raise typer.Exit(1)


def _log_to_stderr() -> None:
    """What ``--logs`` shows: what the test read and how, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(message)s", "%y-%m-%d %H:%M:%S"))
    logging.getLogger("quanta.test").addHandler(handler)
    logging.getLogger("quanta.test").setLevel(logging.INFO)


def write_report(runs: dict[str, Any], fmt: str, path: Path | None) -> None:
    """The report in ``fmt`` on stdout, or in ``path`` (then the table still goes to the terminal)."""
    from quanta.mesh import junit

    if fmt == "table":
        if path is None:
            print_runs(runs, render.out)
        else:
            with path.open("w", encoding="utf-8") as handle:
                print_runs(runs, Console(file=handle, width=200, no_color=True))
        return
    text = junit(runs) if fmt == "junit" else render.json_text(json_report(runs))
    if path is None:
        sys.stdout.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print_runs(runs, render.out)
    render.out.print(f"report written to {path}", highlight=False)


def json_report(runs: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": all(r.passed for r in runs.values()),
        "results": {
            t: {
                "contract": r.contract_id,
                "summary": r.summary(),
                "notes": r.notes,
                "checks": [c.to_dict() for c in r.checks],
            }
            for t, r in runs.items()
        },
    }


def print_runs(runs: dict[str, Any], console: Console) -> None:
    for target, run in runs.items():
        render.table(
            f"{target} ({run.contract_id})",
            ["result", "check", "object", "measured", "expected", "note"],
            [(c.verdict, c.name, c.object, c.measured, c.threshold, c.message or "") for c in run.checks],
            console,
        )
        for note in run.notes:
            console.print(f"note: {render.escape(note)}")
        for check in run.failures:
            if check.samples:
                console.print(f"[red]sample rows failing '{render.escape(check.name)}':[/]")
                render.table(None, list(check.samples[0]), [list(r.values()) for r in check.samples], console)
        summary = run.summary()
        mark = "[green]✓[/green]" if run.passed else "[red]✗[/red]"
        console.print(
            f"{mark} {summary['passed']} passed, {summary['failed']} failed, "
            f"{summary['warning']} warnings, {summary['error']} errors"
        )


def print_ci_runs(runs: dict[str, Run]) -> None:
    """The runs of ``quanta ci`` as a table: a line per run, one more per failed check."""
    for name, run in runs.items():
        s = run.summary()
        mark = "[green]✓[/green]" if run.passed else "[red]✗[/red]"
        render.out.print(
            f"{mark} {name}: {s['passed']} passed, {s['failed']} failed, {s['warning']} warnings"
        )
        for check in run.checks:
            if check.verdict in ("failed", "error"):
                render.out.print(
                    f"    [red]{render.escape(check.name)}[/red] {render.escape(check.message or '')}"
                )
