"""Load: 50 concurrent clients for 60 s against search and product pages of a served demo mesh.

``quanta serve --workers 2`` runs in its own processes (as a user starts it) on the demo mesh; 50
asyncio clients (httpx) loop over a mix of API search, API product detail, the marketplace home with
a search and a product page, for ``DURATION`` seconds. Reported: requests per second, p50/p99
latency, and every non-2xx answer or transport error (the target is zero). Run with ``python -m
benchmarks load``.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.__main__ import CACHE

CLIENTS = int(os.environ.get("QUANTA_LOAD_CLIENTS", "50"))
DURATION = float(os.environ.get("QUANTA_LOAD_SECONDS", "60"))
WORKERS = int(os.environ.get("QUANTA_LOAD_WORKERS", "2"))  # one per core of the 2-core machine
PRODUCTS = [
    "sales.orders",
    "sales.lineitems",
    "customers.customers",
    "supply.parts",
    "supply.suppliers",
    "finance.revenue_by_nation",
    "marketing.customer_segments",
]
WORDS = ["revenue", "orders", "customer", "segment", "parts", "nation", "price", "revnue", "custmer", "pii"]


def paths(rng: random.Random) -> str:
    """One request of the mix: half API, half marketplace pages."""
    product, word = rng.choice(PRODUCTS), rng.choice(WORDS)
    return rng.choice(
        [
            f"/api/v1/search?q={word}",
            f"/api/v1/products/{product}",
            f"/?q={word}",
            f"/products/{product}",
        ]
    )


async def client(base: str, stop: float, seed: int, latencies: list[float], errors: list[str]) -> None:
    import httpx

    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < stop:
            path = paths(rng)
            started = time.perf_counter()
            try:
                response = await http.get(path)
            except httpx.HTTPError as exc:
                errors.append(f"{path}: {type(exc).__name__}")
                continue
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                errors.append(f"{path}: {response.status_code}")


async def run_load(base: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.monotonic()
    stop = started + DURATION
    await asyncio.gather(*(client(base, stop, seed, latencies, errors) for seed in range(CLIENTS)))
    elapsed = time.monotonic() - started
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=120)
    CACHE.mkdir(exist_ok=True)
    quanta = str(Path(sys.executable).with_name("quanta"))
    with tempfile.TemporaryDirectory(prefix="load-", dir=CACHE) as scratch:
        workspace = Path(scratch) / "mesh"
        console.print("building the demo mesh (scale 0.01) ...")
        subprocess.run([quanta, "demo", "--dir", str(workspace)], check=True, capture_output=True)
        port = _free_port()
        server = subprocess.Popen(
            [quanta, "serve", "--port", str(port), "--workers", str(WORKERS)],
            cwd=workspace,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base)
            console.print(f"{CLIENTS} concurrent clients for {DURATION:.0f} s against {base} ...")
            result = asyncio.run(run_load(base))
        finally:
            server.terminate()
            server.wait(timeout=30)
    report(console, result)
    return 0 if not result["errors"] else 1


def report(console: Any, result: dict[str, Any]) -> None:
    latencies = sorted(result["latencies"])
    count = len(latencies)
    rate = count / result["elapsed"]
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(0.99 * (count - 1))] * 1000
    console.print(
        f"{count:,} requests in {result['elapsed']:.1f} s: {rate:,.0f} req/s, p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, errors {len(result['errors'])} (target 0)"
    )
    for error in sorted(set(result["errors"]))[:20]:
        console.print(f"  [red]{error}[/red]")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(base: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/products", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not come up")
