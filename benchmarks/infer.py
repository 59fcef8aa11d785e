"""``python -m benchmarks infer``: a contract inferred from TPC-H lineitem at scale 1 (6,001,215 rows) by
``quanta new --from``'s profiler, against one DuckDB ``SUMMARIZE`` of the same file, in the same run.

Both use one DuckDB engine with the machine's threads, best of 3 each; the profiler's time includes its
key check and the sample the classifiers read. Target: the profiler at most 2x SUMMARIZE.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.__main__ import cached_lineitem

REPEATS = 3
TARGET = 2.0


def _best(run: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    import duckdb
    from rich.console import Console

    from quanta.blueprints.inference import profile
    from quanta.blueprints.inferred import properties_yaml
    from quanta.engines import get_engine
    from quanta.engines.base import FileScan

    console = Console()
    lineitem = cached_lineitem(console)
    engine = get_engine("duckdb")
    scan = FileScan(files=[str(lineitem)], format="parquet")
    connection = duckdb.connect()
    summarize = _best(
        lambda: connection.sql(f"summarize select * from read_parquet('{lineitem}')").fetchall()
    )
    found = profile(engine, scan, lineitem.name)
    inferred = _best(lambda: profile(engine, scan, lineitem.name))
    ratio = inferred / summarize
    console.print(
        f"lineitem sf1: {found.rows:,} rows, {len(found.columns)} columns, keys: {found.keys or 'none'}"
    )
    console.print(f"  DuckDB SUMMARIZE  {summarize:6.2f} s (best of {REPEATS})")
    console.print(
        f"  quanta inference  {inferred:6.2f} s (best of {REPEATS})  {ratio:.2f}x (target <= {TARGET}x)"
    )
    console.print(f"  contract: {len(properties_yaml(found).splitlines())} lines of properties")
    return 0 if ratio <= TARGET else 1
