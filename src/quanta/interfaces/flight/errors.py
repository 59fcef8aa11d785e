"""Errors as a Flight client sees them: the gRPC status a Flight SQL driver maps to its own error
kinds, and the message and hint the CLI and the PostgreSQL wire server give for the same failure.

Only ``pyarrow.flight``'s own error classes are raised to a client: any other exception (``ArrowInvalid``
for INVALID_ARGUMENT, say) reaches the client with the server's Python traceback appended to the
message. So bad input (syntax, a write, an unknown product, a malformed command) is a
``FlightServerError`` (gRPC UNKNOWN) with the message and hint, and the SQLSTATE the wire server would
give is carried in the error's ``extra_info`` (``sqlstate=42601``) for clients that want the kind."""

from __future__ import annotations

import pyarrow.flight as fl

from quanta.errors import QuantaError
from quanta.interfaces.pgwire.backend import WireError, wire_error


def text(message: str, hint: str | None = None) -> str:
    return f"{message}\nhint: {hint}" if hint else message


def invalid(message: str, hint: str | None = None, sqlstate: str = "42000") -> fl.FlightServerError:
    """Bad input."""
    return fl.FlightServerError(text(message, hint), extra_info=f"sqlstate={sqlstate}".encode())


def unauthenticated(message: str, hint: str | None = None) -> fl.FlightUnauthenticatedError:
    return fl.FlightUnauthenticatedError(text(message, hint))


def flight_error(exc: QuantaError) -> Exception:
    """The Flight error for an error of the governed query service, by the SQLSTATE the wire server
    gives it: a denial is PERMISSION_DENIED, a bad sign-in UNAUTHENTICATED, a cancel CANCELLED, an
    engine failure INTERNAL, and the rest (syntax, writes, unknown products) UNKNOWN."""
    wire = exc if isinstance(exc, WireError) else wire_error(exc)
    message = text(wire.message, wire.hint)
    state = wire.sqlstate
    if state.startswith("28"):
        return fl.FlightUnauthenticatedError(message)
    if state == "42501":
        return fl.FlightUnauthorizedError(message)
    if state == "57014":
        return fl.FlightCancelledError(message)
    if state == "XX000":
        return fl.FlightInternalError(message)
    return fl.FlightServerError(message, extra_info=f"sqlstate={state}".encode())
