"""Conditional GETs for every page and API resource: an ``ETag`` from the answer's bytes, ``304 Not
Modified`` when the client already has them, and ``Cache-Control`` that makes browsers and proxies
ask again each time (``private``: answers depend on who asks) while static assets are kept an hour.

A pure ASGI middleware, so a streamed answer (an export, a large query) is never held back: past
``MAX_BUFFERED`` bytes the answer goes on as it was, without an ETag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BUFFERED = 1 << 20
STATIC_CACHE = b"public, max-age=3600"
DYNAMIC_CACHE = b"private, no-cache"
_TAGGED = (b"application/json", b"text/html", b"application/problem+json")


class ConditionalGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/static/"):
            await self.app(scope, receive, _with_header(send, b"cache-control", STATIC_CACHE))
            return
        await self.app(scope, receive, _Tagging(scope, send))


def _with_header(send: Send, name: bytes, value: bytes) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(key.lower() == name for key, _ in headers):
                message["headers"] = [*headers, (name, value)]
        await send(message)

    return sending


class _Tagging:
    """Holds a 200 answer's start and body until its last byte, then sends it with its ETag (or a 304)."""

    def __init__(self, scope: Scope, send: Send) -> None:
        self.send = send
        headers = dict(scope.get("headers", []))
        self.if_none_match = headers.get(b"if-none-match", b"")
        self.start: Message | None = None
        self.body: list[bytes] = []
        self.size = 0
        self.passing = False

    async def __call__(self, message: Message) -> None:
        if self.passing:
            await self.send(message)
        elif message["type"] == "http.response.start":
            if message["status"] != 200 or not _taggable(message.get("headers", [])):
                self.passing = True
                await self.send(message)
            else:
                self.start = message
        elif message["type"] == "http.response.body":
            await self._body(message)
        else:
            await self.send(message)

    async def _body(self, message: Message) -> None:
        assert self.start is not None
        self.body.append(message.get("body", b""))
        self.size += len(self.body[-1])
        if message.get("more_body", False):
            if self.size > MAX_BUFFERED:  # a stream: let it flow, untagged
                self.passing = True
                await self.send(self.start)
                await self.send(
                    {"type": "http.response.body", "body": b"".join(self.body), "more_body": True}
                )
            return
        body = b"".join(self.body)
        etag = b'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() not in (b"etag",)]
        headers += [(b"etag", etag)]
        if not any(k.lower() == b"cache-control" for k, _ in headers):
            headers.append((b"cache-control", DYNAMIC_CACHE))
        if _matches(self.if_none_match, etag):
            kept = [(k, v) for k, v in headers if k.lower() in (b"etag", b"cache-control", b"vary")]
            await self.send({"type": "http.response.start", "status": 304, "headers": kept})
            await self.send({"type": "http.response.body", "body": b""})
            return
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


def _taggable(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        name = key.lower()
        if name == b"content-type" and not value.startswith(_TAGGED):
            return False
        if name == b"cache-control" and b"no-store" in value:
            return False
    return True


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    """RFC 9110's weak comparison: ``*`` or any listed tag with the same opaque value."""
    if not if_none_match:
        return False
    if if_none_match.strip() == b"*":
        return True
    bare = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == bare for tag in if_none_match.split(b","))
