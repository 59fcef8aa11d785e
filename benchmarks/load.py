"""Load: ``wrk`` against the marketplace and the API of a served demo mesh, beside a trivial FastAPI
endpoint served the same way in the same run.

``quanta serve --workers 2`` runs in its own processes (as a user starts it) on the demo mesh; a
trivial FastAPI app (one endpoint returning a four-field JSON) runs under uvicorn with the same
settings. ``wrk`` (Debian's, installed here when missing: a C load client that needs far less CPU
than the server it loads) sends each endpoint ``CLIENTS`` connections for ``DURATION`` seconds.
Reported per endpoint: requests/s, the ratio to the trivial endpoint, p50/p99 latency, timeouts
(no answer within 2 s) and errors (non-2xx answers, broken connections). With ``--postgres`` the
same runs again with the registry on a throwaway PostgreSQL cluster (tests/pg.py).

Issue 17's targets: product and search API >= 0.3x the trivial endpoint, product page >= 0.15x,
p99 < 500 ms at 50 connections, 0 timeouts, 0 errors.

Run with ``python -m benchmarks load [--postgres]``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import user_env
from benchmarks.__main__ import CACHE

CLIENTS = int(os.environ.get("QUANTA_LOAD_CLIENTS", "50"))
DURATION = int(os.environ.get("QUANTA_LOAD_SECONDS", "20"))
WORKERS = int(os.environ.get("QUANTA_LOAD_WORKERS", "2"))  # one per core of the 2-core machine
THREADS = 2
ENDPOINTS = {  # name ► (path, target ratio to the trivial endpoint)
    "trivial FastAPI": ("/trivial", 1.0),
    "GET /api/v1/products/sales.orders": ("/api/v1/products/sales.orders", 0.3),
    "GET /api/v1/search?q=revenue": ("/api/v1/search?q=revenue", 0.3),
    "GET /products/sales.orders (page)": ("/products/sales.orders", 0.15),
}
TRIVIAL_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/trivial")
def trivial() -> dict[str, object]:
    return {"id": "sales.orders", "version": "1.0.0", "status": "published", "rows": 1500}
"""


@dataclass(frozen=True)
class Measured:
    endpoint: str
    rate: float
    p50_ms: float
    p99_ms: float
    timeouts: int
    errors: int


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=140)
    wrk = ensure_wrk()
    CACHE.mkdir(exist_ok=True)
    backends = ["SQLite"] + (["PostgreSQL"] if "--postgres" in sys.argv else [])
    with tempfile.TemporaryDirectory(prefix="load-", dir=CACHE) as scratch:
        for backend in backends:
            with registry_url(backend) as url:
                workspace = Path(scratch) / f"mesh-{backend.lower()}"
                env = user_env(**({"QUANTA_DATABASE_URL": url} if url else {}))
                if url is None:
                    env.pop("QUANTA_DATABASE_URL", None)
                console.print(f"[bold]{backend} registry[/bold]: building the demo mesh (scale 0.01) ...")
                quanta = str(Path(sys.executable).with_name("quanta"))
                command = [quanta, "demo", "--dir", str(workspace), "--fresh"]
                subprocess.run(command, check=True, capture_output=True, env=env)
                results = run_all(console, wrk, workspace, Path(scratch), env)
                report(console, backend, results)
    return 0


def run_all(console: Any, wrk: str, workspace: Path, scratch: Path, env: dict[str, str]) -> list[Measured]:
    (scratch / "trivial_app.py").write_text(TRIVIAL_APP, encoding="utf-8")
    quanta = str(Path(sys.executable).with_name("quanta"))
    trivial_port, quanta_port = free_port(), free_port()
    serve = [quanta, "serve", "--port", str(quanta_port), "--workers", str(WORKERS)]
    uvicorn = [sys.executable, "-m", "uvicorn", "trivial_app:app", "--port", str(trivial_port)]
    uvicorn += ["--workers", str(WORKERS), "--log-level", "warning"]
    results = []
    with server_process(uvicorn, scratch, env, f"http://127.0.0.1:{trivial_port}/trivial"):
        results.append(measure(console, wrk, "trivial FastAPI", f"http://127.0.0.1:{trivial_port}"))
    with server_process(serve, workspace, env, f"http://127.0.0.1:{quanta_port}/api/v1/products"):
        for name in list(ENDPOINTS)[1:]:
            results.append(measure(console, wrk, name, f"http://127.0.0.1:{quanta_port}"))
    return results


def measure(console: Any, wrk: str, name: str, base: str) -> Measured:
    path = ENDPOINTS[name][0]
    console.print(f"  {name}: wrk -t{THREADS} -c{CLIENTS} -d{DURATION}s ...")
    subprocess.run([wrk, "-t1", "-c4", "-d2s", base + path], check=True, capture_output=True)  # warm
    command = [wrk, f"-t{THREADS}", f"-c{CLIENTS}", f"-d{DURATION}s", "--latency", "--timeout", "2s"]
    done = subprocess.run([*command, base + path], check=True, capture_output=True, text=True)
    return parse_wrk(name, done.stdout)


def parse_wrk(name: str, text: str) -> Measured:
    """wrk's report ► the numbers; errors are non-2xx/3xx answers and connect/read/write failures."""

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
        if not found:
            return float("nan")
        return float(found[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found[2]]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    connect, read, write, timeouts = (int(g) for g in sockets.groups()) if sockets else (0, 0, 0, 0)
    errors = connect + read + write + (int(non_2xx[1]) if non_2xx else 0)
    return Measured(name, float(rate[1]) if rate else 0.0, latency("50"), latency("99"), timeouts, errors)


def report(console: Any, backend: str, results: list[Measured]) -> None:
    from rich.table import Table

    baseline = results[0].rate or 1.0
    table = Table(
        title=f"{backend} registry, {WORKERS} workers, {CLIENTS} connections, {DURATION} s per endpoint",
        title_justify="left",
    )
    for column in ("endpoint", "req/s", "vs trivial", "target", "p50", "p99", "timeouts", "errors"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for m in results:
        target = ENDPOINTS[m.endpoint][1]
        ratio = m.rate / baseline
        met = ratio >= target and m.p99_ms < 500 and m.timeouts == 0 and m.errors == 0
        table.add_row(
            m.endpoint,
            f"{m.rate:,.0f}",
            f"[{'green' if met else 'red'}]{ratio:.2f}x[/]",
            f">= {target:.2f}x" if target < 1 else "",
            f"{m.p50_ms:,.1f} ms",
            f"{m.p99_ms:,.1f} ms",
            str(m.timeouts),
            str(m.errors),
        )
    console.print(table)


def ensure_wrk() -> str:
    """Debian's wrk, installed when missing (as root, where apt-get is); else how to install it."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
    if found is None:
        raise SystemExit("the load benchmark needs wrk: sudo apt-get install wrk")
    return found


@contextmanager
def registry_url(backend: str) -> Iterator[str | None]:
    """None for the workspace's own SQLite registry; a fresh database on a throwaway cluster else."""
    if backend == "SQLite":
        yield None
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import psycopg
    from tests.pg import PostgresCluster

    cluster = PostgresCluster.create()
    cluster.start()
    try:
        with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute("create database loadbench")
        yield str(cluster.url("loadbench"))
    finally:
        cluster.destroy()


@contextmanager
def server_process(command: list[str], cwd: Path, env: dict[str, str], ready: str) -> Iterator[None]:
    process = subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait(ready, process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait(url: str, process: subprocess.Popen[str]) -> None:
    import httpx

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"the server for {url} exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not come up")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
