"""``quanta mcp``: the MCP server over stdio, for an AI agent started by its client."""

from __future__ import annotations

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, app, open_mesh


@app.command()
def mcp(debug: Debug = False) -> None:
    """Serve AI agents over MCP on stdin/stdout (Claude Desktop, VS Code, any MCP client): the agent
    acts as the principal of the API token in QUANTA_TOKEN (scope agent or read), or as the workspace
    user without one. Over HTTP, 'quanta serve' answers MCP at /mcp."""
    from quanta.interfaces.mcp.stdio import agent_of, serve

    mesh = open_mesh()
    agent = agent_of(mesh)
    who = agent.principal or f"{mesh.settings.user} (local mode, no QUANTA_TOKEN)"
    render.err.print(f"Quanta MCP server on stdio, acting as {who}")
    serve(mesh, agent)
