"""Test TPC-H lineitem at scale 1 (6,001,215 rows) and its orders against one contract of 20+ rules with
every tool, end to end, best of 3 each:

- Quanta: ``quanta test benchmarks/lineitem.odcs.yaml`` (the CLI, as a user runs it);
- datacontract-cli: ``datacontract test`` on the same ODCS file;
- Soda Core v4: ``soda contract verify`` with the same checks in ``benchmarks/lineitem.soda.yml``, on a
  DuckDB data source whose views read the same Parquet files;
- Great Expectations (when ``peers/setup.sh`` could install it): the same expectations on the Parquet
  files read with pandas, its local-file path;
- the floor: one hand-written DuckDB query computing the same metrics.

``QUANTA_BENCH_TOOLS=quanta,floor`` measures only the tools named (GX alone takes minutes per run).

Every run is its own process, timed from spawn to exit, its peak RSS from ``wait4``. The peers live in
``.peers/`` (``peers/setup.sh``); the Parquet files in ``.bench-cache/`` (lineitem is the one the build
benchmark made). Run with ``python -m benchmarks contracts``.

This module is also the child for the floor and for Great Expectations (``--child floor|gx LINEITEM
ORDERS``), so at import it needs nothing outside the standard library: the GX venv has no Quanta.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / ".bench-cache"
PEERS = ROOT / ".peers"
CONTRACT = HERE / "lineitem.odcs.yaml"
SODA_CHECKS = HERE / "lineitem.soda.yml"
REPEATS = 3
FRESH_DAYS = 15000  # the contract's freshness SLA
TARGETS = {"datacontract": 2.5, "floor": 1.2, "memory_mib": 1024}


@dataclass(frozen=True)
class Tool:
    """One way to test the contract: how to start it, and how to read its verdict from what it printed."""

    name: str
    label: str
    command: list[str]
    verdict: Callable[[int, str, Path], str]
    cwd: Path = HERE
    env: dict[str, str] | None = None


@dataclass
class Measured:
    seconds: list[float]
    peak_rss_mib: float
    verdict: str

    @property
    def best(self) -> float:
        return min(self.seconds)


# --- verdicts: every tool must pass the clean TPC-H data, or it did not test the same thing ------------


def quanta_verdict(status: int, out: str, _work: Path) -> str:
    payload = json.loads(out)
    checks = [c for run in payload["results"].values() for c in run["checks"]]
    failed = [c["name"] for c in checks if c["verdict"] not in ("passed",)]
    return f"{len(checks)} checks, " + (
        "all passed" if status == 0 and not failed else f"not passed: {failed}"
    )


def datacontract_verdict(status: int, _out: str, work: Path) -> str:
    report = json.loads((work / "datacontract.json").read_text(encoding="utf-8"))
    checks = report["checks"]
    ran = [
        c
        for c in checks
        if (c.get("reason") or "") != "Checking types in parquet files is not supported yet."
    ]
    failed = [c["name"] for c in ran if c["result"] != "passed"]
    note = (
        f" ({len(checks) - len(ran)} type checks not supported on Parquet)" if len(ran) < len(checks) else ""
    )
    verdict = "all passed" if status == 0 and not failed else f"not passed: {failed}"
    return f"{len(ran)} checks, {verdict}{note}"


def soda_verdict(status: int, out: str, _work: Path) -> str:
    counts = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in out.splitlines()
        if line.startswith("| ") and line.count("|") == 4
    }
    checks, passed = counts.get("Checks", "?"), counts.get("Passed", "?")
    return f"{checks} checks, " + ("all passed" if status == 0 and checks == passed else f"{passed} passed")


def child_verdict(status: int, out: str, _work: Path) -> str:
    payload = json.loads(out.strip().splitlines()[-1])
    failed = payload["failed"]
    return f"{payload['checks']} checks, " + (
        "all passed" if status == 0 and not failed else f"failed: {failed}"
    )


# --- parent: data, tools, measurements, report ---------------------------------------------------------


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=130)
    lineitem, orders = tpch_data(console)
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="contracts-", dir=CACHE) as scratch:
        work = Path(scratch)
        tools, missing = available_tools(work, lineitem, orders)
        if only := os.environ.get("QUANTA_BENCH_TOOLS"):  # e.g. "quanta,floor,datacontract" while tuning
            tools = [t for t in tools if t.name in only.split(",")]
        for name, why in missing.items():
            console.print(f"[yellow]{name} is not measured: {why}[/yellow]")
        console.print(
            f"one warm-up each, then best of {REPEATS}, rounds alternating "
            f"{', '.join(t.name for t in tools)}; one process per run ..."
        )
        runs: dict[str, list[Measured]] = {t.name: [] for t in tools}
        for tool in tools:  # the page cache holds the files afterwards, for every tool alike
            if tool.name != "gx":  # minutes per run, and its files are warm by now
                measure(tool, work)
        for _ in range(REPEATS):
            for tool in tools:
                runs[tool.name].append(measure(tool, work))
        results = {
            name: Measured([m.best for m in r], max(m.peak_rss_mib for m in r), r[0].verdict)
            for name, r in runs.items()
        }
        report(console, lineitem, tools, results)
        if not meets_targets(results):
            console.print(where_quanta_spends(work))
    return 0


def tpch_data(console: Any) -> tuple[Path, Path]:
    """lineitem (the build benchmark's cached file) and orders at the same scale, generated once."""
    from benchmarks.__main__ import SCALE, cached_lineitem
    from quanta.build.demo_data import find_tpchgen

    lineitem = cached_lineitem(console)
    orders = lineitem.parent / "orders.parquet"
    if not orders.is_file():
        console.print(f"generating TPC-H orders at scale {SCALE} into {orders.parent} (once) ...")
        with tempfile.TemporaryDirectory(prefix=".gen-", dir=orders.parent) as scratch:
            command = [find_tpchgen(), "parquet", "--scale-factor", str(SCALE), "--tables", "orders"]
            subprocess.run([*command, "--output-dir", scratch], check=True, capture_output=True)
            (Path(scratch) / "orders.parquet").replace(orders)
    expected = CACHE / "tpch-sf1"
    if lineitem.parent != expected:
        raise SystemExit(f"{CONTRACT.name} reads {expected}, but the cached data is in {lineitem.parent}")
    return lineitem, orders


def available_tools(work: Path, lineitem: Path, orders: Path) -> tuple[list[Tool], dict[str, str]]:
    """Quanta and the floor always; each peer when its venv exists (and why not, when it does not)."""
    quanta = Path(sys.executable).with_name("quanta")
    child = [str(HERE / "contracts.py"), "--child"]
    tools = [
        Tool("quanta", "Quanta: quanta test", [str(quanta), "test", str(CONTRACT), "--json"], quanta_verdict),
        Tool(
            "floor",
            "floor: one hand-written DuckDB query",
            [sys.executable, *child, "floor", str(lineitem), str(orders)],
            child_verdict,
        ),
    ]
    missing: dict[str, str] = {}
    datacontract = PEERS / "datacontract/bin/datacontract"
    if datacontract.exists():
        output = ["--output-format", "json", "--output", str(work / "datacontract.json")]
        command = [str(datacontract), "test", str(CONTRACT), "--server", "local", "--no-inline-references"]
        tools.append(
            Tool(
                "datacontract", "datacontract-cli: datacontract test", command + output, datacontract_verdict
            )
        )
    else:
        missing["datacontract-cli"] = f"{datacontract} is missing (run peers/setup.sh)"
    soda = PEERS / "soda/bin/soda"
    if soda.exists():
        data_source = soda_data_source(work, lineitem, orders)
        tools.append(
            Tool(
                "soda",
                "Soda Core v4: soda contract verify",
                [str(soda), "contract", "verify", "-c", str(SODA_CHECKS), "-ds", str(data_source)],
                soda_verdict,
                cwd=work,
                env={"SODA_CORE_TELEMETRY_ENABLED": "false"},
            )
        )
    else:
        missing["Soda"] = f"{soda} is missing (run peers/setup.sh)"
    gx = PEERS / "gx/bin/python"
    if gx.exists():
        tools.append(
            Tool(
                "gx",
                "Great Expectations: pandas",
                [str(gx), *child, "gx", str(lineitem), str(orders)],
                child_verdict,
                env={"GX_ANALYTICS_ENABLED": "false"},
            )
        )
    else:
        failed = PEERS / "gx.failed"
        missing["Great Expectations"] = (
            failed.read_text(encoding="utf-8").strip() if failed.exists() else f"{gx} is missing"
        )
    return tools, missing


def soda_data_source(work: Path, lineitem: Path, orders: Path) -> Path:
    """A DuckDB database ``bench`` with views over the Parquet files, and Soda's data source file for it."""
    import duckdb

    database = work / "bench.duckdb"
    with duckdb.connect(str(database)) as connection:
        for name, path in (("lineitem", lineitem), ("orders", orders)):
            connection.execute(f"create or replace view {name} as select * from read_parquet('{path}')")
    config = work / "soda-data-source.yml"
    config.write_text(
        f"type: duckdb\nname: bench\nconnection:\n  database: {database}\n  read_only: true\n",
        encoding="utf-8",
    )
    return config


def measure(tool: Tool, work: Path) -> Measured:
    """One run in its own process: wall time from spawn to exit, peak RSS from wait4."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(tool.env or {})}
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(tool.command, cwd=tool.cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    try:
        verdict = tool.verdict(process.returncode, text, work)
    except Exception as exc:  # a tool that crashed has no verdict worth comparing
        raise SystemExit(f"{tool.name} exited {process.returncode}; its output:\n{text[-3000:]}") from exc
    return Measured([seconds], usage.ru_maxrss / 1024, verdict)  # ru_maxrss: KiB on Linux


def report(console: Any, lineitem: Path, tools: list[Tool], results: dict[str, Measured]) -> None:
    import duckdb
    from rich.table import Table

    quanta = results["quanta"]
    size = lineitem.stat().st_size / 2**20
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    busy = " (above the core count: other processes shared the machine, numbers are noisier)"
    table = Table(
        title=f"quanta test on TPC-H lineitem, scale 1: 6,001,215 rows ({size:,.0f} MiB Parquet) + orders, "
        f"{CONTRACT.name}; DuckDB {duckdb.__version__}, {cores} cores, "
        f"load {load:.1f}{busy if load > cores else ''}",
        title_justify="left",
    )
    for column in ("", f"best of {REPEATS} (s)", "each run (s)", "peak RSS (MiB)", "vs Quanta", "verdict"):
        table.add_column(column, justify="left" if column in ("", "verdict") else "right")
    order = ["quanta", "floor", "datacontract", "soda", "gx"]
    for tool in sorted(tools, key=lambda t: order.index(t.name)):
        measured = results[tool.name]
        runs = ", ".join(f"{s:.2f}" for s in measured.seconds)
        ratio = f"{measured.best / quanta.best:.2f}x"
        table.add_row(
            tool.label, f"{measured.best:.2f}", runs, f"{measured.peak_rss_mib:,.0f}", ratio, measured.verdict
        )
    console.print(table)
    for line in target_lines(results):
        console.print(line)


def target_lines(results: dict[str, Measured]) -> list[str]:
    quanta = results["quanta"]
    ok, miss = "[green]met[/green]", "[red]missed[/red]"
    lines = []
    for name, measured in results.items():
        if name not in ("quanta", "floor"):
            faster = quanta.best < measured.best
            lines.append(
                f"  Quanta faster than {name}: {measured.best / quanta.best:.2f}x {ok if faster else miss}"
            )
    if "datacontract" in results:
        ratio = results["datacontract"].best / quanta.best
        goal = TARGETS["datacontract"]
        lines.append(
            f"  datacontract-cli / Quanta = {ratio:.2f}x (target >= {goal}x) {ok if ratio >= goal else miss}"
        )
    floor, goal = quanta.best / results["floor"].best, TARGETS["floor"]
    lines.append(f"  Quanta / floor = {floor:.2f}x (target <= {goal}x) {ok if floor <= goal else miss}")
    memory = quanta.peak_rss_mib
    lines.append(
        f"  Quanta peak RSS {memory:,.0f} MiB (target < {TARGETS['memory_mib']:,} MiB) "
        f"{ok if memory < TARGETS['memory_mib'] else miss}"
    )
    return lines


def meets_targets(results: dict[str, Measured]) -> bool:
    quanta = results["quanta"]
    peers = [m for n, m in results.items() if n not in ("quanta", "floor")]
    return (
        all(quanta.best < m.best for m in peers)
        and (
            "datacontract" not in results
            or results["datacontract"].best / quanta.best >= TARGETS["datacontract"]
        )
        and quanta.best / results["floor"].best <= TARGETS["floor"]
        and quanta.peak_rss_mib < TARGETS["memory_mib"]
    )


# Where a quanta test run spends its time: functions whose cumulative time is one stage of the run.
PROFILE_STAGES = {
    "loading and validating the contract": ("quanta/spec/loader.py", "load_contract_text"),
    "DuckDB connections": ("quanta/engines/duckdb.py", "connect"),
    "schema conformance (DESCRIBE of each table)": ("quanta/contracts/execute.py", "schema_checks"),
    "the aggregate scan of each table": ("quanta/contracts/execute.py", "_aggregate"),
    "SLA checks": ("quanta/contracts/sla.py", "sla_checks"),
    "printing the report": ("quanta/interfaces/cli/data.py", "_print_runs"),
}


def where_quanta_spends(work: Path) -> str:
    """One ``quanta test`` run under ``-X importtime`` and one under cProfile, summed into stages."""
    import pstats

    command = [sys.executable, "-X", "importtime", "-m", "quanta.interfaces.cli.main", "test", str(CONTRACT)]
    timed = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=False)
    # "import time: self | cumulative | name", a top-level import has no indentation before its name
    imports = sum(
        int(line.split("|")[1]) / 1e6
        for line in timed.stderr.splitlines()
        if line.startswith("import time:")
        and line.count("|") == 2
        and not line.split("|")[2].startswith("  ")
        and line.split("|")[1].strip().isdigit()
    )
    profile = work / "quanta.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "quanta.interfaces.cli.main"]
    subprocess.run([*command, "test", str(CONTRACT)], cwd=HERE, capture_output=True, check=False)
    entries: dict[Any, Any] = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    total = max(cumulative for (_, _, _, cumulative, _) in entries.values())
    lines = [
        f"Where Quanta's time goes (one run under cProfile: {total:.2f} s):",
        f"  {'Python imports (all of them, from -X importtime)':<48} {imports:5.2f} s",
    ]
    for label, (file_part, function) in PROFILE_STAGES.items():
        seconds = max(
            (v[3] for (file, _, name), v in entries.items() if file_part in file and name == function),
            default=0.0,
        )
        lines.append(f"  {label:<48} {seconds:5.2f} s  ({seconds / total:4.0%})")
    lines.append("  (SQL rules run on worker threads during the scans, which cProfile does not see)")
    return "\n".join(lines)


# --- children: the floor and Great Expectations, each in its own process -------------------------------


ENUMS = {
    "l_returnflag": ["A", "N", "R"],
    "l_linestatus": ["F", "O"],
    "l_shipinstruct": ["COLLECT COD", "DELIVER IN PERSON", "NONE", "TAKE BACK RETURN"],
    "l_shipmode": ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"],
}
RANGES: dict[str, tuple[Any, Any]] = {
    "l_linenumber": (1, 7),
    "l_partkey": (1, 200000),
    "l_suppkey": (1, 10000),
    "l_quantity": (1, 50),
    "l_extendedprice": (900, 105000),
    "l_discount": (0, 0.1),
    "l_tax": (0, 0.08),
    "l_shipdate": (date(1992, 1, 1), date(1998, 12, 31)),
}
REQUIRED = [
    "l_orderkey",
    "l_linenumber",
    "l_partkey",
    "l_suppkey",
    "l_shipdate",
    "l_commitdate",
    "l_receiptdate",
]
ROW_COUNT = (6000000, 6100000)
PATTERN = ("l_shipmode", "^[A-Z ]+$")
MAX_LENGTH = ("l_comment", 44)


def _literal(value: Any) -> str:
    return f"date '{value}'" if isinstance(value, date) else repr(value)


def floor_sql(lineitem: Path, orders: Path) -> str:
    """Every metric of the contract in one query: one pass over lineitem, the orders lookups as subqueries."""
    counts = [f"count(*) filter (where {c} is null)" for c in REQUIRED]
    counts += [
        f"count(*) filter (where {c} < {_literal(low)} or {c} > {_literal(high)})"
        for c, (low, high) in RANGES.items()
    ]
    counts += [f"count(*) filter (where {c} not in ({', '.join(map(repr, v))}))" for c, v in ENUMS.items()]
    counts += [
        f"count(*) filter (where not regexp_full_match({PATTERN[0]}, '{PATTERN[1]}'))",
        f"count(*) filter (where length({MAX_LENGTH[0]}) > {MAX_LENGTH[1]})",
        "count(*) filter (where l_comment is null)",
        "count(*) filter (where l_receiptdate < l_shipdate)",  # the SQL rule
        "count(*) - count(distinct (l_orderkey, l_linenumber))",  # the composite primary key
        "(select count(*) from lines anti join keys on lines.l_orderkey = keys.o_orderkey)",  # relationship
        "(select count(*) filter (where o_orderkey is null) from keys)",
        "(select count(*) - count(distinct o_orderkey) from keys)",
    ]
    return (
        f"with lines as not materialized (select * from read_parquet('{lineitem}')), "
        f"keys as not materialized (select o_orderkey from read_parquet('{orders}')) "
        f"select count(*), max(l_shipdate), {', '.join(counts)} from lines"
    )


def child_floor(lineitem: Path, orders: Path) -> dict[str, Any]:
    import duckdb

    with duckdb.connect(":memory:") as connection:
        row = connection.execute(floor_sql(lineitem, orders)).fetchone()
    assert row is not None
    rows, newest, *violations = row
    failed = [i for i, v in enumerate(violations) if v]
    if not ROW_COUNT[0] <= rows <= ROW_COUNT[1]:
        failed.append("rowCount")
    if newest < date.today() - timedelta(days=FRESH_DAYS):
        failed.append("freshness")
    return {"checks": len(violations) + 2, "failed": failed}


def child_gx(lineitem: Path, orders: Path) -> dict[str, Any]:
    """The contract as a Great Expectations suite, validated on the Parquet files read with pandas."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    lines = pd.read_parquet(lineitem)
    keys = pd.read_parquet(orders, columns=["o_orderkey"])
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("tpch")
    line_suite = gx.ExpectationSuite("lineitem")
    for column in [*REQUIRED, "l_comment"]:
        line_suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    for column, (low, high) in RANGES.items():
        bounds = (str(low), str(high)) if isinstance(low, date) else (low, high)
        line_suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=bounds[0], max_value=bounds[1])
        )
    for column, values in ENUMS.items():
        line_suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values))
    expectations = [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["l_orderkey", "l_linenumber"]),
        gxe.ExpectColumnValuesToMatchRegex(column=PATTERN[0], regex=PATTERN[1]),
        gxe.ExpectColumnValueLengthsToBeBetween(column=MAX_LENGTH[0], max_value=MAX_LENGTH[1]),
        gxe.ExpectTableRowCountToBeBetween(min_value=ROW_COUNT[0], max_value=ROW_COUNT[1]),
        # the SQL rule: no line is received before it is shipped
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="l_receiptdate", column_B="l_shipdate", or_equal=True
        ),
        gxe.ExpectColumnValuesToBeInSet(column="l_orderkey", value_set=keys["o_orderkey"].unique().tolist()),
        gxe.ExpectColumnMaxToBeBetween(
            column="l_shipdate", min_value=str(date.today() - timedelta(days=FRESH_DAYS))
        ),
    ]
    for expectation in expectations:
        line_suite.add_expectation(expectation)
    key_suite = gx.ExpectationSuite("orders")
    key_suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="o_orderkey"))
    key_suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="o_orderkey"))
    failed: list[str] = []
    checks = 0
    for name, frame, suite in (("lineitem", lines, line_suite), ("orders", keys, key_suite)):
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        result = batch.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
        checks += len(result.results)
        failed += [r.expectation_config.type for r in result.results if not r.success]
    return {"checks": checks, "failed": failed}


def child(kind: str, lineitem: Path, orders: Path) -> int:
    result = child_floor(lineitem, orders) if kind == "floor" else child_gx(lineitem, orders)
    sys.stdout.write(json.dumps(result) + "\n")
    return 1 if result["failed"] else 0


if __name__ == "__main__":  # the children run this file directly (the GX venv cannot import benchmarks)
    if sys.argv[1:2] != ["--child"]:
        raise SystemExit("usage: python -m benchmarks contracts")
    sys.exit(child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])))
