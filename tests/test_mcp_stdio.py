"""``quanta mcp`` spawned as an MCP client starts it (stdio, ``QUANTA_TOKEN``), driven by the SDK's
``ClientSession``: the agent acts as its token's principal; bad tokens stop the server before it serves;
without a token the workspace user acts (local mode, as the REST API and the wire server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from quanta.mesh import Mesh
from tests.conftest import run_cli
from tests.mcp_client import answer, stdio_session, text
from tests.test_redteam import NAME, PHONE


def test_the_agent_acts_as_its_token_principal(granted_demo: Path) -> None:
    ana, _ = Mesh.open(granted_demo).create_token("desktop", scopes=["agent"], principal_id="ana")

    async def session() -> tuple[dict[str, Any], dict[str, Any], Any, str]:
        async with stdio_session(granted_demo, ana) as client:
            found = answer(await client.call_tool("search_products", {"query": "customers"}))
            rows = answer(
                await client.call_tool("query", {"sql": "select name, phone from customers.customers"})
            )
            denied = await client.call_tool("query", {"sql": "select * from sales.orders", "limit": 1})
            odcs = await client.read_resource("quanta://products/customers.customers/odcs")
            return found, rows, denied, getattr(odcs.contents[0], "text", "")

    found, rows, denied, odcs = anyio.run(session)
    assert "customers.customers" in [h["product_id"] for h in found["hits"]]
    assert rows["masked"]["customers.customers"] == {"name": "hash", "phone": "last4"}
    assert rows["row_count"] == 100 and rows["truncated"] is True  # the default limit
    assert NAME not in str(rows) and PHONE not in str(rows)
    assert denied.is_error and "access denied to sales.orders" in text(denied)
    assert "kind: DataContract" in odcs and "customers.customers" in odcs


def test_without_a_token_the_workspace_user_acts(granted_demo: Path) -> None:
    async def session() -> dict[str, Any]:
        async with stdio_session(granted_demo, None) as client:
            return answer(await client.call_tool("explain_access", {"product_id": "sales.orders"}))

    explained = anyio.run(session)
    assert explained["principal"] == "local-admin" and explained["allowed"] is True


@pytest.mark.parametrize(
    ("scopes", "revoke", "said"),
    [
        (None, False, "not a Quanta API token"),
        (["metrics"], False, "none of admin, agent, read"),
        (["agent"], True, "was revoked"),
    ],
)
def test_a_bad_token_stops_the_server_with_a_clear_error(
    granted_demo: Path, scopes: list[str] | None, revoke: bool, said: str
) -> None:
    mesh = Mesh.open(granted_demo)
    secret = "qt-nonsense"
    if scopes is not None:
        secret, record = mesh.create_token("bot", scopes=scopes, principal_id="gina")
        if revoke:
            mesh.revoke_token(record.id)
    result = run_cli("mcp", cwd=granted_demo, env={"QUANTA_TOKEN": secret})
    assert result.returncode != 0 and said in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
