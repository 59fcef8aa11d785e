"""MCP over streamable HTTP on the demo mesh (scale 0.01): p50/p95 of ``search_products``,
``get_product`` and a small ``query``, and that query's overhead over the in-process governed query.

``quanta serve`` runs in a process of its own, as an agent meets it (until 2026-12-07 it ran in a thread of
this process, where the server's event loop and the client's took turns on one interpreter lock: that
measured the two sharing a process, not the server); one agent (``ana``, an ``agent`` token) keeps one
MCP session (the SDK's ``ClientSession``) open and calls each tool ``RUNS`` times after a warm-up, the
kinds taking turns so a busy moment of the machine falls on all alike. The in-process
side runs the same SQL through ``Mesh.governed_query`` as ana, alternating with the MCP calls. Target:
the MCP ``query`` adds at most 5 ms at the median.

Run with ``python -m benchmarks mcp``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.__main__ import CACHE

RUNS = 60
TARGET_ADDED_MS = 5.0
SMALL = "select customer_id, market_segment, tier from marketing.customer_segments limit 10"


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=120)
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mcp-", dir=CACHE) as scratch:
        root = _demo(Path(scratch) / "mesh", console)
        timings = _measure(root)
    return _report(console, timings)


def _demo(root: Path, console: object) -> Path:
    from quanta.build.demo_data import generate_demo_data
    from quanta.mesh import Mesh

    print("building the demo mesh (scale 0.01) ...", flush=True)
    Mesh.init(root, demo=True)
    generate_demo_data(root, 0.01)
    Mesh.open(root).build()
    return root


def _measure(root: Path) -> dict[str, list[float]]:
    import os

    import anyio

    from benchmarks.load import free_port, server_process
    from quanta.mesh import Mesh, acting_as

    mesh = Mesh.open(root)
    token, _ = mesh.create_token("bench", scopes=["agent"], principal_id="ana")
    port = free_port()
    serve = [str(Path(sys.executable).with_name("quanta")), "serve", "--port", str(port)]
    local = Mesh.open(root)

    def in_process() -> None:
        with acting_as("ana"):
            local.governed_query(SMALL)

    with server_process(serve, root, dict(os.environ), f"http://127.0.0.1:{port}/api/v1/products"):
        return anyio.run(_calls, f"http://127.0.0.1:{port}/mcp", token, in_process)


async def _calls(url: str, token: str, in_process: object) -> dict[str, list[float]]:
    import anyio
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    calls = {
        "search_products": ("search_products", {"query": "customer"}),
        "get_product": ("get_product", {"product_id": "marketing.customer_segments"}),
        "query (MCP)": ("query", {"sql": SMALL, "limit": 10}),
    }
    timings: dict[str, list[float]] = {name: [] for name in [*calls, "query (in process)"]}
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        for run in range(RUNS + 3):  # three warm-up rounds
            for name, (tool, arguments) in calls.items():
                started = time.perf_counter()
                result = await session.call_tool(tool, arguments)
                took = time.perf_counter() - started
                assert not result.is_error, result.content
                if run >= 3:
                    timings[name].append(took * 1000)
            started = time.perf_counter()
            await anyio.to_thread.run_sync(in_process)  # type: ignore[arg-type]
            if run >= 3:
                timings["query (in process)"].append((time.perf_counter() - started) * 1000)
    return timings


def _percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share * 100) - 1]


def _report(console: object, timings: dict[str, list[float]]) -> int:
    from rich.console import Console
    from rich.table import Table

    assert isinstance(console, Console)
    table = Table(title=f"MCP over HTTP on the demo mesh, {RUNS} calls each (ms)")
    for column in ("call", "p50", "p95"):
        table.add_column(column, justify="right" if column != "call" else "left")
    for name, values in timings.items():
        table.add_row(name, f"{statistics.median(values):.2f}", f"{_percentile(values, 0.95):.2f}")
    console.print(table)
    added = statistics.median(timings["query (MCP)"]) - statistics.median(timings["query (in process)"])
    met = added <= TARGET_ADDED_MS
    console.print(
        f"query over MCP adds {added:.2f} ms at p50 over the in-process governed query "
        f"(target <= {TARGET_ADDED_MS} ms): {'[green]met[/green]' if met else '[red]missed[/red]'}"
    )
    return 0
