"""Test TPC-H data at scale 1 against two contracts of 20+ rules with every tool, end to end, 3 runs each:
``lineitem.odcs.yaml`` (lineitem, 6,001,215 rows, and orders: keys, bounds, enums) and
``orders_wide.odcs.yaml`` (orders and customer: mostly string rules, a unique string column).

- Quanta: ``quanta test benchmarks/<contract>.odcs.yaml`` (the CLI, as a user runs it);
- datacontract-cli: ``datacontract test`` on the same ODCS file;
- Soda Core v4: ``soda contract verify`` with the same checks in ``benchmarks/<contract>.soda.yml``, on a
  DuckDB data source whose views read the same Parquet files;
- Great Expectations (lineitem only, when ``peers/setup.sh`` could install it): the same expectations on
  the Parquet files read with pandas, its local-file path;
- the floor: hand-written DuckDB queries computing the same metrics (``contract_floor.py``).

``QUANTA_BENCH_TOOLS=quanta,floor`` measures only the tools named (GX alone takes minutes per run);
``QUANTA_BENCH_CASES=lineitem`` only the contracts named. Each tool's median, spread and best run are
reported, and each ratio's range over the rounds (tools alternate, so round i of each ran side by side).

Every run is its own process, timed from spawn to exit, its peak RSS and CPU time from ``wait4``. The
peers live in ``.peers/`` (``peers/setup.sh``); the Parquet files in ``.bench-cache/tpch-sf1`` (lineitem
is the one the build benchmark made). Run with ``python -m benchmarks contracts``.
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
from pathlib import Path
from typing import Any

from benchmarks import user_env

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / ".bench-cache"
DATA = CACHE / "tpch-sf1"
PEERS = ROOT / ".peers"
REPEATS = 3
# Issue 12: >= 3x faster than datacontract-cli 1.2.8, <= 1.15x the floor, peak RSS < 600 MiB (best of 3).
TARGETS = {"datacontract": 3.0, "floor": 1.15, "memory_mib": 600}


@dataclass(frozen=True)
class Case:
    """One benchmark contract: its ODCS file, the same checks for Soda, and the tables it reads."""

    name: str
    tables: tuple[str, ...]

    @property
    def contract(self) -> Path:
        return HERE / f"{self.name}.odcs.yaml"

    @property
    def soda_checks(self) -> Path:
        return HERE / f"{self.name}.soda.yml"


CASES = (Case("lineitem", ("lineitem", "orders")), Case("orders_wide", ("orders", "customer")))


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
    """Each run's wall-clock and CPU seconds, the highest peak RSS, and the verdict of the first run."""

    seconds: list[float]
    cpu: list[float]
    peak_rss_mib: float
    verdict: str

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return sorted(self.seconds)[len(self.seconds) // 2]


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


# --- parent: data, tools, measurements ------------------------------------------------------------------


def main() -> int:
    from rich.console import Console

    from benchmarks.contract_report import report, where_quanta_spends

    console = Console() if sys.stdout.isatty() else Console(width=150)
    cases = [c for c in CASES if c.name in os.environ.get("QUANTA_BENCH_CASES", c.name).split(",")]
    CACHE.mkdir(exist_ok=True)
    for case in cases:
        tpch_data(console, case.tables)
        with tempfile.TemporaryDirectory(prefix="contracts-", dir=CACHE) as scratch:
            work = Path(scratch)
            tools, missing = available_tools(case, work)
            if only := os.environ.get("QUANTA_BENCH_TOOLS"):  # e.g. "quanta,floor,datacontract" while tuning
                tools = [t for t in tools if t.name in only.split(",")]
            for name, why in missing.items():
                console.print(f"[yellow]{name} is not measured: {why}[/yellow]")
            results = measure_all(console, tools, work)
            if not report(console, case, tools, results):
                console.print(where_quanta_spends(case, work))
    return 0


def measure_all(console: Any, tools: list[Tool], work: Path) -> dict[str, Measured]:
    """One untimed warm-up per tool, then ``REPEATS`` rounds, the tools alternating within each round."""
    console.print(
        f"one warm-up each, then {REPEATS} rounds alternating {', '.join(t.name for t in tools)}; "
        "one process per run ..."
    )
    for tool in tools:  # the page cache holds the files afterwards, for every tool alike
        if tool.name != "gx":  # minutes per run, and its files are warm by now
            measure(tool, work)
    runs: dict[str, list[Measured]] = {t.name: [] for t in tools}
    for _ in range(REPEATS):
        for tool in tools:
            runs[tool.name].append(measure(tool, work))
    return {
        name: Measured(
            [m.seconds[0] for m in r], [m.cpu[0] for m in r], max(m.peak_rss_mib for m in r), r[0].verdict
        )
        for name, r in runs.items()
    }


def tpch_data(console: Any, tables: tuple[str, ...]) -> None:
    """The TPC-H tables at scale 1 in ``DATA``: lineitem is the build benchmark's file, the others are
    generated once."""
    from benchmarks.__main__ import SCALE, cached_lineitem
    from quanta.build.demo_data import find_tpchgen

    if cached_lineitem(console).parent != DATA:
        raise SystemExit(f"the benchmark contracts read {DATA}, but the cached lineitem is elsewhere")
    for table in tables:
        target = DATA / f"{table}.parquet"
        if target.is_file():
            continue
        console.print(f"generating TPC-H {table} at scale {SCALE} into {DATA} (once) ...")
        with tempfile.TemporaryDirectory(prefix=".gen-", dir=DATA) as scratch:
            command = [find_tpchgen(), "parquet", "--scale-factor", str(SCALE), "--tables", table]
            subprocess.run([*command, "--output-dir", scratch], check=True, capture_output=True)
            (Path(scratch) / f"{table}.parquet").replace(target)  # complete, or not there at all


def available_tools(case: Case, work: Path) -> tuple[list[Tool], dict[str, str]]:
    """Quanta and the floor always; each peer when its venv exists (and why not, when it does not)."""
    quanta = Path(sys.executable).with_name("quanta")
    child = [str(HERE / "contract_floor.py")]
    contract = str(case.contract)
    tools = [
        Tool("quanta", "Quanta: quanta test", [str(quanta), "test", contract, "--json"], quanta_verdict),
        Tool(
            "floor",
            "floor: hand-written DuckDB queries",
            [sys.executable, *child, "floor", case.name, str(DATA)],
            child_verdict,
        ),
    ]
    missing: dict[str, str] = {}
    datacontract = PEERS / "datacontract/bin/datacontract"
    if datacontract.exists():
        output = ["--output-format", "json", "--output", str(work / "datacontract.json")]
        command = [str(datacontract), "test", contract, "--server", "local", "--no-inline-references"]
        tools.append(
            Tool(
                "datacontract", "datacontract-cli: datacontract test", command + output, datacontract_verdict
            )
        )
    else:
        missing["datacontract-cli"] = f"{datacontract} is missing (run peers/setup.sh)"
    soda = PEERS / "soda/bin/soda"
    if soda.exists():
        data_source = soda_data_source(work, case.tables)
        tools.append(
            Tool(
                "soda",
                "Soda Core v4: soda contract verify",
                [str(soda), "contract", "verify", "-c", str(case.soda_checks), "-ds", str(data_source)],
                soda_verdict,
                cwd=work,
                env={"SODA_CORE_TELEMETRY_ENABLED": "false"},
            )
        )
    else:
        missing["Soda"] = f"{soda} is missing (run peers/setup.sh)"
    gx = PEERS / "gx/bin/python"
    if case.name != "lineitem":
        missing["Great Expectations"] = "its suite is written for lineitem.odcs.yaml only"
    elif gx.exists():
        tools.append(
            Tool(
                "gx",
                "Great Expectations: pandas",
                [str(gx), *child, "gx", case.name, str(DATA)],
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


def soda_data_source(work: Path, tables: tuple[str, ...]) -> Path:
    """A DuckDB database ``bench`` with views over the Parquet files, and Soda's data source file for it."""
    import duckdb

    database = work / "bench.duckdb"
    with duckdb.connect(str(database)) as connection:
        for name in tables:
            path = DATA / f"{name}.parquet"
            connection.execute(f"create or replace view {name} as select * from read_parquet('{path}')")
    config = work / "soda-data-source.yml"
    config.write_text(
        f"type: duckdb\nname: bench\nconnection:\n  database: {database}\n  read_only: true\n",
        encoding="utf-8",
    )
    return config


def measure(tool: Tool, work: Path) -> Measured:
    """One run in its own process: wall time from spawn to exit, peak RSS and CPU time from wait4."""
    env = user_env(NO_COLOR="1", COLUMNS="200", **(tool.env or {}))
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
    cpu = usage.ru_utime + usage.ru_stime
    return Measured([seconds], [cpu], usage.ru_maxrss / 1024, verdict)  # ru_maxrss: KiB on Linux
