"""The ``quanta`` command line: Typer commands that call the ``Mesh`` facade and render the result.

Heavy libraries are imported inside commands so that ``quanta --help`` stays fast. Commands live in the
modules next to this one; the one ``app`` of ``app.py`` imports a command's module only when it runs.
"""

from __future__ import annotations

import sys

from quanta.errors import QuantaError
from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app and render any error in one place."""
    debug = "--debug" in sys.argv
    as_json = "--json" in sys.argv
    try:
        app()
    except QuantaError as exc:
        if debug:
            raise
        render.error(exc, as_json)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        render.err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        render.err.print(
            f"[red]internal error:[/red] {render.escape(type(exc).__name__)}: {render.escape(str(exc))}"
        )
        render.err.print(
            "  [cyan]hint:[/cyan] this is a bug in Quanta; rerun with --debug and report the traceback"
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
