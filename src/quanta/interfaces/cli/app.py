"""The Typer application and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from quanta.mesh import Mesh

app = typer.Typer(
    name="quanta",
    help="Quanta: a self-serve data mesh platform. Data products and contracts from metadata.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
Lenient = Annotated[
    bool,
    typer.Option(
        "--lenient",
        help="Official-schema findings in contracts are warnings when Quanta can still read them.",
    ),
]
Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="Files or folders (default: the whole workspace).", show_default=False),
]


def open_mesh(required: bool = True) -> Mesh:
    from quanta.mesh import Mesh

    return Mesh.open(required=required)
