"""The SDK's data over Arrow Flight SQL: when the server says it serves Flight (``GET /endpoints``) and
the ADBC Flight SQL driver is installed (``pip install 'quanta[flight]'``), query results travel as
Arrow record batches over gRPC instead of an Arrow IPC stream over HTTP. Same governed query service,
same token (sent as ``authorization: Bearer``), same errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from quanta.errors import AuthenticationError, NotFoundError, PermissionDenied, QuantaError

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.sdk.client import Batches

TRANSPORTS = ("auto", "http", "flight")
_MESSAGE = b"x-arrow-status-message-bin"  # the server's own message, as the driver passes it on
_DETAIL = re.compile(r"\.? Detail: .*$", re.S)
_PREFIX = re.compile(r"^[A-Z_]+: (?:\[FlightSQL\] )?")
_ERRORS: dict[int, type[QuantaError]] = {  # ADBC status codes
    3: NotFoundError,
    13: AuthenticationError,
    14: PermissionDenied,
}
_UNAVAILABLE = 10  # ADBC_STATUS_IO: the server cannot be reached


def driver_installed() -> bool:
    try:
        import adbc_driver_flightsql.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def flight_batches(location: str, token: str | None, sql: str, limit: int | None) -> Batches:
    """``sql``'s batches from the Flight SQL server at ``location``, at most ``limit`` rows (the
    stream is closed after them, which stops the query on the server)."""
    import adbc_driver_flightsql.dbapi as flightsql

    from quanta.sdk.client import Batches

    options = {"adbc.flight.sql.authorization_header": f"Bearer {token}"} if token else {}
    try:
        connection = flightsql.connect(location, db_kwargs=options, autocommit=True)
    except flightsql.Error as exc:
        raise flight_error(exc, location) from None
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
    except flightsql.Error as exc:
        connection.close()
        raise flight_error(exc, location) from None

    def close() -> None:
        cursor.close()
        connection.close()

    return Batches(reader.schema, _at_most(reader, limit), close)


def _at_most(reader: pa.RecordBatchReader, limit: int | None) -> Iterator[pa.RecordBatch]:
    left = limit
    for batch in reader:
        if left is not None and batch.num_rows >= left:
            if left:
                yield batch.slice(0, left)
            return
        if left is not None:
            left -= batch.num_rows
        yield batch


def flight_error(exc: Exception, location: str) -> QuantaError:
    """The driver's error as the error the server raised: its message and hint, the kind by status
    (a refused read is a PermissionDenied, a bad token an AuthenticationError; the rest QuantaError)."""
    details = dict(getattr(exc, "details", None) or [])
    if _MESSAGE in details:
        text = details[_MESSAGE].decode("utf-8", errors="replace")
    else:
        text = _DETAIL.sub("", _PREFIX.sub("", str(exc).strip()))
    message, _, hint = text.partition("\nhint: ")
    status = getattr(exc, "status_code", None)
    if status == _UNAVAILABLE and _MESSAGE not in details:
        return QuantaError(
            f"cannot reach the Flight SQL server at {location}: {message}",
            hint="check that 'quanta serve --flight-port' runs there, or connect(..., transport='http')",
        )
    return _ERRORS.get(int(status or 0), QuantaError)(message, hint=hint or None)
