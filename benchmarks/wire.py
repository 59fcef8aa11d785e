"""The PostgreSQL wire protocol server against the in-process governed read and a real PostgreSQL 15.

The workspace holds the demo's ``sales.lineitems`` built from the first ``--rows`` rows (default 1M) of
TPC-H lineitem at scale 1 (16 columns), read by ``ana`` (whose clearance masks ``extended_price``).
A PostgreSQL cluster (``initdb``'d here, as tests/pg.py does) holds the same rows as ana sees them.

- small: ``select … limit 10`` with the masked column, p50 of ``--repeats`` runs: in process
  (``Mesh.governed_query``), psycopg over ``quanta pgwire``, psycopg against PostgreSQL, taking turns
  query by query (so that a busy moment on the machine slows all three alike); the same statement
  every time (Quanta's result cache answers it after the first run) and a new statement every time
  (``offset <n>``, n never used before: the engine runs each one), reported apart.
  Targets: pgwire <= in process + 1.5 ms, and <= 2x PostgreSQL.
- bulk: every row to psycopg (``fetchall``), rows/s, pgwire vs PostgreSQL. Target: >= 0.5x.
- concurrency: ``--clients`` (50) psycopg clients for ``--seconds`` (60) of mixed queries (small reads,
  aggregates, catalog questions) over pgwire: errors (target 0), p50/p99.

Run with ``python -m benchmarks wire``; ``--rows 20000 --seconds 5 --clients 8`` is a quick check.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.__main__ import CACHE, PRODUCT, cached_lineitem, make_workspace
from benchmarks.governed import GOVERNANCE, published_for_ana

SMALL = "select order_id, line_number, quantity, extended_price, ship_mode from {t} limit 10"
MIXED = [
    SMALL,
    "select ship_mode, count(*), sum(quantity) from {t} group by 1 order by 1",
    "select * from {t} where order_id = 7",
    "select max(extended_price), min(ship_date) from {t}",
]
CATALOG = "select table_schema, table_name from information_schema.tables order by 1, 2"
TARGET_SMALL_MS = 1.5
TARGET_SMALL_RATIO = 2.0
TARGET_BULK_RATIO = 0.5


def option(name: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=120)
    rows, repeats = option("--rows", 1_000_000), option("--repeats", 200)
    clients, seconds = option("--clients", 50), option("--seconds", 60)
    data = cached_lineitem(console)
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wire-", dir=CACHE) as scratch:
        sample = Path(scratch) / "lineitem.parquet"
        first_rows(data, sample, rows)
        workspace = make_workspace(Path(scratch) / "workspace", sample)
        (workspace / "governance.yaml").write_text(GOVERNANCE, encoding="utf-8")
        console.print(f"building {PRODUCT} from the first {rows:,} rows of TPC-H lineitem SF1 ...")
        _, ana = published_for_ana(workspace)
        results = measure(ana, workspace, repeats, clients, seconds, console)
    report(console, results, rows)
    return 0


def first_rows(data: Path, target: Path, rows: int) -> None:
    import pyarrow.parquet as pq

    with pq.ParquetFile(data) as source, pq.ParquetWriter(target, source.schema_arrow) as sink:
        for batch in source.iter_batches(batch_size=min(rows, 100_000)):
            sink.write_batch(batch.slice(0, rows))
            rows -= batch.num_rows
            if rows <= 0:
                break


def measure(
    ana: Any, workspace: Path, repeats: int, clients: int, seconds: int, console: Any
) -> dict[str, Any]:
    from tests.pg import PostgresCluster

    cluster = PostgresCluster.create()
    server = start_pgwire(workspace)
    try:
        cluster.start()
        pg = f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"
        wire = f"host=127.0.0.1 port={server[1]} user=ana dbname=quanta"
        console.print("loading the same rows (as ana reads them) into PostgreSQL ...")
        load_postgres(ana, pg)
        results: dict[str, Any] = {"small": small_timings(ana, wire, pg, repeats)}
        console.print("bulk reads ...")
        results["bulk"] = {
            "pgwire": bulk(wire, f"select * from {PRODUCT}"),
            "postgres": bulk(pg, "select * from lineitems"),
        }
        console.print(f"{clients} concurrent clients for {seconds} s ...")
        results["concurrent"] = concurrent(wire, clients, seconds)
    finally:
        server[0].terminate()
        server[0].wait(timeout=30)
        cluster.destroy()
    return results


def start_pgwire(workspace: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("QUANTA_DATABASE_URL", None)
    command = [sys.executable, "-m", "quanta.interfaces.cli.main", "pgwire", "--port", str(port)]
    process = subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("quanta pgwire did not start within 60 s")


PG_TYPES = {
    "int64": "bigint",
    "int32": "integer",
    "string": "text",
    "large_string": "text",
    "date32[day]": "date",
}


def load_postgres(ana: Any, dsn: str) -> None:
    """The rows ana reads (masks applied), in a PostgreSQL table ``lineitems`` of matching types."""
    import psycopg
    from pyarrow import csv

    table = ana.governed_query(f"select * from {PRODUCT}").table
    columns = ", ".join(f'"{f.name}" {pg_type(f.type)}' for f in table.schema)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"create table lineitems ({columns})")
        with connection.cursor().copy("copy lineitems from stdin (format csv, header true)") as copy:
            for start in range(0, table.num_rows, 100_000):
                chunk = io.BytesIO()
                csv.write_csv(table.slice(start, 100_000), chunk, csv.WriteOptions(include_header=start == 0))
                copy.write(chunk.getvalue())
        connection.execute("vacuum analyze lineitems")


def pg_type(arrow: Any) -> str:
    import pyarrow as pa

    if pa.types.is_decimal(arrow):
        return f"numeric({arrow.precision},{arrow.scale})"
    if pa.types.is_floating(arrow):
        return "double precision"
    return PG_TYPES.get(str(arrow), "text")


def small_timings(ana: Any, wire: str, pg: str, repeats: int) -> dict[str, dict[str, list[float]]]:
    """The small query in process, over pgwire and against PostgreSQL, one after the other, repeated:
    the same statement each time (``repeated``: Quanta answers it from its result cache after the
    first run, as a dashboard's refresh meets it), and a new one each time (``new``: ``offset <n>``
    with n never used before, so the engine runs every time)."""
    import psycopg

    fresh = iter(range(1, 10**9))

    def statement(kind: str, table: str) -> str:
        return SMALL.format(t=table) + (f" offset {next(fresh)}" if kind == "new" else "")

    with (
        psycopg.connect(wire, autocommit=True) as over_wire,
        psycopg.connect(pg, autocommit=True) as postgres,
    ):
        runners: dict[str, Callable[[str], object]] = {
            "in process": lambda kind: ana.governed_query(statement(kind, PRODUCT)),
            "pgwire": lambda kind: over_wire.execute(statement(kind, PRODUCT)).fetchall(),
            "postgres": lambda kind: postgres.execute(statement(kind, "lineitems")).fetchall(),
        }
        kinds = ("repeated", "new")
        seconds: dict[str, dict[str, list[float]]] = {kind: {name: [] for name in runners} for kind in kinds}
        for _ in range(5):  # warm: psycopg prepares a statement run 5 times, as the rest of the runs use
            for kind in kinds:
                for run in runners.values():
                    run(kind)
        for _ in range(repeats):
            for kind in kinds:
                for name, run in runners.items():
                    started = time.perf_counter()
                    run(kind)
                    seconds[kind][name].append(time.perf_counter() - started)
    return seconds


def bulk(dsn: str, sql: str) -> dict[str, float]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        started = time.perf_counter()
        rows = len(connection.execute(sql).fetchall())
        return {"rows": rows, "seconds": time.perf_counter() - started}


def concurrent(dsn: str, clients: int, seconds: int) -> dict[str, Any]:
    import psycopg

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    queries = [q.format(t=PRODUCT) for q in MIXED] + [CATALOG]

    def client(number: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as connection:
                i = number
                while time.monotonic() < deadline:
                    started = time.perf_counter()
                    connection.execute(queries[i % len(queries)]).fetchall()
                    with lock:
                        latencies.append(time.perf_counter() - started)
                    i += 1
        except Exception as exc:  # counted: the target is none
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"clients": clients, "seconds": seconds, "latencies": latencies, "errors": errors}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report(console: Any, results: dict[str, Any], rows: int) -> None:
    from rich.table import Table

    small = {
        kind: {name: statistics.median(runs) * 1000 for name, runs in timings.items()}
        for kind, timings in results["small"].items()
    }
    count = len(results["small"]["repeated"]["pgwire"])
    table = Table(title=f"small query as ana (limit 10, a masked column), p50 ms of {count}")
    table.add_column("")
    for kind in small:
        table.add_column(f"{kind} statement", justify="right")
    for name in small["repeated"]:
        table.add_row(name, *(f"{small[kind][name]:.2f}" for kind in small))
    console.print(table)
    checks = []
    for kind, p50s in small.items():
        over, ratio = p50s["pgwire"] - p50s["in process"], p50s["pgwire"] / p50s["postgres"]
        checks += [
            (f"small ({kind}): pgwire over in process", f"{over:+.2f} ms", f"<= +{TARGET_SMALL_MS} ms",
             over <= TARGET_SMALL_MS),
            (f"small ({kind}): pgwire vs PostgreSQL", f"{ratio:.2f}x", f"<= {TARGET_SMALL_RATIO}x",
             ratio <= TARGET_SMALL_RATIO),
        ]  # fmt: skip
    rates = {name: b["rows"] / b["seconds"] for name, b in results["bulk"].items()}
    run = results["concurrent"]
    p50, p99 = (percentile(run["latencies"], share) * 1000 for share in (0.5, 0.99))
    console.print(f"  bulk, {rows:,} rows x 16 columns: pgwire {rates['pgwire']:,.0f} rows/s, "
                  f"PostgreSQL {rates['postgres']:,.0f} rows/s")  # fmt: skip
    console.print(f"  {run['clients']} clients for {run['seconds']} s: {len(run['latencies']):,} queries, "
                  f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
    bulk = rates["pgwire"] / rates["postgres"]
    for label, value, target, ok in (
        *checks,
        ("bulk: pgwire vs PostgreSQL", f"{bulk:.2f}x", f">= {TARGET_BULK_RATIO}x", bulk >= TARGET_BULK_RATIO),
        ("concurrent: errors", str(len(run["errors"])), "0", not run["errors"]),
    ):  # fmt: skip
        console.print(f"  {label}: {value} (target {target}) {'met' if ok else 'missed'}")
    for error in run["errors"][:5]:
        console.print(f"    {error}")
