"""End-to-end CLI error paths: what is wrong, a hint how to fix it, exit 1, and no traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

PRODUCT = """\
apiVersion: v1.0.0
kind: DataProduct
id: sales.orders
name: Orders
version: 1.0.0
domain: sales
status: active
type: source-aligned
owner: alice
inputPorts:
  - name: raw
    source: {type: file, path: data/*.csv, format: csv}
outputPorts:
  - name: orders
    contract: orders.odcs.yaml
build:
  transform: {sql: transform.sql}
"""
CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: sales-orders
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: integer
"""


def failed_cleanly(result: subprocess.CompletedProcess[str]) -> str:
    """The combined output of a run that failed with exit 1 and no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    return output


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder with no quanta.yaml in it or above it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with sales.orders 1.0.0 registered."""
    root = tmp_path_factory.mktemp("cli") / "ws"
    assert run_cli("init", str(root)).returncode == 0
    folder = root / "domains" / "sales" / "orders"
    folder.mkdir(parents=True)
    (folder / "product.yaml").write_text(PRODUCT, encoding="utf-8")
    (folder / "orders.odcs.yaml").write_text(CONTRACT, encoding="utf-8")
    (folder / "transform.sql").write_text("select * from raw\n", encoding="utf-8")
    result = run_cli("apply", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_ls_outside_a_workspace_points_to_init(outside: Path) -> None:
    output = failed_cleanly(run_cli("ls", cwd=outside))
    assert "error: no quanta.yaml" in output
    assert "hint:" in output
    assert "quanta init" in output

    payload = json.loads(failed_cleanly(run_cli("ls", "--json", cwd=outside)).strip())
    assert payload["ok"] is False
    assert "no quanta.yaml" in payload["error"]
    assert "quanta init" in payload["hint"]


def test_show_unknown_product_suggests_a_close_id(applied: Path) -> None:
    output = failed_cleanly(run_cli("show", "sales.order", cwd=applied))
    assert "no product 'sales.order'" in output
    assert "did you mean 'sales.orders'?" in output

    output = failed_cleanly(run_cli("show", "nosuch.product", cwd=applied))
    assert "no product 'nosuch.product'" in output
    assert "quanta ls" in output


def test_show_unknown_version_lists_the_registered_ones(applied: Path) -> None:
    output = failed_cleanly(run_cli("show", "sales.orders@9.9.9", cwd=applied))
    assert "has no version 9.9.9" in output
    assert "registered versions: 1.0.0" in output


def test_export_unknown_format_lists_the_formats(outside: Path) -> None:
    output = failed_cleanly(run_cli("export", "nosuchformat", "x", cwd=outside))
    assert "unknown export format 'nosuchformat'" in output
    for name in ("odcs", "odps", "jsonschema", "sql", "markdown"):
        assert name in output.split("hint:", 1)[1]


def test_import_a_missing_file(outside: Path) -> None:
    output = failed_cleanly(run_cli("import", "odcs", "missing.yaml", cwd=outside))
    assert "file not found: missing.yaml" in output
    assert "hint: check the path" in output
    assert not (outside / ".quanta").exists()


def test_init_refuses_an_existing_workspace(applied: Path) -> None:
    before = (applied / "quanta.yaml").read_text(encoding="utf-8")
    output = failed_cleanly(run_cli("init", str(applied)))
    assert "quanta.yaml already exists" in output
    assert "hint:" in output
    assert (applied / "quanta.yaml").read_text(encoding="utf-8") == before


def test_debug_shows_the_traceback_the_plain_run_hides(outside: Path) -> None:
    plain = failed_cleanly(run_cli("ls", cwd=outside))
    assert "WorkspaceError" not in plain

    debug = run_cli("ls", "--debug", cwd=outside)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "quanta.errors.WorkspaceError: no quanta.yaml" in debug.stderr
