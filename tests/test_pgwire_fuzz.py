"""Fuzzing the wire protocol server: after a valid startup, hypothesis sends arbitrary frontend messages
(well-framed ones with random bodies, and raw garbage). The server must answer each connection with
protocol messages or close it, never hang and never crash; a fresh client is served afterwards.

The default run is short; ``QUANTA_FUZZ_SECONDS=600`` runs it for ten minutes (the issue's soak).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanta.interfaces.pgwire.server import WireServer
from quanta.mesh import Mesh

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("QUANTA_FUZZ_SECONDS", "45"))
TYPES = b"QPBDESCHXdcfp"  # frontend message types, and a few it never sends first


CRASHES: list[str] = []
"""Exceptions no handler answered (asyncio's) and internal errors the server logged: each is a bug."""


class Recorder(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            CRASHES.append(self.format(record))


@pytest.fixture(scope="module")
def port(built_demo: Path) -> Iterator[int]:
    """A wire server running in this process, on its own event loop thread."""
    server = WireServer(Mesh.open(built_demo), local_mode=True)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _, context: CRASHES.append(str(context.get("exception") or context)))
    logging.getLogger("quanta.pgwire").addHandler(Recorder())
    started = threading.Event()
    holder: dict[str, asyncio.Server] = {}

    async def main() -> None:
        holder["server"] = await server.start("127.0.0.1", 0)
        started.set()
        with contextlib.suppress(asyncio.CancelledError):  # closed at teardown
            await holder["server"].serve_forever()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    assert started.wait(30)
    yield holder["server"].sockets[0].getsockname()[1]
    loop.call_soon_threadsafe(holder["server"].close)


def startup(user: str = "local-admin") -> bytes:
    body = struct.pack("!i", 196608) + b"user\x00" + user.encode() + b"\x00database\x00quanta\x00\x00"
    return struct.pack("!i", len(body) + 4) + body


def read_until_ready(sock: socket.socket) -> bytes:
    data = b""
    while b"Z\x00\x00\x00\x05" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


messages = st.one_of(
    st.builds(frame, st.sampled_from([bytes([t]) for t in TYPES]), st.binary(max_size=200)),
    st.builds(
        frame,
        st.just(b"Q"),
        st.text(max_size=80).map(lambda s: s.encode("utf-8", "replace") + b"\x00"),
    ),
    st.builds(
        lambda name, sql, n: frame(b"P", name + b"\x00" + sql + b"\x00" + struct.pack("!h", n)),
        st.binary(max_size=8).filter(lambda b: b"\x00" not in b),
        st.sampled_from([b"select 1", b"select $1", b"select * from sales.orders", b"garbage", b""]),
        st.integers(-3, 3),
    ),
    st.binary(min_size=1, max_size=64),  # no framing at all
)


@settings(
    max_examples=100_000,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(sequence=st.lists(messages, min_size=1, max_size=6))
def fuzz_once(port: int, sequence: list[bytes]) -> None:
    if time.monotonic() > fuzz_once.stop_at:  # type: ignore[attr-defined]
        return
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(startup())
        assert b"Z\x00\x00\x00\x05" in read_until_ready(sock)
        try:
            sock.sendall(b"".join(sequence) + frame(b"S", b"") + frame(b"Q", b"select 1\x00"))
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):  # answered, until the server finishes or closes: never a hang
                pass
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server closed on a protocol violation: allowed


def test_the_message_parser_survives_fuzzing(port: int) -> None:
    fuzz_once.stop_at = time.monotonic() + SECONDS  # type: ignore[attr-defined]
    fuzz_once(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:  # still serving
        sock.sendall(startup())
        read_until_ready(sock)
        sock.sendall(frame(b"Q", b"select 42 as answer\x00"))
        assert b"42" in read_until_ready(sock)
    assert not CRASHES, CRASHES[:5]
