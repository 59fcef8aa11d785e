"""What the server keeps between calls: a query's stream between GetFlightInfo (which opens it: parsed,
authorized, audited, first batch computed) and DoGet (which sends it), and prepared statements with
their bound parameters. Each belongs to the principal that made it; unused ones expire."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from quanta.interfaces.flight.errors import invalid

if TYPE_CHECKING:
    from quanta.mesh import GovernedStream

TICKET_SECONDS = 300.0
"""A query's ticket is valid this long after GetFlightInfo (its stream holds an engine cursor)."""
PREPARED_SECONDS = 3600.0
"""A prepared statement not used for this long is closed."""
MAX_PREPARED = 1000
"""Prepared statements kept at most (per server); the least recently used go first."""


@dataclass
class Pending:
    principal: str
    stream: GovernedStream
    created: float = field(default_factory=time.monotonic)


@dataclass
class Prepared:
    principal: str
    sql: str
    parameters: pa.Table | None = None
    used: float = field(default_factory=time.monotonic)


class Statements:
    """Open query streams by ticket handle and prepared statements by handle, thread-safe."""

    def __init__(self) -> None:
        self._pending: dict[bytes, Pending] = {}
        self._prepared: dict[bytes, Prepared] = {}
        self._lock = threading.Lock()

    def hold(self, principal: str, stream: GovernedStream) -> bytes:
        """Keep ``stream`` for its DoGet; the ticket handle naming it."""
        handle = secrets.token_bytes(16)
        with self._lock:
            expired = self._expired()
            self._pending[handle] = Pending(principal, stream)
        for old in expired:
            old.close()
        return handle

    def take(self, handle: bytes, principal: str) -> GovernedStream:
        """The stream of a ticket (once: a ticket is used by one DoGet)."""
        with self._lock:
            pending = self._pending.get(handle)
            if pending is None or pending.principal != principal:
                raise invalid(
                    "unknown, used or expired ticket",
                    f"run the query again: a ticket serves one DoGet within {TICKET_SECONDS:.0f} s",
                )
            del self._pending[handle]
        return pending.stream

    def _expired(self) -> list[GovernedStream]:
        now = time.monotonic()
        old = [h for h, p in self._pending.items() if now - p.created > TICKET_SECONDS]
        return [self._pending.pop(h).stream for h in old]

    def prepare(self, principal: str, sql: str) -> bytes:
        handle = secrets.token_bytes(16)
        with self._lock:
            now = time.monotonic()
            for old in [h for h, p in self._prepared.items() if now - p.used > PREPARED_SECONDS]:
                del self._prepared[old]
            while len(self._prepared) >= MAX_PREPARED:
                del self._prepared[min(self._prepared, key=lambda h: self._prepared[h].used)]
            self._prepared[handle] = Prepared(principal, sql)
        return handle

    def prepared(self, handle: bytes, principal: str) -> Prepared:
        with self._lock:
            found = self._prepared.get(handle)
            if found is None or found.principal != principal:
                raise invalid(
                    "unknown or closed prepared statement", "prepare it again (CreatePreparedStatement)"
                )
            found.used = time.monotonic()
            return found

    def bind(self, handle: bytes, principal: str, parameters: pa.Table) -> None:
        self.prepared(handle, principal).parameters = parameters

    def close(self, handle: bytes, principal: str) -> None:
        with self._lock:
            found = self._prepared.get(handle)
            if found is not None and found.principal == principal:
                del self._prepared[handle]

    def close_all(self) -> None:
        with self._lock:
            streams = [p.stream for p in self._pending.values()]
            self._pending.clear()
            self._prepared.clear()
        for stream in streams:
            stream.close()
