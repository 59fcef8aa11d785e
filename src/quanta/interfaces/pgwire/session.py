"""One client connection: startup and authentication, then the simple and the extended query protocol.

Every query runs in a worker thread (the mesh is synchronous) while the event loop keeps serving other
connections. Errors become ErrorResponse messages with a SQLSTATE; in the extended protocol everything up
to the next Sync is then skipped, as PostgreSQL does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quanta.errors import QuantaError
from quanta.interfaces.pgwire import protocol as p
from quanta.interfaces.pgwire import rows
from quanta.interfaces.pgwire.backend import Answer, WireError
from quanta.interfaces.pgwire.catalog import CATALOG_SETTINGS, DEFAULTS
from quanta.interfaces.pgwire.sql import asks_catalog, bind_parameters
from quanta.interfaces.pgwire.statements import (
    WRITES,
    Statement,
    classify,
    declared_cursor,
    fetch_request,
    set_assignment,
    split_remembered,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.interfaces.pgwire.backend import MeshBackend

log = logging.getLogger("quanta.pgwire")
ROW_KINDS = ("query", "show", "fetch")
WRITE_BYTES = 1 << 16
"""Queued rows are handed to the transport once they make up this many bytes."""
ISOLATION = ("transaction isolation level", "transaction_isolation", "default_transaction_isolation")


@dataclass
class Prepared:
    statement: Statement
    parameter_oids: list[int]


@dataclass
class Portal:
    prepared: Prepared
    sql: str
    formats: list[int]
    answer: Answer | None = None
    described: list[p.Field] | None = None
    source: rows.Rows | None = None
    """The answer's rows still to send, computed as they are taken."""
    sent: int = 0

    def close(self) -> None:
        if self.source is not None:
            self.source.close()


