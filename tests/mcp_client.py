"""A real MCP client (the SDK's ``ClientSession``) over stdio and streamable HTTP, for the MCP tests
and the benchmark: one call at a time, from synchronous test code."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

if TYPE_CHECKING:
    from mcp.types import CallToolResult


@asynccontextmanager
async def http_session(url: str, token: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as client,
        streamable_http_client(f"{url}/mcp", http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def stdio_session(root: Path, token: str | None) -> AsyncIterator[ClientSession]:
    """``quanta mcp`` spawned in ``root`` with ``QUANTA_TOKEN`` (or none), as an MCP client starts it."""
    env = {k: v for k, v in os.environ.items() if k != "QUANTA_TOKEN"}
    if token is not None:
        env["QUANTA_TOKEN"] = token
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "quanta.interfaces.cli.main", "mcp"], env=env, cwd=root
    )
    with Path(os.devnull).open("w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


def answer(result: CallToolResult) -> dict[str, Any]:
    """A successful tool result's JSON answer."""
    assert not result.is_error, text(result)
    found: dict[str, Any] = result.structured_content or json.loads(text(result))
    return found


def text(result: CallToolResult) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)
