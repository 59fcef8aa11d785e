"""`quanta query` streams: a result larger than memory is shown in part and exported in batches."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import mesh_as, run_cli, run_with_peak_rss

# ~3.6 billion rows at demo scale 0.01 (60,175 line items squared): far beyond memory if held whole.
HUGE = "select * from sales.lineitems a cross join sales.lineitems b"
# ~1.2 million rows: enough to show that an export never holds the whole result.
MILLION = "select a.* from sales.lineitems a cross join (select order_id from sales.orders limit 20) b"
GIB = 1024**3


def run_measured(*args: str, cwd: Path) -> tuple[str, str, int, float]:
    """The real CLI as ``run_cli`` runs it, with its own peak resident memory (bytes) and wall time."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("QUANTA_DATABASE_URL", None)
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        command = [sys.executable, "-m", "quanta.interfaces.cli.main", *args]
        code, peak = run_with_peak_rss(command, cwd=cwd, env=env, timeout=90, stdout=out, stderr=err)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    assert code == 0, stderr
    return stdout, stderr, peak, time.monotonic() - started


def test_query_of_a_huge_result_shows_the_first_rows_promptly_in_bounded_memory(built_demo: Path) -> None:
    out, err, peak, seconds = run_measured("query", HUGE, cwd=built_demo)
    assert "at least 1,000 rows (first 1,000 shown" in err
    assert out.count("\n") > 1000  # the table itself is there
    assert peak < GIB // 2, f"peak RSS {peak / 2**20:.0f} MiB"
    assert seconds < 60


def test_query_limit_under_the_cap_counts_exactly(built_demo: Path) -> None:
    result = run_cli("query", "select * from sales.orders", "--limit", "7", cwd=built_demo)
    assert result.returncode == 0, result.stderr
    assert "7 rows" in result.stderr and "at least" not in result.stderr


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json"])
def test_query_output_streams_a_million_rows_to_the_file(
    built_demo: Path, tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / f"result{suffix}"
    _, err, peak, _ = run_measured("query", MILLION, "--output", str(target), cwd=built_demo)
    expected = 60_175 * 20
    assert f"wrote {expected:,} rows to" in err
    if suffix == ".parquet":
        assert pq.ParquetFile(target).metadata.num_rows == expected
    elif suffix == ".csv":
        with target.open() as lines:
            assert sum(1 for _ in lines) == expected + 1  # the header line
    else:
        assert len(json.loads(target.read_text())) == expected
    assert peak < GIB // 2 if suffix != ".json" else peak < GIB, f"peak RSS {peak / 2**20:.0f} MiB"


def test_query_output_is_audited(built_demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "orders.csv"
    mesh = mesh_as(built_demo, "local-admin")
    before = len(mesh.audit_log())
    result = run_cli("query", "select * from sales.orders", "-o", str(target), cwd=built_demo)
    assert result.returncode == 0, result.stderr
    entries = mesh.audit_log()[before:]
    assert {(e.kind, e.decision) for e in entries} >= {("query", "allow"), ("export", "allow")}
    export = next(e for e in entries if e.kind == "export")
    assert export.details["rows"] == 15_000 == len(target.read_text().splitlines()) - 1


def test_query_stream_errors_read_like_any_query_error(built_demo: Path) -> None:
    result = run_cli("query", "select cast(comment as integer) from sales.orders", cwd=built_demo)
    assert result.returncode != 0
    assert "query failed" in result.stderr and "Traceback" not in result.stderr


def test_query_output_to_an_unknown_format_names_the_ones_there_are(built_demo: Path, tmp_path: Path) -> None:
    result = run_cli("query", "select 1 from sales.orders", "-o", str(tmp_path / "x.xlsx"), cwd=built_demo)
    assert result.returncode != 0
    assert ".csv, .json, .parquet" in result.stderr
