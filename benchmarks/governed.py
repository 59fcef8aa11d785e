"""The governed query service against a plain DuckDB connection, in the same process and run.

The workspace holds the demo's ``sales.lineitems`` built from TPC-H lineitem at scale 1 (6,001,215 rows),
queried by ``ana``, an analyst whose clearance masks ``extended_price`` (tagged financial). Both sides read
the same Parquet files of the published snapshot:

- small queries: ``select ... limit 10``, alternating governed and plain, 200 of each; the target is at
  most 2 ms added at the median (p50). The service remembers parsed statements (as a prepared statement
  would), so a second series sends 200 *different* statements (``limit 11``, ``limit 12`` ...) to show
  the cost without that help. Both series run with the result cache off (``QUANTA_RESULT_CACHE_MB=0``),
  so that the engine runs every query; a third shows the same small query answered from the cache;
- full scans: an aggregate over every row touching masked and clear columns, best of 3 each; the target
  is at most 1.1x the plain query;
- a streamed read: every row, as ana, through ``quanta query ... --output lineitems.parquet`` in a child
  process (the governed stream written batch by batch); the target is a peak RSS under 600 MiB for the
  6M rows, whatever the result's size.

Run with ``python -m benchmarks governed``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.__main__ import CACHE, PRODUCT, cached_lineitem, make_workspace

SMALL_RUNS = 200
FULL_RUNS = 3
TARGET_ADDED_MS = 2.0  # issue 17 (issue 13 asked for 3)
TARGET_FULL = 1.1
TARGET_STREAM_MIB = 600
GOVERNANCE = """\
principals:
  - id: ana
    roles: [consumer]
    clearance: internal
"""
SMALL = "select order_id, line_number, quantity, extended_price, ship_mode from {t} limit 10"
FULL = (
    "select count(*), sum(quantity), max(extended_price), count(distinct ship_mode), "
    "sum(case when discount > 0.05 then 1 else 0 end), max(comment) from {t}"
)


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=120)
    data = cached_lineitem(console)
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="governed-", dir=CACHE) as scratch:
        workspace = make_workspace(Path(scratch) / "workspace", data)
        (workspace / "governance.yaml").write_text(GOVERNANCE, encoding="utf-8")
        console.print(f"building {PRODUCT} from TPC-H lineitem SF1 once, then measuring in one process ...")
        results = measure(workspace)
    report(console, results)
    return 0


def published_for_ana(workspace: Path) -> tuple[Any, Any]:
    """The workspace's product built and published, and ana holding a grant on it, as a consumer would:
    the meshes of the workspace's admin and of ana."""
    from quanta.mesh import Mesh
    from quanta.settings import Settings

    admin = Mesh.open(workspace, settings=Settings(database_url=None, workspace=workspace))
    admin.apply()
    [built] = admin.build([PRODUCT])
    if built.status != "published":
        raise SystemExit(f"{PRODUCT} was not published: {built.error}")
    ana = Mesh.open(workspace, settings=Settings(database_url=None, workspace=workspace, user="ana"))
    admin.decide_access(ana.request_access(PRODUCT, "benchmark", accept_terms=True), True)
    return admin, ana


def measure(workspace: Path) -> dict[str, Any]:
    import duckdb

    from quanta.engines.duckdb import scan_sql

    admin, ana = published_for_ana(workspace)
    _, port, snapshot, _ = admin.resolve(PRODUCT)
    plain = duckdb.connect()
    plain.execute(f"create view lineitems as {scan_sql(admin.warehouse.scan(PRODUCT, port, snapshot))}")

    from quanta.mesh import Mesh

    # the engine runs every governed query here: what governance adds to it (the cache: a row apart)
    engine = Mesh.open(workspace, settings=ana.settings.model_copy(update={"result_cache_mb": 0}))

    def governed(sql: str) -> Any:
        return engine.query(sql.format(t=PRODUCT))

    def kept(sql: str) -> Any:
        return ana.query(sql.format(t=PRODUCT))

    def direct(sql: str) -> Any:
        return plain.sql(sql.format(t="lineitems")).to_arrow_table()

    masked = governed(SMALL).column("extended_price").to_pylist()
    assert masked == [None] * 10, "extended_price must be masked for ana"
    for _ in range(5):  # warm both paths
        governed(SMALL), direct(SMALL)

    def taking_turns(
        governed_run: Callable[[str], Any], statements: list[str], unit: float
    ) -> dict[str, list[float]]:
        """Each statement governed, then plain: the seconds of each, times ``unit``."""
        seconds: dict[str, list[float]] = {"governed": [], "plain": []}
        for sql in statements:
            for name, run in (("governed", governed_run), ("plain", direct)):
                started = time.perf_counter()
                run(sql)
                seconds[name].append((time.perf_counter() - started) * unit)
        return seconds

    small = taking_turns(governed, [SMALL] * SMALL_RUNS, 1000)
    cached = taking_turns(kept, [SMALL] * SMALL_RUNS, 1000)
    distinct = taking_turns(
        governed, [SMALL.replace("limit 10", f"limit {11 + n}") for n in range(SMALL_RUNS)], 1000
    )
    full = taking_turns(governed, [FULL] * FULL_RUNS, 1)
    return {
        "small": small,
        "distinct": distinct,
        "cached": cached,
        "full": full,
        "rows": admin.registry.current_publish(PRODUCT).rows,  # type: ignore[union-attr]
        "streamed": streamed_read(workspace),
    }


