"""``quanta pgwire``: the PostgreSQL wire protocol server on its own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, app, open_mesh
from quanta.interfaces.cli.serve import LOOPBACK

if TYPE_CHECKING:
    import ssl


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
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="PEM certificate: answer SSLRequest with TLS (with --tls-key).", exists=True),
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.", exists=True)] = None,
    debug: Debug = False,
) -> None:
    """Serve data products over the PostgreSQL wire protocol (psql, JDBC, ODBC, BI tools), read-only."""
    import asyncio

    from quanta.interfaces.pgwire.server import WireServer, serve_forever

    server_mode = require_token if require_token is not None else host not in LOOPBACK
    tls = wire_tls(tls_cert, tls_key)
    mesh = open_mesh()
    server = WireServer(mesh, local_mode=not server_mode, tls=tls)
    mode = (
        "API token as password"
        if server_mode
        else f"local mode: loopback clients trusted, default {mesh.settings.user}"
    )
    mode += ", TLS" if tls else ""
    render.err.print(f"Quanta PostgreSQL wire protocol on {host}:{port} ({mode})")
    render.err.print(f"  psql -h {host} -p {port} -U {mesh.settings.user} quanta")
    try:
        asyncio.run(serve_forever(server, host, port))
    except KeyboardInterrupt:
        render.err.print("stopped")


def wire_tls(certificate: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The TLS context for a certificate and its key (given together), None for neither."""
    if (certificate is None) != (key is None):
        render.err.print("error: the TLS certificate and key go together\n  hint: give both, or neither")
        raise typer.Exit(2)
    if certificate is None or key is None:
        return None
    import ssl

    from quanta.interfaces.pgwire.server import tls_context

    try:
        return tls_context(certificate, key)
    except (ssl.SSLError, OSError) as exc:
        render.err.print(f"error: cannot load the TLS certificate {certificate}: {exc}")
        raise typer.Exit(2) from None
