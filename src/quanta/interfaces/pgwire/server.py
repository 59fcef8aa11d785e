"""The PostgreSQL wire protocol server on asyncio: connections, SSL/GSS negotiation, cancel requests and
authentication (trust for loopback clients in local mode, else the principal's API token as password).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import TYPE_CHECKING

from quanta.interfaces.pgwire import protocol as p
from quanta.interfaces.pgwire.backend import MeshBackend, WireError
from quanta.interfaces.pgwire.session import Session

if TYPE_CHECKING:
    from pathlib import Path

    from quanta.mesh import Mesh

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
STARTUP_TIMEOUT = 30.0  # a client that never finishes its startup is dropped, not kept forever


class WireServer:
    """Serves one mesh over the PostgreSQL protocol; every connection acts as its own principal."""

    def __init__(self, mesh: Mesh, *, local_mode: bool, tls: ssl.SSLContext | None = None) -> None:
        self.backend = MeshBackend(mesh, trust_loopback=local_mode)
        self.local_mode = local_mode
        self.tls = tls
        self.sessions: dict[int, Session] = {}

    async def start(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._connection, host, port, limit=p.MAX_MESSAGE)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session: Session | None = None
        try:
            startup = await asyncio.wait_for(self._negotiate(reader, writer), STARTUP_TIMEOUT)
            if startup is None:
                return
            session = Session(reader, writer, self.backend, self._authenticate)
            self.sessions[session.pid] = session
            if await session.start(startup):
                await session.serve()
        except p.ProtocolViolation as exc:
            if session is not None:
                session.write_out()  # what was answered before the violation, in order
            writer.write(p.error_response(exc.sqlstate, str(exc), severity="FATAL"))
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass  # the client went away (or never spoke): nothing to answer
        finally:
            if session is not None:
                self.sessions.pop(session.pid, None)
                session.release()
                with contextlib.suppress(Exception):
                    session.write_out()
            with contextlib.suppress(Exception):
                await writer.drain()
                writer.close()
                await writer.wait_closed()

    async def _negotiate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> p.Startup | None:
        """The startup packet after any SSL/GSS requests; None after a cancel request."""
        for _ in range(3):  # SSLRequest, then GSSENCRequest, then the real startup at most
            startup = await p.read_startup(reader)
            if startup.code == p.CANCEL_REQUEST:
                self._cancel(startup.cancel_key)
                return None
            if startup.code == p.GSSENC_REQUEST:
                writer.write(b"N")
                await writer.drain()
                continue
            if startup.code == p.SSL_REQUEST:
                if self.tls is None:
                    writer.write(b"N")
                    await writer.drain()
                    continue
                writer.write(b"S")
                await writer.drain()
                await writer.start_tls(self.tls)
                continue
            return startup
        raise p.ProtocolViolation("too many negotiation requests before startup")

    def _cancel(self, key: tuple[int, int] | None) -> None:
        if key is None:
            return
        session = self.sessions.get(key[0])
        if session is not None and session.key == key[1]:
            session.cancel()

    async def _authenticate(self, session: Session, user: str) -> str:
        peer = session.writer.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) else ""
        if self.local_mode and host in LOOPBACK:
            return await asyncio.to_thread(self.backend.trusted, user)
        return await self._scram(session, user)

    async def _scram(self, session: Session, user: str) -> str:
        """SCRAM-SHA-256 with the user's API token as password (the token never crosses the wire)."""
        from quanta.mesh import MECHANISM, ScramError

        sign_in = await asyncio.to_thread(self.backend.scram_start, user)
        session.send(p.auth_sasl([MECHANISM]))
        await session.flush()
        initial = p.Buffer(await _password_message(session))
        mechanism, size = initial.cstring(), initial.int32()
        if mechanism != MECHANISM:
            raise WireError(f"unsupported SASL mechanism {mechanism!r}", "28000", hint=f"use {MECHANISM}")
        try:
            server_first = sign_in.exchange.first(initial.chunk(size) if size >= 0 else b"")
        except ScramError as exc:
            raise WireError(str(exc), "08P01") from exc
        session.send(p.auth_sasl_continue(server_first))
        await session.flush()
        client_final = await _password_message(session)
        principal, server_final = await asyncio.to_thread(
            self.backend.scram_finish, user, sign_in, client_final
        )
        session.send(p.auth_sasl_final(server_final))
        return principal


async def _password_message(session: Session) -> bytes:
    kind, body = await p.read_message(session.reader)
    if kind != b"p":
        raise WireError("expected a SASL response", "08P01")
    return body


def tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    """The server side of TLS for a PEM certificate (chain) and its private key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    return context


async def serve_forever(server: WireServer, host: str, port: int) -> None:
    listening = await server.start(host, port)
    async with listening:
        await listening.serve_forever()