class Session:
    """The state of one connection."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        backend: MeshBackend,
        authenticate: Callable[[Session, str], Awaitable[str]],
    ) -> None:
        self.reader, self.writer, self.backend = reader, writer, backend
        self._authenticate = authenticate
        self.pid = secrets.randbelow(2**31 - 1) + 1
        self.key = secrets.randbelow(2**31 - 1)
        self.user = ""
        self.principal = ""
        self.settings = dict(DEFAULTS)
        self.status = b"I"
        self.statements: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.cursors: dict[str, Portal] = {}
        self.cancelled = False
        self._stop: Callable[[], None] | None = None  # stops the query now computing or sending rows
        self._out: list[bytes] = []
        self._buffered = 0

    def send(self, data: bytes) -> None:
        """Queue a message: the replies to a client's messages leave together (at Sync, Flush, the end
        of a simple query, or once rows make up a large write), one write instead of one per message."""
        self._out.append(data)
        self._buffered += len(data)

    def write_out(self) -> None:
        """Hand the queued messages to the transport (without waiting for the client to take them)."""
        if self._out:
            self.writer.write(self._out[0] if len(self._out) == 1 else b"".join(self._out))
            self._out.clear()
            self._buffered = 0

    async def flush(self) -> None:
        """Send the queued messages and wait while the client is behind."""
        self.write_out()
        await self.writer.drain()

    def cancel(self) -> None:
        """A CancelRequest: the running query stops (its engine is interrupted) and fails with 57014."""
        self.cancelled = True
        if self._stop is not None:
            self._stop()

    def release(self) -> None:
        """The connection ended: every open portal and cursor stops its query."""
        for portal in [*self.portals.values(), *self.cursors.values()]:
            portal.close()
        self.portals.clear()
        self.cursors.clear()

    # --- startup --------------------------------------------------------------------------------------

    async def start(self, startup: p.Startup) -> bool:
        """Authenticate and greet; False when the client was refused (the error has been sent)."""
        self.user = startup.parameters.get("user", "")
        self.settings["application_name"] = startup.parameters.get("application_name", "")
        try:
            self.principal = await self._authenticate(self, self.user)
        except WireError as exc:
            self.send(p.error_response(exc.sqlstate, exc.message, exc.hint, severity="FATAL"))
            await self.flush()
            return False
        self.send(p.auth_ok())
        for name, value in self.settings.items():
            self.send(p.parameter_status(name, value))
        self.send(p.parameter_status("session_authorization", self.principal))
        self.send(p.backend_key(self.pid, self.key))
        self.send(p.ready(self.status))
        await self.flush()
        return True

    # --- the message loop -----------------------------------------------------------------------------

    async def serve(self) -> None:
        skipping = False  # after an error in the extended protocol, until Sync
        while True:
            kind, body = await p.read_message(self.reader)
            if kind == b"X":
                return
            if kind == b"Q":
                await self._simple(p.Buffer(body).cstring())
                continue
            if kind == b"S":
                skipping = False
                self.send(p.ready(self.status))
                await self.flush()
                continue
            if kind == b"H":
                await self.flush()
                continue
            if skipping:
                continue
            handler = self._extended.get(kind)
            if handler is None:
                raise p.ProtocolViolation(f"invalid frontend message type {kind!r}")
            try:
                await handler(self, p.Buffer(body))
            except Exception as exc:  # every failure is answered; the connection lives on
                self._error(exc)
                skipping = True

    def _error(self, exc: Exception) -> None:
        if isinstance(exc, WireError):
            state, text, hint = exc.sqlstate, exc.message, exc.hint
        elif isinstance(exc, p.ProtocolViolation):
            state, text, hint = exc.sqlstate, str(exc), None
        elif isinstance(exc, QuantaError):
            state, text, hint = "XX000", exc.message, exc.hint
        else:  # a bug of ours: logged with its traceback, the client told so without one
            log.exception("pgwire: internal error")
            state, text, hint = "XX000", f"internal error: {type(exc).__name__}: {exc}", None
        if state == "57014":
            self.cancelled = False  # the cancel request is answered
        if self.status == b"T":
            self.status = b"E"
        self.send(p.error_response(state, text, hint))

    # --- simple query ---------------------------------------------------------------------------------

    async def _simple(self, sql: str) -> None:
        for statement in split_remembered(sql):
            try:
                if statement.kind == "empty":
                    self.send(p.empty_query())
                    continue
                if self.status == b"E" and statement.kind not in ("rollback", "commit"):
                    raise WireError(
                        "current transaction is aborted, commands ignored until end of transaction block",
                        "25P02",
                    )
                answer = await self._run(statement, statement.sql)
                if answer is None:
                    continue
                described = rows.fields(answer.schema)
                self.send(p.row_description(described))
                source = _source(answer)
                try:
                    count = await self._send_rows(answer, described, source.take(0))
                finally:
                    source.close()
                receipt = answer.receipt()
                if receipt is not None:  # the receipt itself as the hint: the client can keep it
                    self.send(p.notice_response(f"receipt {receipt['id']}", json.dumps(receipt)))
                self.send(p.command_complete(f"{answer.tag} {count}"))
            except Exception as exc:  # every failure is answered; the connection lives on
                self._error(exc)
                break
        self.send(p.ready(self.status))
        await self.flush()

    async def _send_rows(
        self, answer: Answer, described: list[p.Field], batches: AsyncIterator[pa.RecordBatch]
    ) -> int:
        """DataRows for ``batches``, each sent as soon as the engine has computed it."""
        count = 0
        for notice in answer.notices:
            self.send(p.notice_response(notice))
        self._stop = answer.close
        try:
            async for batch in batches:
                if self.cancelled:
                    answer.close()
                    raise WireError("canceling statement due to user request", "57014")
                self.send(rows.data_rows(batch, described))
                count += batch.num_rows
                if self._buffered > WRITE_BYTES:
                    self.write_out()
                if self.writer.transport.get_write_buffer_size() > 1 << 20:
                    await self.writer.drain()  # a slow client holds the engine back, not our memory
        finally:
            self._stop = None
        return count

    async def _run(self, statement: Statement, sql: str) -> Answer | None:
        """Run one statement; session operations answer here (None when there are no rows)."""
        kind = statement.kind
        if kind == "query":
            if asks_catalog(sql):
                return await asyncio.to_thread(self.backend.catalog_query, self.principal, sql, self.user)
            try:
                return await asyncio.to_thread(self._query, sql)
            finally:
                self._stop = None
        if kind == "refused" and statement.verb not in WRITES:
            raise WireError(f'syntax error at or near "{statement.verb[:40]}"', "42601")
        if kind == "refused":
            raise WireError(
                f"cannot execute {statement.verb} in a read-only transaction",
                "25006",
                hint="Quanta serves data products read-only; producers change them with quanta build",
            )
        if kind == "show":
            return self._show(statement.sql)
        if kind in ("declare", "fetch", "close"):
            return await self._cursor(statement)
        self._session_operation(statement)
        return None

    def _query(self, sql: str) -> Answer:
        """A governed query started on a worker thread: opened, its first rows computed (all of them
        for a small answer), in one trip to the thread."""
        stream = self.backend.open(self.principal, sql)
        self._stop = stream.close  # a cancel request interrupts the engine computing the first rows
        if self.cancelled:  # it came while the query was being opened
            stream.close()
        answer = self.backend.answer(stream, sql)
        answer.source = rows.Rows(answer.batches, answer.close)
        answer.source.fill()
        return answer

    def _session_operation(self, statement: Statement) -> None:
        kind = statement.kind
        tags = {"begin": "BEGIN", "commit": "COMMIT", "rollback": "ROLLBACK", "set": "SET", "reset": "RESET",
                "savepoint": "SAVEPOINT", "release": "RELEASE"}  # fmt: skip
        if kind == "begin":
            self.status = b"T"
        elif kind == "rollback" and re.match(
            r"ROLLBACK\s+(WORK\s+|TRANSACTION\s+)?TO\b", statement.sql, re.I
        ):
            self.status = b"T" if self.status != b"I" else b"I"  # to a savepoint: the transaction goes on
        elif kind in ("commit", "rollback"):
            tag = "ROLLBACK" if self.status == b"E" else tags[kind]
            self.status = b"I"
            self.send(p.command_complete(tag))
            return
        elif kind == "set":
            assignment = set_assignment(statement.sql)
            if assignment:
                self.settings[_setting_name(assignment[0])] = assignment[1]
        elif kind == "reset":
            name = statement.sql.split(None, 1)[1].strip().rstrip(";").lower() if " " in statement.sql else ""
            if name == "all":
                self.settings = {**DEFAULTS, "application_name": self.settings["application_name"]}
            else:
                self.settings.pop(_setting_name(name), None)
        elif kind == "discard":
            self.statements.clear()
            self.release()
            self.send(p.command_complete("DISCARD ALL"))
            return
        elif kind == "deallocate":
            name = statement.sql.split()[-1].strip('"')
            self.statements.clear() if name.upper() == "ALL" else self.statements.pop(name, None)
            self.send(p.command_complete("DEALLOCATE"))
            return
        self.send(p.command_complete(tags[kind]))

    async def _cursor(self, statement: Statement) -> Answer | None:
        """DECLARE ... CURSOR FOR, FETCH/MOVE and CLOSE: server-side cursors over a governed answer."""
        if statement.kind == "declare":
            declared = declared_cursor(statement.sql)
            if declared is None:
                raise WireError("syntax error in DECLARE", "42601", hint="DECLARE name CURSOR FOR SELECT ...")
            answer = await self._run(classify(declared[1]), declared[1])
            assert answer is not None
            self.cursors[declared[0]] = Portal(Prepared(statement, []), declared[1], [], answer, None,
                                               _source(answer))  # fmt: skip
            self.send(p.command_complete("DECLARE CURSOR"))
            return None
        if statement.kind == "close":
            name = statement.sql.split(None, 1)[1].strip().strip('"') if " " in statement.sql else ""
            closing = list(self.cursors) if name.upper() == "ALL" else [name]
            if name.upper() != "ALL" and name not in self.cursors:
                raise WireError(f'cursor "{name}" does not exist', "34000")
            for each in closing:
                self.cursors.pop(each).close()
            self.send(p.command_complete("CLOSE CURSOR"))
            return None
        request = fetch_request(statement.sql)
        if request is None:
            raise WireError("syntax error in FETCH", "42601", hint="FETCH FORWARD n FROM name")
        verb, name, count = request
        cursor = self.cursors.get(name)
        if cursor is None or cursor.answer is None or cursor.source is None:
            raise WireError(f'cursor "{name}" does not exist', "34000")
        if verb == "MOVE":
            self.send(p.command_complete(f"MOVE {await cursor.source.skip(count)}"))
            return None
        # FETCH n (0: ALL): sent as computed, never gathered; a cancel stops the cursor's query (as
        taken = rows.Taken(cursor.source, count)  # it aborts the transaction in PostgreSQL)
        return Answer(cursor.answer.schema, (), [], "FETCH", close=cursor.source.close, source=taken)

    def _show(self, sql: str) -> Answer:
        import pyarrow as pa

        name = sql.split(None, 1)[1].strip().rstrip(";").strip('"') if " " in sql else ""
        lowered = name.lower()
        if lowered == "all":
            names, values = list(self.settings), list(self.settings.values())
            table = pa.table({"name": names, "setting": values})
        else:
            known = {k.lower(): v for k, v in {**CATALOG_SETTINGS, **self.settings}.items()}
            known |= {level: "read committed" for level in ISOLATION}
            if lowered not in known:
                raise WireError(f'unrecognized configuration parameter "{name}"', "42704")
            table = pa.table({lowered.replace(" ", "_"): [known[lowered]]})
        return Answer(table.schema, table.to_batches())

    # --- extended query -------------------------------------------------------------------------------

    async def _parse(self, body: p.Buffer) -> None:
        name, sql = body.cstring(), body.cstring()
        oids = [body.int32() for _ in range(body.int16())]
        statements = split_remembered(sql)
        if len(statements) > 1:
            raise WireError("cannot insert multiple commands into a prepared statement", "42601")
        self.statements[name] = Prepared(statements[0], oids)
        self.send(p.parse_complete())

    async def _bind(self, body: p.Buffer) -> None:
        portal, name = body.cstring(), body.cstring()
        prepared = self.statements.get(name)
        if prepared is None:
            raise WireError(f'prepared statement "{name}" does not exist', "26000")
        formats = [body.int16() for _ in range(body.int16())]
        values: list[bytes | None] = []
        for _ in range(body.int16()):
            size = body.int32()
            values.append(None if size < 0 else body.chunk(size))
        results = [body.int16() for _ in range(body.int16())]
        sql = prepared.statement.sql
        if values:
            oids = prepared.parameter_oids
            sql = bind_parameters(sql, values, [oids[i] if i < len(oids) else 0 for i in range(len(values))],
                                  [rows.column_format(formats, i) for i in range(len(values))])  # fmt: skip
        replaced = self.portals.pop(portal, None)
        if replaced is not None:
            replaced.close()  # a portal bound again (the unnamed one, every query): its query stops
        self.portals[portal] = Portal(prepared, sql, results)
        self.send(p.bind_complete())

    async def _describe(self, body: p.Buffer) -> None:
        what, name = body.byte(), body.cstring()
        if what == b"S":
            prepared = self.statements.get(name)
            if prepared is None:
                raise WireError(f'prepared statement "{name}" does not exist', "26000")
            count = max(prepared.statement.parameters, len(prepared.parameter_oids))
            oids = [o or 25 for o in prepared.parameter_oids] + [25] * (count - len(prepared.parameter_oids))
            self.send(p.parameter_description(oids))
            if prepared.statement.kind not in ("query", "show"):
                self.send(p.no_data())  # FETCH's columns are its cursor's: known at Execute
                return
            if prepared.statement.kind == "show":
                answer = self._show(prepared.statement.sql)
                self.send(p.row_description(rows.fields(answer.schema)))
                return
            empty = bind_parameters(prepared.statement.sql, [None] * count, oids, [0] * count)
            described = await self._answer(prepared.statement, f"select * from ({empty}) as q limit 0")
            if described is not None:
                described.close()  # only its columns are wanted
            self.send(p.row_description(rows.fields(described.schema)) if described else p.no_data())
            return
        portal = self.portals.get(name) or self.cursors.get(name)  # cursors are portals too
        if portal is None:
            raise WireError(f'portal "{name}" does not exist', "34000")
        if portal.answer is not None and portal.described is None:  # a DECLAREd cursor
            portal.described = rows.fields(portal.answer.schema)
        if portal.prepared.statement.kind not in ROW_KINDS and portal.described is None:
            self.send(p.no_data())
            return
        await self._fill(portal)
        self.send(p.row_description(portal.described or []))

    async def _answer(self, statement: Statement, sql: str) -> Answer | None:
        return await self._run(classify(sql) if statement.kind == "query" else statement, sql)

    async def _fill(self, portal: Portal) -> None:
        if portal.answer is None:
            statement = portal.prepared.statement
            answer = await self._run(statement, portal.sql)
            if answer is not None:
                portal.answer = answer
                portal.described = rows.fields(answer.schema, portal.formats)
                portal.source = _source(answer)

    async def _execute(self, body: p.Buffer) -> None:
        name, limit = body.cstring(), body.int32()
        portal = self.portals.get(name)
        if portal is None:
            raise WireError(f'portal "{name}" does not exist', "34000")
        statement = portal.prepared.statement
        if statement.kind == "empty":
            self.send(p.empty_query())
            return
        if statement.kind not in ROW_KINDS:
            await self._run(statement, portal.sql)
            return
        await self._fill(portal)
        assert portal.answer is not None and portal.described is not None and portal.source is not None
        batches = portal.source.take(limit)  # the row limit of Execute (0: all)
        portal.sent += await self._send_rows(portal.answer, portal.described, batches)
        portal.answer.notices = []
        if limit > 0 and await portal.source.more():
            self.send(p.portal_suspended())
        else:
            self.send(p.command_complete(f"{portal.answer.tag} {portal.sent}"))

    async def _close(self, body: p.Buffer) -> None:
        what, name = body.byte(), body.cstring()
        if what == b"S":
            self.statements.pop(name, None)
        elif (portal := self.portals.pop(name, None)) is not None:
            portal.close()  # a portal closed before its last row: the query stops
        self.send(p.close_complete())

    _extended: dict[bytes, Callable[[Session, p.Buffer], Awaitable[None]]] = {
        b"P": _parse,
        b"B": _bind,
        b"D": _describe,
        b"E": _execute,
        b"C": _close,
    }


def _source(answer: Answer) -> rows.Rows:
    """The rows of ``answer`` still to send (computing ahead already started, for a governed query)."""
    return answer.source if answer.source is not None else rows.Rows(answer.batches, answer.close)


def _setting_name(name: str) -> str:
    for known in DEFAULTS:
        if known.lower() == name.lower():
            return known
    return name
