"""`quanta --help` stays fast: heavy libraries are imported lazily."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "duckdb",
    "pyarrow",
    "fastapi",
    "pyiceberg",
    "pyspark",
    "sqlalchemy",
    "jsonschema",
    "sqlglot",
    "pydantic",
)


def test_help_imports_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "quanta.interfaces.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {
        line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line
    }
    assert "quanta" in imported
    assert sorted(imported & set(HEAVY)) == []
    assert "validate" in result.stdout
