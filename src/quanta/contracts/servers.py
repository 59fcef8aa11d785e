"""Where a standalone contract's data lives: its ODCS ``servers`` as sources, one per schema object.

Supported server types: ``local`` (CSV, Parquet or JSON files; ``{model}`` in the path stands for the
object name, as in datacontract-cli), ``duckdb`` (a database file) and ``postgres``/``postgresql``
(credentials from ``QUANTA_POSTGRES_USERNAME``/``QUANTA_POSTGRES_PASSWORD``, or datacontract-cli's
``DATACONTRACT_POSTGRES_USERNAME``/``DATACONTRACT_POSTGRES_PASSWORD``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from quanta.errors import QuantaError
from quanta.spec.contract import Contract, SchemaObject, Server
from quanta.spec.product import DatabaseSource, FileSource

SUPPORTED = ("local", "duckdb", "postgres", "postgresql")


class ServerError(QuantaError):
    """A contract's server cannot be used: unknown name, unsupported type, missing fields."""


@dataclass(frozen=True)
class DuckDBTable:
    """A table inside a DuckDB database file."""

    database: str
    schema: str | None
    table: str


Target = FileSource | DatabaseSource | DuckDBTable


def choose_server(contract: Contract, name: str | None) -> Server:
    servers = contract.servers or []
    if not servers:
        raise ServerError(
            f"contract {contract.id} has no servers to test against",
            hint="add a 'servers:' entry (type local, duckdb or postgres), or test a registered product",
        )
    if name is None:
        return servers[0]
    for server in servers:
        if server.server == name:
            return server
    raise ServerError(
        f"no server {name!r} in contract {contract.id}",
        hint=f"servers: {', '.join(s.server for s in servers)}",
    )


def targets(contract: Contract, server: Server) -> dict[str, Target]:
    """Each schema object's data on ``server``. Paths stay as written: the caller resolves relative ones
    (against the contract's folder, then the working directory). Objects may share one path without
    ``{model}``: each then reads the same files, as datacontract-cli does."""
    kind = server.type.lower()
    if kind not in SUPPORTED:
        raise ServerError(
            f"server {server.server!r} has type {server.type!r}, which quanta test cannot read yet",
            hint=f"supported server types: {', '.join(SUPPORTED)}",
        )
    return {obj.name: _target(kind, server, obj) for obj in contract.objects}


def _target(kind: str, server: Server, obj: SchemaObject) -> Target:
    table = obj.physical_name or obj.name
    if kind == "local":
        path = server.path or server.location
        if not path:
            raise ServerError(
                f"server {server.server!r} (local) needs a 'path'", hint="e.g. path: ./data/{model}.csv"
            )
        fmt = (server.format or "").lower() or None
        return FileSource(
            type="file",
            path=path.replace("{model}", table),
            format=fmt if fmt in ("csv", "parquet", "json") else None,
        )
    if kind == "duckdb":
        database = server.database or server.path
        if not database:
            raise ServerError(
                f"server {server.server!r} (duckdb) needs 'database'", hint="the .duckdb file path"
            )
        return DuckDBTable(database, server.schema_, table)
    missing = [f for f in ("host", "port", "database") if not getattr(server, f)]
    if missing:
        raise ServerError(f"server {server.server!r} (postgres) needs {', '.join(missing)}")
    user = (
        os.environ.get("QUANTA_POSTGRES_USERNAME")
        or os.environ.get("DATACONTRACT_POSTGRES_USERNAME")
        or "postgres"
    )
    password = os.environ.get("QUANTA_POSTGRES_PASSWORD") or os.environ.get("DATACONTRACT_POSTGRES_PASSWORD")
    from sqlalchemy.engine import URL

    url = URL.create("postgresql+psycopg", user, password, server.host, server.port, server.database)
    qualified = f'"{server.schema_}"."{table}"' if server.schema_ else f'"{table}"'
    return DatabaseSource(
        type="database", url=url.render_as_string(hide_password=False), query=f"select * from {qualified}"
    )
