"""The product page's "Connect" box: the exact strings a tool needs to read this product (psql, JDBC,
ODBC, ADBC/Flight SQL, the Python SDK, an MCP client), for the ports this server serves."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import Request

PG_ENDPOINT = "QUANTA_PG_ENDPOINT"
FLIGHT_ENDPOINT = "QUANTA_FLIGHT_ENDPOINT"
"""``host:port`` of the PostgreSQL wire and Flight SQL servers, set by ``quanta serve`` for its workers."""


@dataclass(frozen=True)
class ConnectString:
    tool: str
    text: str


def connect_strings(
    request: Request, user: str, product_id: str, *, server_mode: bool
) -> list[ConnectString]:
    """What to paste into each tool, as this viewer, to read ``product_id`` (the host is the one the
    browser reached)."""
    host = request.url.hostname or "localhost"
    base = str(request.base_url).rstrip("/")
    secret = "<API token>" if server_mode else ""
    found = []
    if pg := endpoint_port(PG_ENDPOINT):
        password = f"PGPASSWORD='{secret}' " if server_mode else ""
        found += [
            ConnectString(
                "psql",
                f"{password}psql -h {host} -p {pg} -U {user} quanta\nselect * from {product_id} limit 10;",
            ),
            ConnectString(
                "JDBC (DBeaver, Metabase, Superset)",
                f"jdbc:postgresql://{host}:{pg}/quanta?user={user}"
                + ("&password=<API token>" if server_mode else ""),
            ),
            ConnectString(
                "ODBC (psqlODBC)",
                f"Driver={{PostgreSQL Unicode}};Server={host};Port={pg};Database=quanta;Uid={user};"
                + ("Pwd=<API token>;" if server_mode else ""),
            ),
        ]
    if flight := endpoint_port(FLIGHT_ENDPOINT):
        kwargs = f', db_kwargs={{"username": "{user}", "password": token}}' if server_mode else ""
        found.append(
            ConnectString(
                "ADBC / Arrow Flight SQL (Python)",
                "import adbc_driver_flightsql.dbapi as flightsql\n"
                f'conn = flightsql.connect("grpc://{host}:{flight}"{kwargs})\n'
                f'table = conn.cursor().execute("select * from {product_id}").fetch_arrow_table()',
            )
        )
    token = ', token="<API token>"' if server_mode else ""
    found += [
        ConnectString(
            "Python SDK",
            f'import quanta\nquanta.connect("{base}"{token}).product("{product_id}").to_pandas()',
        ),
        ConnectString(
            "MCP (AI agents, streamable HTTP)",
            f"{base}/mcp" + ("  (Authorization: Bearer <API token>)" if server_mode else ""),
        ),
    ]
    if not pg or not flight:
        found.append(ConnectString("More ports", "quanta serve --pg-port 5433 --flight-port 8815"))
    return found


def endpoint_port(variable: str) -> str:
    """The port of a wire server ``quanta serve`` runs ('' when it runs none)."""
    return os.environ.get(variable, "").rpartition(":")[2]
