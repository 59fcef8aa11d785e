"""Peak resident memory of one command, measured correctly (shared by benchmarks and tests).

A small process runs the command and reports its peak RSS: a child forked straight from a large
process (a pytest worker, a benchmark that just built a table) would count that process's memory
(Linux carries the pre-exec high-water mark into the child's ru_maxrss).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run_with_peak_rss(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600, **popen: Any
) -> tuple[int, int]:
    """Run ``command`` (stdout/stderr as given in ``popen``) and return (exit code, peak RSS in bytes
    of that command alone). Killed, with its children, after ``timeout`` seconds (TimeoutError)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        process = subprocess.Popen(
            [sys.executable, "-c", _WRAPPER, rss.name, *command],
            cwd=cwd,
            env=env,
            start_new_session=True,
            **popen,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise TimeoutError(f"{' '.join(command[:6])} still running after {timeout:.0f} s") from None
        return code, int(rss.read() or 0) * 1024  # Linux: KiB
