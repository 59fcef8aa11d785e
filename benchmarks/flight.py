"""Arrow Flight SQL against the in-process governed read, in the same run.

The workspace holds the demo's ``sales.lineitems`` built from TPC-H lineitem at scale 1 (6,001,215 rows),
read whole by ``ana`` (an analyst whose clearance masks ``extended_price``) two ways, alternating, best
of 3 each:

- in process: ``Mesh.governed_stream`` in this process, every record batch read;
- over Flight SQL: ``quanta flight`` in a child process of its own, read by ADBC's Flight SQL driver
  (``adbc_driver_flightsql.dbapi``) as Arrow record batches, every batch read.

Targets: Flight at >= 0.8x the in-process throughput, and the server's peak RSS under 1 GiB during the
fetches (the governed stream is sent as it is computed, never materialised).

The CPU seconds each way costs are reported too (the server's from /proc, the client's and the
in-process read's from getrusage): on a machine with few cores the sum of the server's and the
client's CPU time, divided by the cores, bounds the Flight wall time from below.

Run with ``python -m benchmarks flight``; ``--limit N`` reads only N rows (a quick check that it works).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.__main__ import CACHE, PRODUCT, cached_lineitem, make_workspace
from benchmarks.governed import GOVERNANCE, published_for_ana

RUNS = 3
TARGET_RATIO = 0.8
TARGET_RSS_MIB = 1024


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=120)
    limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else None
    data = cached_lineitem(console)
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flight-", dir=CACHE) as scratch:
        workspace = make_workspace(Path(scratch) / "workspace", data)
        (workspace / "governance.yaml").write_text(GOVERNANCE, encoding="utf-8")
        console.print(f"building {PRODUCT} from TPC-H lineitem SF1 once, then measuring ...")
        results = measure(workspace, limit)
    report(console, results)
    return 0


def measure(workspace: Path, limit: int | None) -> dict[str, Any]:
    _, ana = published_for_ana(workspace)
    sql = f"select * from {PRODUCT}" + (f" limit {limit}" if limit else "")

    def in_process() -> tuple[int, float]:
        with ana.governed_stream(sql) as stream:
            return sum(batch.num_rows for batch in stream), 0.0

    server = Server(workspace)
    try:
        port = server.start()

        def over_flight() -> tuple[int, float]:
            import adbc_driver_flightsql.dbapi as flight

            before = server.cpu_seconds()

            kwargs = {"username": "ana", "password": "local"}  # local mode: loopback trusted
            with (
                flight.connect(f"grpc://127.0.0.1:{port}", db_kwargs=kwargs, autocommit=True) as conn,
                conn.cursor() as cursor,
            ):
                cursor.execute(sql)
                read = sum(batch.num_rows for batch in cursor.fetch_record_batch())
            return read, server.cpu_seconds() - before

        seconds: dict[str, list[float]] = {"in process": [], "flight": []}
        cpu: dict[str, list[tuple[float, float]]] = {"in process": [], "flight": []}
        rows: dict[str, int] = {}
        for _ in range(RUNS):
            for name, run in (("in process", in_process), ("flight", over_flight)):
                own, started = _own_cpu_seconds(), time.perf_counter()
                rows[name], served = run()
                seconds[name].append(time.perf_counter() - started)
                cpu[name].append((_own_cpu_seconds() - own, served))
    finally:
        peak = server.stop()
    if rows["in process"] != rows["flight"]:
        raise SystemExit(f"row counts differ: {rows}")
    return {"seconds": seconds, "cpu": cpu, "rows": rows["flight"], "peak": peak}


def _own_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Server:
    """``quanta flight`` in a child process, its peak RSS measured by benchmarks.rss's wrapper."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.port = 0
        self.result: tuple[int, int] | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> int:
        from benchmarks.rss import run_with_peak_rss

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        command = [sys.executable, "-m", "quanta.interfaces.cli.main", "flight", "--port", str(self.port)]
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("QUANTA_DATABASE_URL", None)

        def run() -> None:
            self.result = run_with_peak_rss(
                command, cwd=self.workspace, env=env, timeout=3600, stdout=subprocess.DEVNULL
            )

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self.port
            except OSError:
                time.sleep(0.2)
        raise SystemExit("quanta flight did not start within 60 s")

    def pid(self) -> int | None:
        """The server's process (found by its command line, not the wrapper's)."""
        wanted = f"quanta.interfaces.cli.main\0flight\0--port\0{self.port}\0".encode()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    line = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if line.startswith(sys.executable.encode() + b"\0-m\0") and wanted in line:
                    return int(entry.name)
        return None

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (user and system)."""
        pid = self.pid()
        if pid is None:
            return 0.0
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        """Ends the server and returns its peak RSS in bytes."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        if self.thread is not None:
            self.thread.join(timeout=60)
        return self.result[1] if self.result else 0


def report(console: Any, results: dict[str, Any]) -> None:
    from rich.table import Table

    seconds, rows = results["seconds"], results["rows"]
    best = {name: min(runs) for name, runs in seconds.items()}
    table = Table(title=f"{PRODUCT} ({rows:,} rows) read whole as ana: Flight SQL (ADBC) vs in process")
    for column in ("", "best", "runs", "rows/s", "CPU s (client + server)"):
        table.add_column(column, justify="right" if column else "left")
    for name, runs in seconds.items():
        shown = ", ".join(f"{s:.2f}" for s in runs)
        spent = ", ".join(f"{own:.2f} + {served:.2f}" for own, served in results["cpu"][name])
        table.add_row(name, f"{best[name]:.2f} s", shown, f"{rows / best[name]:,.0f}", spent)
    console.print(table)
    cores = os.cpu_count() or 1
    floor = min(own + served for own, served in results["cpu"]["flight"]) / cores
    console.print(f"  Flight's CPU time over {cores} cores: no fetch can take less than {floor:.2f} s here")
    ratio = best["in process"] / best["flight"]
    mib = results["peak"] / 2**20
    for label, value, target, ok in (
        ("Flight throughput vs in process", f"{ratio:.2f}x", f">= {TARGET_RATIO}x", ratio >= TARGET_RATIO),
        ("server peak RSS", f"{mib:.0f} MiB", f"< {TARGET_RSS_MIB} MiB", mib < TARGET_RSS_MIB),
    ):
        console.print(f"  {label}: {value} (target {target}) {'met' if ok else 'missed'}")
