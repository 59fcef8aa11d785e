"""PostgreSQL frontend/backend protocol 3.0: reading frontend messages and building backend ones.

Written by hand: no maintained Python library implements the server side (riffq needs a Rust toolchain
at install time, buenavista is unmaintained). Only framing and encoding live here; what a message means
is the session's business. Reference: https://www.postgresql.org/docs/current/protocol-message-formats.html
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

PROTOCOL_3 = 196608  # 3.0
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_STARTUP = 10_000  # PostgreSQL's own limit on a startup packet
MAX_MESSAGE = 64 * 1024 * 1024  # a query text or a Bind larger than this is refused, not buffered

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_HEADER = struct.Struct("!ci")


class ProtocolViolation(Exception):
    """The client sent bytes that are not protocol 3.0: answered with an ErrorResponse, then closed."""

    def __init__(self, message: str, sqlstate: str = "08P01") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@dataclass(frozen=True)
class Startup:
    """The first packet: a protocol version with parameters, or an SSL/GSS/cancel request."""

    code: int
    parameters: dict[str, str]
    cancel_key: tuple[int, int] | None = None


async def read_startup(reader: asyncio.StreamReader) -> Startup:
    header = await reader.readexactly(4)
    (length,) = _I32.unpack(header)
    if length < 8 or length > MAX_STARTUP:
        raise ProtocolViolation(f"invalid startup packet length {length}")
    body = await reader.readexactly(length - 4)
    (code,) = _I32.unpack_from(body)
    if code == CANCEL_REQUEST:
        if len(body) != 12:
            raise ProtocolViolation("invalid cancel request")
        pid, key = struct.unpack_from("!ii", body, 4)
        return Startup(code, {}, (pid, key))
    if code in (SSL_REQUEST, GSSENC_REQUEST):
        return Startup(code, {})
    if code >> 16 != 3:
        raise ProtocolViolation(
            f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: server supports 3.0", "0A000"
        )
    parts = body[4:].split(b"\x00")
    if len(parts) < 2 or parts[-1] != b"" or len(parts) % 2:
        raise ProtocolViolation("invalid startup packet layout: parameters must be name/value pairs")
    try:
        words = [p.decode() for p in parts[:-2]]
    except UnicodeDecodeError as exc:
        raise ProtocolViolation("startup parameters are not UTF-8") from exc
    return Startup(code, dict(zip(words[0::2], words[1::2], strict=True)))


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One typed message: its type byte and body. Oversized lengths are refused before reading."""
    header = await reader.readexactly(5)
    kind, length = _HEADER.unpack(header)
    if length < 4 or length > MAX_MESSAGE:
        raise ProtocolViolation(f"invalid message length {length} for message type {kind!r}")
    return kind, await reader.readexactly(length - 4)


class Buffer:
    """Reads the fields of one message body; any overrun is a protocol violation, never an IndexError."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ProtocolViolation("message is shorter than its fields")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def int16(self) -> int:
        return int(_I16.unpack(self._take(2))[0])

    def int32(self) -> int:
        return int(_I32.unpack(self._take(4))[0])

    def byte(self) -> bytes:
        return self._take(1)

    def chunk(self, size: int) -> bytes:
        return self._take(size)

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise ProtocolViolation("string field is not NUL-terminated")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise ProtocolViolation("string field is not UTF-8", "22021") from exc

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


# --- backend messages ---------------------------------------------------------------------------------


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + _I32.pack(len(body) + 4) + body


def cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


def auth_ok() -> bytes:
    return message(b"R", _I32.pack(0))


def auth_cleartext() -> bytes:
    return message(b"R", _I32.pack(3))


def auth_sasl(mechanisms: list[str]) -> bytes:
    return message(b"R", _I32.pack(10) + b"".join(cstr(m) for m in mechanisms) + b"\x00")


def auth_sasl_continue(data: bytes) -> bytes:
    return message(b"R", _I32.pack(11) + data)


def auth_sasl_final(data: bytes) -> bytes:
    return message(b"R", _I32.pack(12) + data)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key(pid: int, key: int) -> bytes:
    return message(b"K", struct.pack("!ii", pid, key))


def ready(status: bytes) -> bytes:
    return message(b"Z", status)


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def empty_query() -> bytes:
    return message(b"I")


def parse_complete() -> bytes:
    return message(b"1")


def bind_complete() -> bytes:
    return message(b"2")


def close_complete() -> bytes:
    return message(b"3")


def no_data() -> bytes:
    return message(b"n")


def portal_suspended() -> bytes:
    return message(b"s")


def parameter_description(oids: list[int]) -> bytes:
    return message(b"t", _I16.pack(len(oids)) + b"".join(_I32.pack(o) for o in oids))


@dataclass(frozen=True)
class Field:
    """One column of a RowDescription."""

    name: str
    type_oid: int
    type_size: int
    type_modifier: int = -1
    format: int = 0


def row_description(fields: list[Field]) -> bytes:
    body = [_I16.pack(len(fields))]
    for f in fields:
        body.append(cstr(f.name))
        body.append(struct.pack("!ihihih", 0, 0, f.type_oid, f.type_size, f.type_modifier, f.format))
    return message(b"T", b"".join(body))


def notice_or_error(kind: bytes, severity: str, sqlstate: str, text: str, hint: str | None = None) -> bytes:
    fields = [b"S" + cstr(severity), b"V" + cstr(severity), b"C" + cstr(sqlstate), b"M" + cstr(text)]
    if hint:
        fields.append(b"H" + cstr(hint))
    return message(kind, b"".join(fields) + b"\x00")


def error_response(sqlstate: str, text: str, hint: str | None = None, severity: str = "ERROR") -> bytes:
    return notice_or_error(b"E", severity, sqlstate, text, hint)


def notice_response(text: str, hint: str | None = None) -> bytes:
    return notice_or_error(b"N", "NOTICE", "00000", text, hint)
