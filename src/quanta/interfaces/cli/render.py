"""Terminal and JSON rendering for the CLI. Errors are rendered here and nowhere else."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from quanta.errors import Problem, QuantaError, SpecError

out = Console()
err = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    """JSON on stdout, dataclasses and datetimes included."""
    sys.stdout.write(json_text(data))


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, default=_default, ensure_ascii=False) + "\n"


def _default(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Problem):
        return value.to_dict()
    return str(value)


def problems(items: Iterable[Problem], console: Console = err) -> None:
    for p in items:
        colour = "red" if p.severity == "error" else "yellow"
        where = f" [dim](at {p.path})[/dim]" if p.path else ""
        console.print(
            f"[bold]{_escape(p.location)}[/bold]: [{colour}]{p.severity}[/{colour}]: "
            f"{_escape(p.message)}{where}",
            highlight=False,
        )
        if p.hint:
            console.print(f"  [cyan]hint:[/cyan] {_escape(p.hint)}", highlight=False)


def error(exc: QuantaError, as_json: bool) -> None:
    """The one place a :class:`QuantaError` becomes output."""
    if as_json:
        payload: dict[str, Any] = {"ok": False, "error": exc.message, "hint": exc.hint}
        if isinstance(exc, SpecError):
            payload["problems"] = [p.to_dict() for p in exc.problems]
        emit_json(payload)
        return
    if isinstance(exc, SpecError):
        problems(exc.problems)
        errors = sum(1 for p in exc.problems if p.severity == "error")
        err.print(
            f"[red]✗[/red] {_escape(exc.message) if errors == 0 else _count(errors, 'error')}",
            highlight=False,
        )
        return
    err.print(f"[red]error:[/red] {_escape(exc.message)}", highlight=False)
    if exc.hint:
        err.print(f"  [cyan]hint:[/cyan] {_escape(exc.hint)}", highlight=False)


def table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], console: Console | None = None
) -> None:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*("" if v is None else _escape(str(v)) for v in row))
    (console or out).print(grid)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


count = _count
escape = _escape
