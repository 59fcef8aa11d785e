"""MCP over streamable HTTP at ``/mcp`` in ``quanta serve``: every request authenticated with its own
bearer token (``Mesh.authenticate``), refused with a JSON-RPC error and HTTP 401/403 otherwise.

A session is bound to the token that opened it (the SDK compares the authenticated user of each
request with the session's), so one agent's session id is useless with another agent's token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from quanta.errors import AuthenticationError, PermissionDenied
from quanta.interfaces.mcp.agent import TOKEN_HINT, Agent, authenticate
from quanta.interfaces.mcp.server import AGENT_KEY, build_server

if TYPE_CHECKING:
    from fastapi import FastAPI

    from quanta.mesh import Mesh

PATH = "/mcp"
MAX_BODY = 1_000_000  # bytes, as the REST API: tool arguments are small, anything bigger is refused
UNAUTHENTICATED = -32001  # a server-defined JSON-RPC error code: the request carried no valid token


def mount(app: FastAPI, mesh: Mesh) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Serve MCP at ``/mcp`` of ``app``; returns the context the app's lifespan must enter (it runs
    the SDK's session manager)."""
    server = build_server(mesh)
    # Every request needs a bearer token a browser page cannot supply, so the SDK's DNS-rebinding
    # guard (which only allows loopback Host headers) would refuse real deployments for nothing.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    inner = server.streamable_http_app(
        streamable_http_path=PATH,
        json_response=True,
        max_request_body_size=MAX_BODY,
        transport_security=security,
    )
    # First in the table: a tool call should not be matched against every API and web route first.
    app.router.routes.insert(0, Route(PATH, endpoint=BearerAgents(inner, mesh)))

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    return running


class BearerAgents:
    """ASGI middleware: the request's bearer token names the agent, or the request is refused."""

    def __init__(self, app: ASGIApp, mesh: Mesh) -> None:
        self.app, self.mesh = app, mesh

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
        if kind.lower() != "bearer" or not token.strip():
            await _refuse(send, 401, "use 'Authorization: Bearer <token>'", TOKEN_HINT)
            return
        try:
            agent = await anyio.to_thread.run_sync(authenticate, self.mesh, token.strip())
        except AuthenticationError as exc:
            await _refuse(send, 401, exc.message, exc.hint)
            return
        except PermissionDenied as exc:
            await _refuse(send, 403, exc.message, exc.hint)
            return
        user = AuthenticatedUser(_access_token(agent, token.strip()))
        await self.app({**scope, AGENT_KEY: agent, "user": user}, receive, send)


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
