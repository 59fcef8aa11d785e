"""CLI start-up on the demo mesh: ``quanta ls``, ``quanta show sales.orders`` and ``quanta --help``, each
against ``python -c pass`` (the interpreter's own start-up) in the same run.

Every command runs as a user runs it: a new process, bytecode caching on (``benchmarks.user_env``), in
the demo workspace (scale 0.01, built once). The kinds take turns, one warm-up round first (bytecode
written, the page cache warm), then ``RUNS`` rounds; the report gives the best and the median of each
and the time added over the bare interpreter. Target (issue 17): ``ls`` and ``show`` within 300 ms.

Run with ``python -m benchmarks startup``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.__main__ import CACHE

RUNS = 7
TARGET_MS = 300.0
QUANTA = [sys.executable, "-m", "quanta.interfaces.cli.main"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "quanta --help": [*QUANTA, "--help"],
    "quanta ls": [*QUANTA, "ls"],
    "quanta show sales.orders": [*QUANTA, "show", "sales.orders"],
}


def main() -> int:
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=120)
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="startup-", dir=CACHE) as scratch:
        root = demo(Path(scratch) / "mesh")
        timings = measure(root)
    report(console, timings)
    return 0


def demo(root: Path) -> Path:
    from quanta.build.demo_data import generate_demo_data
    from quanta.mesh import Mesh

    print("building the demo mesh (scale 0.01) ...", flush=True)
    Mesh.init(root, demo=True)
    generate_demo_data(root, 0.01)
    Mesh.open(root).build()
    return root


def measure(root: Path, runs: int = RUNS, **extra: str) -> dict[str, list[float]]:
    """Milliseconds of each command per round (the first, warm-up round left out): wall clock under
    the command's name, CPU (user + system) under ``name (cpu)``, which a busy machine inflates less."""
    import resource

    from benchmarks import user_env

    env = user_env(NO_COLOR="1", COLUMNS="120", **extra)
    env.pop("QUANTA_DATABASE_URL", None)
    env.pop("QUANTA_USER", None)
    timings: dict[str, list[float]] = {k: [] for name in COMMANDS for k in (name, f"{name} (cpu)")}
    for run in range(runs + 1):
        for name, command in COMMANDS.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(command, check=False, cwd=root, env=env, capture_output=True, timeout=120)
            took = (time.perf_counter() - started) * 1000
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed: {done.stderr.decode()[-2000:]}")
            if run:
                timings[name].append(took)
                cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                timings[f"{name} (cpu)"].append(cpu * 1000)
    return timings


def report(console: object, timings: dict[str, list[float]]) -> None:
    from rich.console import Console
    from rich.table import Table

    assert isinstance(console, Console)
    table = Table(title=f"CLI start-up on the demo mesh, {len(timings['python -c pass'])} runs each (ms)")
    for column in ("command", "best", "median", "best over python -c pass"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for name, values in timings.items():
        floor = min(timings["python -c pass (cpu)" if name.endswith("(cpu)") else "python -c pass"])
        added = "" if name.startswith("python -c pass") else f"+{min(values) - floor:.0f}"
        table.add_row(name, f"{min(values):.0f}", f"{statistics.median(values):.0f}", added)
    console.print(table)
    for name in ("quanta ls", "quanta show sales.orders"):
        best = min(timings[name])
        met = "[green]met[/green]" if best <= TARGET_MS else "[red]missed[/red]"
        console.print(f"  {name}: best {best:.0f} ms (target <= {TARGET_MS:.0f} ms) {met}")
