"""Flight SQL's messages: every command, ticket and action body is a protobuf message wrapped in a
``google.protobuf.Any`` (its type URL names it). The messages come from ``flight_sql.proto``, a subset
of Apache Arrow's ``format/FlightSql.proto`` written from the specification (same package, names and
field numbers), compiled to ``flight_sql_pb2.py`` by ``scripts/flight_proto.sh``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.flight as fl
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError

from quanta.interfaces.flight import flight_sql_pb2 as sql
from quanta.interfaces.flight.errors import invalid

if TYPE_CHECKING:
    from google.protobuf.message import Message

PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."
KNOWN: dict[str, type[Message]] = {
    cls.DESCRIPTOR.name: cls
    for cls in (
        sql.CommandGetSqlInfo,
        sql.CommandGetXdbcTypeInfo,
        sql.CommandGetCatalogs,
        sql.CommandGetDbSchemas,
        sql.CommandGetTables,
        sql.CommandGetTableTypes,
        sql.CommandGetPrimaryKeys,
        sql.ActionCreatePreparedStatementRequest,
        sql.ActionClosePreparedStatementRequest,
        sql.CommandStatementQuery,
        sql.TicketStatementQuery,
        sql.CommandPreparedStatementQuery,
        sql.CommandStatementUpdate,
        sql.CommandPreparedStatementUpdate,
    )
}


def pack(message: Message) -> bytes:
    """``message`` wrapped in an ``Any``, serialized (what goes in a ticket or an action result)."""
    wrapped = any_pb2.Any()
    wrapped.Pack(message, type_url_prefix="type.googleapis.com/")
    return wrapped.SerializeToString()


def unpack(data: bytes, where: str) -> Message:
    """The Flight SQL message in ``data`` (an ``Any``); a clear error for bytes that are not one, or
    for a message this server does not know."""
    wrapped = any_pb2.Any()
    try:
        wrapped.ParseFromString(data)
    except DecodeError:
        raise invalid(
            f"the {where} is not a Flight SQL command (a google.protobuf.Any)",
            "use a Flight SQL client (ADBC's flightsql driver, JDBC's flight-sql driver)",
        ) from None
    name = wrapped.type_url.removeprefix(PREFIX)
    cls = KNOWN.get(name) if wrapped.type_url.startswith(PREFIX) else None
    if cls is None:
        raise invalid(
            f"unsupported Flight SQL command {wrapped.type_url or '(no type)'} in the {where}",
            f"this server answers {', '.join(sorted(KNOWN))}",
        )
    message = cls()
    try:
        message.ParseFromString(wrapped.value)
    except DecodeError:
        raise invalid(f"the {where} holds a malformed {name}") from None
    return message


def ticket(message: Message) -> fl.Ticket:
    return fl.Ticket(pack(message))


def serialized_schema(schema: pa.Schema) -> bytes:
    """An Arrow schema as an IPC message (Flight SQL's ``table_schema`` and ``dataset_schema``)."""
    return bytes(schema.serialize())
