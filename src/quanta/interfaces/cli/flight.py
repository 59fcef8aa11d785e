"""``quanta flight``: the Arrow Flight SQL server on its own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, app, open_mesh
from quanta.interfaces.cli.serve import LOOPBACK

if TYPE_CHECKING:
    from quanta.interfaces.flight.server import FlightSqlServer
    from quanta.mesh import Mesh


@app.command()
def flight(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8815,
    require_token: Annotated[
        bool | None,
        typer.Option(
            "--require-token/--no-require-token",
            help="Every client signs in with an API token. Default: on unless on loopback.",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate: serve grpc+tls (with --tls-key).", exists=True)
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.", exists=True)] = None,
    debug: Debug = False,
) -> None:
    """Serve data products over Arrow Flight SQL (ADBC, JDBC/ODBC Flight SQL drivers), read-only."""
    if (tls_cert is None) != (tls_key is None):
        render.err.print("error: --tls-cert and --tls-key go together\n  hint: give both, or neither")
        raise typer.Exit(2)
    server_mode = require_token if require_token is not None else host not in LOOPBACK
    mesh = open_mesh()
    tls = (tls_cert.read_bytes(), tls_key.read_bytes()) if tls_cert and tls_key else None
    server = start_flight(mesh, host, port, local_mode=not server_mode, tls=tls)
    try:
        server.serve()
    except KeyboardInterrupt:
        render.err.print("stopped")
    finally:
        server.shutdown()


def start_flight(
    mesh: Mesh, host: str, port: int, *, local_mode: bool, tls: tuple[bytes, bytes] | None = None
) -> FlightSqlServer:
    """The Flight SQL server listening (gRPC serves it on threads of its own); says where and how."""
    from quanta.interfaces.flight.server import FlightSqlServer, location

    server = FlightSqlServer(
        mesh,
        location(host, port, tls=tls is not None),
        local_mode=local_mode,
        tls_certificates=[tls] if tls else None,
    )
    shown = "localhost" if host in LOOPBACK else host
    mode = (
        "API token required (basic auth handshake or bearer)"
        if not local_mode
        else f"local mode: loopback clients trusted, default {mesh.settings.user}"
    )
    render.err.print(f"Arrow Flight SQL on {location(shown, port, tls=tls is not None)} ({mode})")
    return server
