"""The Arrow Flight SQL server on ``pyarrow.flight``: queries and prepared statements answered by the
governed query service (``Mesh.governed_stream``, the one governed path: grants, masks, row filters,
audit), their record batches sent to the client as the engine computes them; catalog questions
answered from the products the principal may read. Read-only: updates are refused.

A query: GetFlightInfo(CommandStatementQuery) opens the governed stream and answers with its schema
and a ticket; DoGet(ticket) streams it. A prepared statement: the CreatePreparedStatement action,
DoPut(CommandPreparedStatementQuery) with one row of parameters, then GetFlightInfo and DoGet as for
a query; the ClosePreparedStatement action ends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.flight as fl

from quanta.errors import QuantaError
from quanta.interfaces.flight import catalog as c
from quanta.interfaces.flight import flight_sql_pb2 as sql
from quanta.interfaces.flight.auth import Auth, NoCheck, principal
from quanta.interfaces.flight.commands import pack, ticket, unpack
from quanta.interfaces.flight.errors import flight_error, invalid
from quanta.interfaces.flight.params import bind
from quanta.interfaces.flight.statements import Statements
from quanta.interfaces.pgwire.backend import MeshBackend

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from quanta.mesh import GovernedStream, Mesh

log = logging.getLogger("quanta.flight")
INTERFACE = "flight"
READ_ONLY = "this server is read-only: Flight SQL updates (INSERT, UPDATE, DELETE, CREATE, COPY) are refused"
BATCH_BYTES = 8 << 20
"""The governed stream is asked for batches of about this size (by its column types): fewer, larger
messages cost the client and the server less per row than the usual 8,192 rows."""
MAX_MESSAGE_BYTES = 8 << 20
"""A batch larger than this (long strings) is sent in slices: clients refuse large messages (ADBC's
Flight SQL driver above 16 MiB by default)."""
ACTIONS = [
    fl.ActionType("CreatePreparedStatement", "Prepare a query (ActionCreatePreparedStatementRequest)."),
    fl.ActionType("ClosePreparedStatement", "Close a prepared statement."),
]


class FlightSqlServer(fl.FlightServerBase):
    """Serves one mesh over Flight SQL; every call acts as the principal its credentials prove."""

    def __init__(
        self,
        mesh: Mesh,
        location: str,
        *,
        local_mode: bool,
        tls_certificates: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.backend = MeshBackend(mesh, trust_loopback=local_mode, interface=INTERFACE)
        self.statements = Statements()
        super().__init__(
            location,
            auth_handler=NoCheck(),
            middleware={"auth": Auth(self.backend, local_mode=local_mode)},
            tls_certificates=tls_certificates or [],
        )

    # --- RPCs -------------------------------------------------------------------------------------

    def get_flight_info(
        self, context: fl.ServerCallContext, descriptor: fl.FlightDescriptor
    ) -> fl.FlightInfo:
        with self._call(context) as who:
            command = unpack(descriptor.command or b"", "flight descriptor's command")
            if isinstance(command, sql.CommandStatementQuery | sql.CommandPreparedStatementQuery):
                stream = self._open(who, self._sql(who, command)).started()
                handle = self.statements.hold(who, stream)
                endpoint = fl.FlightEndpoint(ticket(sql.TicketStatementQuery(statement_handle=handle)), [])
                return fl.FlightInfo(stream.schema, descriptor, [endpoint], -1, -1)
            schema = _metadata_schema(command)
            return fl.FlightInfo(schema, descriptor, [fl.FlightEndpoint(pack(command), [])], -1, -1)

    def get_schema(self, context: fl.ServerCallContext, descriptor: fl.FlightDescriptor) -> fl.SchemaResult:
        with self._call(context) as who:
            command = unpack(descriptor.command or b"", "flight descriptor's command")
            if isinstance(command, sql.CommandStatementQuery | sql.CommandPreparedStatementQuery):
                with self._open(who, self._sql(who, command)).started() as stream:
                    return fl.SchemaResult(stream.schema)
            return fl.SchemaResult(_metadata_schema(command))

    def do_get(self, context: fl.ServerCallContext, ticket: fl.Ticket) -> fl.FlightDataStream:
        with self._call(context) as who:
            command = unpack(ticket.ticket, "ticket")
            if isinstance(command, sql.TicketStatementQuery):
                stream = self.statements.take(command.statement_handle, who)
                return fl.GeneratorStream(stream.schema, _batches(stream))
            return fl.RecordBatchStream(self._metadata(who, command))

    def do_put(
        self,
        context: fl.ServerCallContext,
        descriptor: fl.FlightDescriptor,
        reader: fl.MetadataRecordBatchReader,
        writer: fl.FlightMetadataWriter,
    ) -> None:
        with self._call(context) as who:
            command = unpack(descriptor.command or b"", "flight descriptor's command")
            if isinstance(command, sql.CommandPreparedStatementQuery):
                handle = command.prepared_statement_handle
                self.statements.prepared(handle, who)
                self.statements.bind(handle, who, reader.read_all())
                answer = sql.DoPutPreparedStatementResult(prepared_statement_handle=handle)
                writer.write(pa.py_buffer(answer.SerializeToString()))
                return
            if isinstance(command, sql.CommandStatementUpdate | sql.CommandPreparedStatementUpdate):
                raise invalid(READ_ONLY, "query data products with SELECT")
            raise invalid(f"DoPut does not take a {command.DESCRIPTOR.name}", "bind parameters or nothing")

    def do_action(self, context: fl.ServerCallContext, action: fl.Action) -> list[fl.Result]:
        with self._call(context) as who:
            body = action.body.to_pybytes() if action.body is not None else b""
            if action.type == "CreatePreparedStatement":
                request = unpack(body, "action body")
                if not isinstance(request, sql.ActionCreatePreparedStatementRequest):
                    raise invalid("CreatePreparedStatement takes an ActionCreatePreparedStatementRequest")
                handle = self.statements.prepare(who, request.query)
                result = sql.ActionCreatePreparedStatementResult(prepared_statement_handle=handle)
                return [fl.Result(pack(result))]
            if action.type == "ClosePreparedStatement":
                request = unpack(body, "action body")
                if isinstance(request, sql.ActionClosePreparedStatementRequest):
                    self.statements.close(request.prepared_statement_handle, who)
                return []
            known = ", ".join(a.type for a in ACTIONS)
            raise invalid(f"unsupported action {action.type!r}", f"this server answers {known}")

    def list_actions(self, context: fl.ServerCallContext) -> list[fl.ActionType]:
        return ACTIONS

    def shutdown(self) -> None:
        self.statements.close_all()
        super().shutdown()

    # --- helpers ----------------------------------------------------------------------------------

    @contextmanager
    def _call(self, context: fl.ServerCallContext) -> Iterator[str]:
        """The call's principal; errors as Flight errors with their hint, never a traceback."""
        try:
            yield principal(context, self.backend)
        except QuantaError as exc:
            raise flight_error(exc) from None
        except fl.FlightError:
            raise
        except Exception as exc:
            log.exception("flight: internal error")
            raise fl.FlightInternalError(f"internal error: {type(exc).__name__}") from None

    def _sql(self, who: str, command: Message) -> str:
        if isinstance(command, sql.CommandPreparedStatementQuery):
            prepared = self.statements.prepared(command.prepared_statement_handle, who)
            return bind(prepared.sql, prepared.parameters)
        assert isinstance(command, sql.CommandStatementQuery)
        return str(command.query)

    def _open(self, who: str, query: str) -> GovernedStream:
        if not query.strip():
            raise invalid("the query is empty", "send a SELECT over data products")
        return self.backend.open(who, query, batch_bytes=BATCH_BYTES)

    def _metadata(self, who: str, command: Message) -> pa.Table:
        if type(command) not in c.ANSWERS:
            raise _unsupported(command)
        answer: Callable[[Message], pa.Table] = getattr(
            c.Catalog(self.backend, who), c.ANSWERS[type(command)]
        )
        return answer(command)


def _metadata_schema(command: Message) -> pa.Schema:
    if isinstance(command, sql.CommandGetTables) and command.include_schema:
        return c.TABLES_WITH_SCHEMA
    if type(command) in c.SCHEMAS:
        return c.SCHEMAS[type(command)]
    raise _unsupported(command)


def _unsupported(command: Message) -> Exception:
    return invalid(
        f"{command.DESCRIPTOR.name} is not supported here",
        "this server answers queries, prepared statements and the catalog, SqlInfo, table types and "
        "primary keys",
    )


def _batches(stream: GovernedStream) -> Iterator[pa.RecordBatch]:
    """The stream's batches as the engine computes them, large ones in slices; closed when the client
    stops reading."""
    try:
        for batch in stream:
            parts = -(-batch.nbytes // MAX_MESSAGE_BYTES)
            if parts <= 1:
                yield batch
                continue
            step = -(-batch.num_rows // parts)
            for start in range(0, batch.num_rows, step):
                yield batch.slice(start, step)
    except QuantaError as exc:
        raise flight_error(exc) from None
    finally:
        stream.close()


def location(host: str, port: int, *, tls: bool) -> str:
    return f"grpc+{'tls' if tls else 'tcp'}://{host}:{port}"
