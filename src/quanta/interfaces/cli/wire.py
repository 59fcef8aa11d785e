"""``quanta pgwire``: the PostgreSQL wire protocol server on its own."""

from __future__ import annotations

from typing import Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, app, open_mesh
from quanta.interfaces.cli.serve import LOOPBACK


@app.command()
def pgwire(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 5433,
    require_token: Annotated[
        bool | None,
        typer.Option(
            "--require-token/--no-require-token",
            help="Every client signs in with an API token as password. Default: on unless on loopback.",
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Serve data products over the PostgreSQL wire protocol (psql, JDBC, ODBC, BI tools), read-only."""
    import asyncio

    from quanta.interfaces.pgwire.server import WireServer, serve_forever

    server_mode = require_token if require_token is not None else host not in LOOPBACK
    mesh = open_mesh()
    server = WireServer(mesh, local_mode=not server_mode)
    mode = (
        "API token as password"
        if server_mode
        else f"local mode: loopback clients trusted, default {mesh.settings.user}"
    )
    render.err.print(f"Quanta PostgreSQL wire protocol on {host}:{port} ({mode})")
    render.err.print(f"  psql -h {host} -p {port} -U {mesh.settings.user} quanta")
    try:
        asyncio.run(serve_forever(server, host, port))
    except KeyboardInterrupt:
        render.err.print("stopped")
