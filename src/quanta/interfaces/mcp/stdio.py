"""MCP over stdio (``quanta mcp``): one agent per process, the token's principal from ``QUANTA_TOKEN``,
or (no token) the workspace user, as the REST API and the wire server do in local mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.interfaces.mcp.agent import Agent, authenticate
from quanta.interfaces.mcp.server import build_server

if TYPE_CHECKING:
    from quanta.mesh import Mesh


def agent_of(mesh: Mesh) -> Agent:
    """Who this process serves: the principal of ``QUANTA_TOKEN`` with its scopes (a bad, expired,
    revoked or unscoped token is refused before anything is served), else the workspace user."""
    token = mesh.settings.token
    if token is None or not token.get_secret_value().strip():
        return Agent(None)
    return authenticate(mesh, token.get_secret_value())


def serve(mesh: Mesh, agent: Agent) -> None:
    """Serve MCP on stdin/stdout until the client closes them."""
    _ = mesh.policies  # compile the policies before the first call
    build_server(mesh, agent).run("stdio")
