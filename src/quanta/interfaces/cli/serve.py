"""``quanta serve``: the REST API and the web marketplace on one port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, app, open_mesh

if TYPE_CHECKING:
    import ssl

    from quanta.mesh import Mesh

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PgTlsCert = Annotated[
    Path | None, typer.Option(help="PEM certificate: TLS on --pg-port (with --pg-tls-key).", exists=True)
]
PgTlsKey = Annotated[Path | None, typer.Option(help="PEM private key of --pg-tls-cert.", exists=True)]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    require_token: Annotated[
        bool | None,
        typer.Option(
            "--require-token/--no-require-token",
            help="Server mode: every request needs a bearer token. Default: on unless listening on loopback.",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes (each serves every request kind).", min=1)
    ] = 1,
    scheduler: Annotated[
        float, typer.Option(help="Run the cron schedules, checking every this many seconds (0: off).", min=0)
    ] = 30.0,
    pg_port: Annotated[
        int | None,
        typer.Option(
            help="Also serve the PostgreSQL wire protocol on this port (psql, JDBC, BI tools).", min=1
        ),
    ] = None,
    pg_tls_cert: PgTlsCert = None,
    pg_tls_key: PgTlsKey = None,
    flight_port: Annotated[
        int | None,
        typer.Option(help="Also serve Arrow Flight SQL on this port (ADBC, Flight SQL drivers).", min=1),
    ] = None,
    debug: Debug = False,
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the marketplace, and run the schedules."""
    import os

    import uvicorn

    from quanta.interfaces.api.server import SCHEDULER, SERVER_MODE
    from quanta.interfaces.cli.wire import wire_tls

    server_mode = require_token if require_token is not None else host not in LOOPBACK
    pg_tls = wire_tls(pg_tls_cert, pg_tls_key)
    mesh = open_mesh()
    _ = mesh.search_index  # build the search index once, before the workers share it
    # Workers open the same workspace from the environment, whatever folder they start in.
    os.environ["QUANTA_WORKSPACE"] = str(mesh.workspace.root.resolve()) if mesh.workspace else ""
    os.environ[SERVER_MODE] = "1" if server_mode else "0"
    os.environ[SCHEDULER] = str(scheduler)
    announce(mesh, host, port, server_mode=server_mode)
    wire_servers(mesh, host, (pg_port, pg_tls), flight_port, local_mode=not server_mode)
    with metrics_environment(workers):
        uvicorn.run(
            "quanta.interfaces.api.server:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )


def wire_servers(
    mesh: Mesh,
    host: str,
    pg: tuple[int | None, ssl.SSLContext | None],
    flight_port: int | None,
    *,
    local_mode: bool,
) -> None:
    """The PostgreSQL wire protocol and Flight SQL servers asked for, beside the HTTP server; their
    endpoints go to the product pages' Connect box."""
    import os

    from quanta.interfaces.web.connect import FLIGHT_ENDPOINT, PG_ENDPOINT

    if pg[0]:
        wire_in_background(mesh, host, pg[0], local_mode=local_mode, tls=pg[1])
        os.environ[PG_ENDPOINT] = f"{host}:{pg[0]}"
    if flight_port:
        flight_in_background(mesh, host, flight_port, local_mode=local_mode)
        os.environ[FLIGHT_ENDPOINT] = f"{host}:{flight_port}"


def announce(mesh: Mesh, host: str, port: int, *, server_mode: bool) -> None:
    where = f"http://{'localhost' if host in LOOPBACK else host}:{port}"
    mode = (
        "server mode: bearer tokens required"
        if server_mode
        else f"local mode: acting as {mesh.settings.user}"
    )
    render.err.print(f"Quanta on {where}  (API {where}/api/v1, OpenAPI {where}/openapi.json; {mode})")


def flight_in_background(mesh: Mesh, host: str, port: int, *, local_mode: bool) -> None:
    """The Arrow Flight SQL server beside the HTTP server (gRPC serves it on threads of its own; a
    thread waiting on it keeps it alive); it ends with the process."""
    import threading

    from quanta.interfaces.cli.flight import start_flight

    server = start_flight(mesh, host, port, local_mode=local_mode)
    threading.Thread(target=server.wait, name="quanta-flight", daemon=True).start()


def wire_in_background(
    mesh: Mesh, host: str, port: int, *, local_mode: bool, tls: ssl.SSLContext | None = None
) -> None:
    """The PostgreSQL wire protocol server on a thread of its own (its own event loop), beside the
    HTTP server; it ends with the process."""
    import asyncio
    import threading

    from quanta.interfaces.pgwire.server import WireServer, serve_forever

    server = WireServer(mesh, local_mode=local_mode, tls=tls)
    thread = threading.Thread(
        target=lambda: asyncio.run(serve_forever(server, host, port)), name="quanta-pgwire", daemon=True
    )
    thread.start()
    shown = "localhost" if host in LOOPBACK else host
    render.err.print(
        f"PostgreSQL wire protocol on {shown}:{port}  "
        f"(psql -h {shown} -p {port} -U {mesh.settings.user} quanta{', TLS' if tls else ''})"
    )


@contextmanager
def metrics_environment(workers: int) -> Iterator[None]:
    """Queries through this server count as ``interface="http"``; with several workers, their query
    metrics go to files in a fresh folder that each worker's /metrics sums (prometheus_client's
    multiprocess mode; it must be set before the workers start). A folder the operator chose in
    PROMETHEUS_MULTIPROC_DIR is used as it is."""
    import os
    import shutil
    import tempfile

    from quanta.mesh import INTERFACE_ENV, MULTIPROC_ENV

    os.environ.setdefault(INTERFACE_ENV, "http")
    folder = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        folder = tempfile.mkdtemp(prefix="quanta-metrics-")
        os.environ[MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        if folder is not None:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(folder, ignore_errors=True)
