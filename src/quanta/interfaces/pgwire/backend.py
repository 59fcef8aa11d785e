"""What the wire server asks of the mesh: who a client is, the governed answer to a query, and a
catalog (``pg_catalog``, ``information_schema``) of the products that principal may read.

Product data only ever comes from ``Mesh.governed_stream`` (the one governed path: grants, masks, row
filters, audit), sent to the client as its batches are computed. Catalog questions are answered by an
in-memory DuckDB holding empty tables shaped like the readable products, so DuckDB's own
``pg_catalog`` views answer what drivers and BI tools ask.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quanta.errors import EngineError, QuantaError
from quanta.interfaces.pgwire.catalog import build_catalog, catalog_sql

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from quanta.interfaces.pgwire.rows import Rows
    from quanta.mesh import GovernedStream, Mesh, ScramSignIn

CATALOG_SECONDS = 10  # a grant given or revoked shows in the catalog within this long


class WireError(QuantaError):
    """An error with the SQLSTATE a PostgreSQL client expects."""

    def __init__(self, message: str, sqlstate: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate


@dataclass
class Answer:
    """Rows for one query, and what governance did to them (sent to the client as notices)."""

    schema: pa.Schema
    batches: Iterable[pa.RecordBatch]
    """Computed as they are read, for a governed query."""
    notices: list[str] = field(default_factory=list)
    tag: str = "SELECT"
    """The CommandComplete verb, followed by the row count."""
    close: Callable[[], None] = lambda: None
    """Stops the query and releases its cursor (the rest of the rows are not computed)."""
    receipt: Callable[[], dict[str, Any] | None] = lambda: None
    """The signed receipt of the read, once its rows have been sent (None for catalog answers)."""
    source: Rows | None = None
    """The rows still to send, with those already computed (set by the session that started it)."""


class MeshBackend:
    """One shared ``Mesh`` serving every connection, each acting as its own principal."""

    def __init__(self, mesh: Mesh, *, trust_loopback: bool, interface: str = "pgwire") -> None:
        self.mesh = mesh
        self.trust_loopback = trust_loopback
        self.interface = interface
        """Named in the audit entries and query metrics of the queries this backend runs."""
        self._catalogs: dict[str, tuple[object, duckdb.DuckDBPyConnection]] = {}
        self._lock = threading.Lock()

    # --- who ------------------------------------------------------------------------------------------

    def trusted(self, user: str) -> str:
        """The principal a loopback client in local mode names (the workspace user when it names none)."""
        principal = user or self.mesh.settings.user
        try:
            return self.mesh.principal(principal).id
        except QuantaError as exc:
            raise WireError(
                f'role "{principal}" does not exist',
                "28000",
                hint="connect as a principal of governance.yaml",
            ) from exc

    def scram_start(self, user: str) -> ScramSignIn:
        """A SCRAM exchange for ``user`` (an unknown user gets one that can only fail, at the end, so
        that a client cannot tell which principals exist)."""
        return self.mesh.scram_sign_in(user)

    def scram_finish(self, user: str, sign_in: ScramSignIn, client_final: bytes) -> tuple[str, bytes]:
        """The principal proven by ``client_final`` and the server-final message."""
        from quanta.mesh import ScramError

        try:
            index, server_final = sign_in.exchange.final(client_final, sign_in.verifiers)
        except ScramError as exc:
            raise WireError(
                f'password authentication failed for user "{user}"',
                "28P01",
                hint="the password is an API token of this user (quanta token create NAME --for USER); "
                f"{exc}",
            ) from exc
        principal, scopes = self.mesh.scram_signed_in(sign_in, index)
        needs_read(principal.id, scopes)
        return principal.id, server_final

    # --- data -----------------------------------------------------------------------------------------

    def open(self, principal: str, sql: str, *, batch_bytes: int | None = None) -> GovernedStream:
        """Product data through the governed query service, as ``principal``: parsed, authorized,
        audited and bound, not computed yet (closing the stream stops it). ``batch_bytes``: see
        ``Mesh.governed_stream``."""
        from quanta.mesh import acting_as, query_interface

        with acting_as(principal), query_interface(self.interface):
            try:
                return self.mesh.governed_stream(sql, batch_bytes=batch_bytes)
            except QuantaError as exc:
                raise wire_error(exc) from exc

    def answer(self, stream: GovernedStream, sql: str) -> Answer:
        """The stream's first batch computed (an engine failure is an error before any row), its rows
        to be sent as the rest are computed, and notices saying what governance did to them; the
        columns named as PostgreSQL names those of ``sql`` (``count``, not ``count_star()``)."""
        from quanta.interfaces.pgwire.sql import postgres_names

        try:
            stream.started()
        except QuantaError as exc:
            raise wire_error(exc) from exc
        notices = [
            f"{product}: column {column} is masked ({mask})"
            for product, masks in stream.masked.items()
            for column, mask in masks.items()
        ]
        notices += [f"{product}: rows filtered ({rule})" for product, rule in stream.filtered.items()]
        schema = stream.schema
        named = postgres_names(sql, schema.names)
        if named != schema.names:
            import pyarrow as pa

            schema = pa.schema([f.with_name(n) for f, n in zip(schema, named, strict=True)], schema.metadata)
        return Answer(
            schema, _wire_errors(stream), notices, close=stream.close, receipt=lambda: stream.receipt
        )

    def catalog_query(self, principal: str, sql: str, user: str) -> Answer:
        """A question about the catalog (or no table at all), answered from the principal's catalog."""
        import duckdb

        connection = self._catalog(principal).cursor()
        connection.execute("use quanta")
        sql = catalog_sql(sql, principal)
        try:
            reader = connection.sql(sql).to_arrow_reader(10_000)
            batches = list(reader)
            return Answer(reader.schema, batches)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            if "PrivilegeError: " in first:  # has_table_privilege(..., 'frobnicate')
                raise WireError(first.partition("PrivilegeError: ")[2], "22023") from None
            state = "42P01" if "Catalog Error" in first else "42601" if "Parser Error" in first else "XX000"
            raise WireError(first, state) from None
        finally:
            connection.close()

    def _catalog(self, principal: str) -> duckdb.DuckDBPyConnection:
        """The principal's catalog, rebuilt when products changed or grants may have (after a while)."""
        stamp = (self.mesh.products(), int(time.monotonic() // CATALOG_SECONDS))
        with self._lock:
            cached = self._catalogs.get(principal)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            connection = build_catalog(self.mesh, principal)
            self._catalogs[principal] = (stamp, connection)
            return connection


def needs_read(principal: str, scopes: list[str]) -> None:
    if not {"read", "admin"} & set(scopes):
        raise WireError(
            f"the token of {principal} has scopes {', '.join(scopes)}, without read",
            "28000",
            hint="create one with read: quanta token create NAME --for USER --scopes read,request",
        )


def _wire_errors(stream: GovernedStream) -> Iterator[pa.RecordBatch]:
    """The stream's batches; a failure while computing them (or a cancel) with its SQLSTATE."""
    try:
        yield from stream
    except QuantaError as exc:
        raise wire_error(exc) from exc


def _engine_state(exc: BaseException) -> str | None:
    """The SQLSTATE of the engine error ``exc`` is, or carries, or was raised from."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None or isinstance(seen, EngineError):
            return seen.sqlstate if seen is not None else None
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str):
            return state
        seen = seen.__cause__
    return None


def wire_error(exc: QuantaError) -> WireError:
    """The SQLSTATE for an error of the governed query service: by the HTTP status it carries, the
    engine error it comes from (``EngineError.sqlstate``), else by what it says."""
    from quanta.mesh import QueryCancelled

    if isinstance(exc, QueryCancelled):
        return WireError("canceling statement due to user request", "57014")
    text = exc.message
    by_status = {401: "28000", 403: "42501", 404: "42P01"}
    if exc.status in by_status:
        return WireError(text, by_status[exc.status], hint=exc.hint)
    engine = _engine_state(exc)
    if engine is not None:  # the engine's failure, classified where it was translated
        return WireError(text, engine, hint=exc.hint)
    lowered = text.lower()
    if "parse" in lowered or "syntax" in lowered:
        return WireError(text, "42601", hint=exc.hint)
    if "read-only" in lowered or "only select" in lowered or "only one" in lowered:
        return WireError(text, "25006", hint=exc.hint)
    if "not allowed" in lowered or "cannot be queried" in lowered:
        return WireError(text, "42501", hint=exc.hint)
    return WireError(text, "XX000" if text.startswith("query failed") else "42000", hint=exc.hint)