def streamed_read(workspace: Path) -> tuple[int, int, float]:
    """Rows written, peak RSS (bytes) and seconds of ana's whole-product read streamed to Parquet by
    the CLI in a child process of its own."""
    import subprocess

    import pyarrow.parquet as pq

    from benchmarks import user_env
    from benchmarks.rss import run_with_peak_rss

    target = workspace / "streamed.parquet"
    env = user_env(QUANTA_USER="ana", NO_COLOR="1")
    env.pop("QUANTA_DATABASE_URL", None)
    command = [sys.executable, "-m", "quanta.interfaces.cli.main", "query", f"select * from {PRODUCT}"]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        code, peak = run_with_peak_rss(
            [*command, "--output", str(target)], cwd=workspace, env=env, timeout=1800,
            stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        err.seek(0)
        if code != 0:
            raise SystemExit(f"the streamed read failed: {err.read().decode()[-2000:]}")
    return pq.ParquetFile(target).metadata.num_rows, peak, time.perf_counter() - started


def report(console: Any, results: dict[str, Any]) -> None:
    from rich.table import Table

    small, full = results["small"], results["full"]
    table = Table(title=f"governed query vs plain DuckDB, {PRODUCT} at TPC-H SF1 ({results['rows']})")
    for column in ("", "p50", "p95", "best", "vs plain"):
        table.add_column(column, justify="right" if column else "left")
    p50 = {k: statistics.median(v) for k, v in small.items()}
    series_of = (
        ("same small query", small),
        ("distinct small queries", results["distinct"]),
        ("same small query, result cache", results["cached"]),
    )
    for label, series in series_of:
        mid = {k: statistics.median(v) for k, v in series.items()}
        p95 = {k: statistics.quantiles(v, n=20)[18] for k, v in series.items()}
        for name in ("plain", "governed"):
            table.add_row(
                f"{label}, {name} ({SMALL_RUNS}x)",
                f"{mid[name]:.2f} ms",
                f"{p95[name]:.2f} ms",
                f"{min(series[name]):.2f} ms",
                f"{mid[name] - mid['plain']:+.2f} ms" if name == "governed" else "",
            )
    best = {k: min(v) for k, v in full.items()}
    for name in ("plain", "governed"):
        table.add_row(
            f"full scan, masks ({name})",
            "",
            "",
            f"{best[name]:.2f} s",
            f"{best[name] / best['plain']:.2f}x" if name == "governed" else "",
        )
    console.print(table)
    added = p50["governed"] - p50["plain"]
    ratio = best["governed"] / best["plain"]
    fresh = statistics.median(results["distinct"]["governed"]) - statistics.median(
        results["distinct"]["plain"]
    )
    console.print(f"  added per distinct small query at p50 (no parse cache): {fresh:.2f} ms")
    rows, peak, seconds = results["streamed"]
    mib = peak / 2**20
    console.print(f"  streamed read of {rows:,} rows to Parquet (as ana): {seconds:.1f} s")
    for label, value, target, ok in (
        ("streamed read, peak RSS", f"{mib:.0f} MiB", f"< {TARGET_STREAM_MIB} MiB", mib < TARGET_STREAM_MIB),
        (
            "added per small query at p50",
            f"{added:.2f} ms",
            f"<= {TARGET_ADDED_MS} ms",
            added <= TARGET_ADDED_MS,
        ),
        (
            "added per distinct small query at p50",
            f"{fresh:.2f} ms",
            f"<= {TARGET_ADDED_MS} ms",
            fresh <= TARGET_ADDED_MS,
        ),
        ("full scan with masks", f"{ratio:.2f}x", f"<= {TARGET_FULL}x", ratio <= TARGET_FULL),
    ):
        console.print(f"  {label}: {value} (target {target}) {'met' if ok else 'missed'}")
