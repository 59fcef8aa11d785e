"""MCP over streamable HTTP at ``/mcp`` in ``quanta serve``: every request authenticated with its own
bearer token (``Mesh.authenticate``), refused with a JSON-RPC error and HTTP 401/403 otherwise.

A session is bound to the token that opened it (the SDK compares the authenticated user of each
request with the session's), so one agent's session id is useless with another agent's token.

A token verified in the last minute is not checked again on the event loop (no thread hop, no
registry read there): the request is marked, and the tool call or resource read it makes checks the
token again in its own worker thread before any work (``Mesh.token_unchanged``: not expired, and the
catalog counter, which revoking a token moves, unchanged; otherwise the whole check), so a revoked or
expired token fails its next call as the REST API's next request does, and is forgotten: the request
after that gets the 401. ``/mcp`` is dispatched before FastAPI's middleware (the SDK has its own body
limit and error answers).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from quanta.errors import AuthenticationError, PermissionDenied, QuantaError
from quanta.interfaces.mcp.agent import TOKEN_HINT, Agent, Verified, verify
from quanta.interfaces.mcp.server import AGENT_KEY, RECHECK_KEY, build_server

if TYPE_CHECKING:
    from fastapi import FastAPI

    from quanta.mesh import Mesh, TokenCheck

PATH = "/mcp"
MAX_BODY = 1_000_000  # bytes, as the REST API: tool arguments are small, anything bigger is refused
UNAUTHENTICATED = -32001  # a server-defined JSON-RPC error code: the request carried no valid token


def mount(app: FastAPI, mesh: Mesh) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Serve MCP at ``/mcp`` of ``app``; returns the context the app's lifespan must enter (it runs
    the SDK's session manager)."""
    door = Door(mesh)
    server = build_server(mesh, recheck=door.recheck)
    # Every request needs a bearer token a browser page cannot supply, so the SDK's DNS-rebinding
    # guard (which only allows loopback Host headers) would refuse real deployments for nothing.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    inner = server.streamable_http_app(
        streamable_http_path=PATH,
        json_response=True,
        max_request_body_size=MAX_BODY,
        transport_security=security,
    )
    agents = BearerAgents(inner, door)
    # Before FastAPI's middleware and routes: a tool call goes through none of the API's layers.
    rest = app.build_middleware_stack
    app.build_middleware_stack = lambda: McpFirst(agents, rest())  # type: ignore[method-assign]
    app.router.routes.insert(0, Route(PATH, endpoint=agents))  # for a stack built some other way

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    return running


class McpFirst:
    """The app's outermost layer: ``/mcp`` straight to the MCP server, the rest to FastAPI's stack."""

    def __init__(self, mcp: ASGIApp, rest: ASGIApp) -> None:
        self.mcp, self.rest = mcp, rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            await self.mcp(scope, receive, send)
        else:
            await self.rest(scope, receive, send)


@dataclass(frozen=True)
class Entry:
    """A verified token: the agent, the user the SDK binds sessions to, and what checks it again."""

    agent: Agent
    user: AuthenticatedUser
    checked: TokenCheck


class Door:
    """Who an HTTP request is: bearer tokens checked, and remembered for a minute (see the module)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.known: Verified[Entry] = Verified()

    def verify(self, token: str) -> Entry:
        """The whole check (in a worker thread); the entry is remembered."""
        agent, checked = verify(self.mesh, token)
        entry = Entry(agent, AuthenticatedUser(_access_token(agent, token)), checked)
        self.known.put(token, entry)
        return entry

    def recheck(self, token: str) -> None:
        """Before a call's work (in its worker thread): the token still stands, or the call fails with
        why and the token is forgotten."""
        entry = self.known.get(token)
        if entry is not None and self.mesh.token_unchanged(entry.checked):
            return
        try:
            self.verify(token)
        except QuantaError:
            self.known.forget(token)
            raise


class BearerAgents:
    """ASGI middleware: the request's bearer token names the agent, or the request is refused."""

    def __init__(self, app: ASGIApp, door: Door) -> None:
        self.app, self.door = app, door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization")
        if not header:
            await _refuse(send, 401, "this MCP server needs a token: send 'Authorization: Bearer <token>'",
                          TOKEN_HINT)  # fmt: skip
            return
        kind, _, token = header.partition(" ")
        token = token.strip()
        if kind.lower() != "bearer" or not token:
            await _refuse(send, 401, "use 'Authorization: Bearer <token>'", TOKEN_HINT)
            return
        known = self.door.known.get(token)
        if known is not None:  # verified lately: its calls check it again in their worker thread
            await self.app(
                {**scope, AGENT_KEY: known.agent, RECHECK_KEY: token, "user": known.user}, receive, send
            )
            return
        try:
            entry = await anyio.to_thread.run_sync(self.door.verify, token)
        except AuthenticationError as exc:
            await _refuse(send, 401, exc.message, exc.hint)
            return
        except PermissionDenied as exc:
            await _refuse(send, 403, exc.message, exc.hint)
            return
        await self.app({**scope, AGENT_KEY: entry.agent, "user": entry.user}, receive, send)


def _access_token(agent: Agent, token: str) -> AccessToken:
    """What the SDK binds a session to: the principal and the token's id (never its secret)."""
    token_id = token.split("_")[1] if token.count("_") >= 2 else "?"
    return AccessToken(
        token=f"qt_{token_id}",
        client_id=agent.principal or "-",
        subject=token_id,
        scopes=sorted(agent.scopes or ()),
    )


async def _refuse(send: Send, status: int, message: str, hint: str | None) -> None:
    """A JSON-RPC error response (no request id: the request was never read) with the HTTP status."""
    error: dict[str, object] = {"code": UNAUTHENTICATED, "message": message}
    if hint:
        error["data"] = {"hint": hint}
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="quanta"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
