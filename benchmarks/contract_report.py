"""The tables and target lines of ``python -m benchmarks contracts``, and where Quanta's time goes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.contracts import DATA, HERE, REPEATS, TARGETS, Case, Measured, Tool

ORDER = ["quanta", "floor", "datacontract", "soda", "gx"]


def report(console: Any, case: Case, tools: list[Tool], results: dict[str, Measured]) -> bool:
    """Print the case's table and its target lines; whether every target was met."""
    import duckdb
    from rich.table import Table

    rows = {"lineitem": "6,001,215", "orders": "1,500,000", "customer": "150,000"}
    size = sum((DATA / f"{t}.parquet").stat().st_size for t in case.tables) / 2**20
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    busy = " (above the core count: other processes shared the machine, numbers are noisier)"
    table = Table(
        title=f"{case.contract.name}: TPC-H scale 1, "
        + " + ".join(f"{t} ({rows.get(t, '?')} rows)" for t in case.tables)
        + f", {size:,.0f} MiB Parquet; DuckDB {duckdb.__version__}, {cores} cores, "
        f"load {load:.1f}{busy if load > cores else ''}",
        title_justify="left",
    )
    columns = (
        "",
        "median (s)",
        "spread (s)",
        "best (s)",
        "CPU (s)",
        "peak RSS (MiB)",
        "vs Quanta",
        "verdict",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("", "verdict") else "right")
    quanta = results["quanta"]
    for tool in sorted(tools, key=lambda t: ORDER.index(t.name)):
        m = results[tool.name]
        low, high = ratio_range(m, quanta)
        table.add_row(
            tool.label,
            f"{m.median:.2f}",
            f"{min(m.seconds):.2f} to {max(m.seconds):.2f}",
            f"{m.best:.2f}",
            f"{sorted(m.cpu)[len(m.cpu) // 2]:.2f}",
            f"{m.peak_rss_mib:,.0f}",
            f"{m.best / quanta.best:.2f}x ({low:.2f} to {high:.2f})",
            m.verdict,
        )
    console.print(table)
    console.print(
        f"  vs Quanta: best of {REPEATS} over best of {REPEATS}; in brackets the range of the {REPEATS} "
        "rounds' ratios (the tools alternate, so each round's runs shared the machine's state)"
    )
    lines, met = target_lines(results)
    for line in lines:
        console.print(line)
    return met


def ratio_range(tool: Measured, quanta: Measured) -> tuple[float, float]:
    """The lowest and highest of the per-round ratios tool / Quanta."""
    ratios = [t / q for t, q in zip(tool.seconds, quanta.seconds, strict=True)]
    return min(ratios), max(ratios)


def target_lines(results: dict[str, Measured]) -> tuple[list[str], bool]:
    """One line per target (best of 3, as issue 12 states them), with the worst round beside it."""
    quanta = results["quanta"]
    ok, miss = "[green]met[/green]", "[red]missed[/red]"
    lines, met = [], True
    for name, measured in results.items():
        if name not in ("quanta", "floor"):
            faster = quanta.best < measured.best
            met &= faster
            lines.append(
                f"  Quanta faster than {name}: {measured.best / quanta.best:.2f}x {ok if faster else miss}"
            )
    if "datacontract" in results:
        ratio, goal = results["datacontract"].best / quanta.best, TARGETS["datacontract"]
        worst = ratio_range(results["datacontract"], quanta)[0]
        met &= ratio >= goal
        lines.append(
            f"  datacontract-cli / Quanta = {ratio:.2f}x (target >= {goal}x) "
            f"{ok if ratio >= goal else miss}; worst round {worst:.2f}x"
        )
    if "floor" in results:
        floor, goal = quanta.best / results["floor"].best, TARGETS["floor"]
        worst = 1 / ratio_range(results["floor"], quanta)[0]
        met &= floor <= goal
        lines.append(
            f"  Quanta / floor = {floor:.2f}x (target <= {goal}x) {ok if floor <= goal else miss}; "
            f"worst round {worst:.2f}x"
        )
    memory = quanta.peak_rss_mib
    met &= memory < TARGETS["memory_mib"]
    lines.append(
        f"  Quanta peak RSS {memory:,.0f} MiB (target < {TARGETS['memory_mib']:,} MiB) "
        f"{ok if memory < TARGETS['memory_mib'] else miss}"
    )
    return lines, met


# Where a quanta test run spends its time: functions whose cumulative time is one stage of the run.
PROFILE_STAGES = {
    "loading and validating the contract": ("quanta/spec/loader.py", "load_contract_text"),
    "DuckDB connections": ("quanta/engines/duckdb.py", "connect"),
    "schema conformance (DESCRIBE of each table)": ("quanta/contracts/execute.py", "schema_checks"),
    "the aggregate scan of each table": ("quanta/contracts/execute.py", "_aggregate"),
    "SLA checks": ("quanta/contracts/sla.py", "sla_checks"),
    "printing the report": ("quanta/interfaces/cli/data.py", "_print_runs"),
}


def where_quanta_spends(case: Case, work: Path) -> str:
    """One ``quanta test`` run under ``-X importtime`` and one under cProfile, summed into stages."""
    import pstats

    contract = str(case.contract)
    command = [sys.executable, "-X", "importtime", "-m", "quanta.interfaces.cli.main", "test", contract]
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
    subprocess.run([*command, "test", contract], cwd=HERE, capture_output=True, check=False)
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
