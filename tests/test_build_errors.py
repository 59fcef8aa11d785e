"""Bad input to ``quanta build``, driven through the real CLI: every failure says which product, which
file and how to fix it, exits 1 and shows no traceback."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from quanta.mesh import Mesh
from tests.conftest import run_cli

ITEMS = """\
apiVersion: v1.0.0
kind: DataProduct
id: shop.items
name: Items
version: 1.0.0
domain: shop
status: active
type: source-aligned
owner: alice
inputPorts:
  - name: raw_items
    source: {source}
outputPorts:
  - name: items
    contract: items.odcs.yaml
build:
  transform: {{sql: transform.sql}}
"""
ITEMS_CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: shop.items.items
version: 1.0.0
status: active
schema:
  - name: items
    properties:
      - name: item_id
        logicalType: integer
        physicalType: bigint
        required: true
      - name: label
        logicalType: string
        physicalType: varchar
"""
ITEMS_SQL = """\
select
    id    as item_id,
    name  as label
from raw_items
"""
CSV_SOURCE = "{type: file, path: data/items/*.csv, format: csv}"
SUMMARY = """\
apiVersion: v1.0.0
kind: DataProduct
id: shop.summary
name: Summary
version: 1.0.0
domain: shop
status: active
type: aggregate
owner: alice
inputPorts:
  - name: items
    product: shop.items
outputPorts:
  - name: summary
    contract: summary.odcs.yaml
build:
  transform: {sql: "select count(*) as item_count from items"}
"""
SUMMARY_CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: shop.summary.summary
version: 1.0.0
status: active
schema:
  - name: summary
    properties:
      - name: item_count
        logicalType: integer
        physicalType: bigint
"""
# An independent product that always builds: a failure elsewhere must not stop it.
TAGS = """\
apiVersion: v1.0.0
kind: DataProduct
id: catalog.tags
name: Tags
version: 1.0.0
domain: catalog
status: active
type: source-aligned
owner: alice
inputPorts:
  - name: raw_tags
    source: {type: file, path: data/tags.csv, format: csv}
outputPorts:
  - name: tags
    contract: tags.odcs.yaml
build:
  transform: {sql: "select tag from raw_tags"}
"""
TAGS_CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: catalog.tags.tags
version: 1.0.0
status: active
schema:
  - name: tags
    properties:
      - name: tag
        logicalType: string
        physicalType: varchar
"""
TRANSFORM = "domains/shop/items/transform.sql"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A workspace with shop.items (a CSV drop), shop.summary (reads shop.items) and catalog.tags."""
    root = tmp_path / "ws"
    Mesh.init(root)
    items = root / "domains/shop/items"
    write(items / "product.yaml", ITEMS.format(source=CSV_SOURCE))
    write(items / "items.odcs.yaml", ITEMS_CONTRACT)
    write(items / "transform.sql", ITEMS_SQL)
    write(root / "domains/shop/summary/product.yaml", SUMMARY)
    write(root / "domains/shop/summary/summary.odcs.yaml", SUMMARY_CONTRACT)
    write(root / "domains/catalog/tags/product.yaml", TAGS)
    write(root / "domains/catalog/tags/tags.odcs.yaml", TAGS_CONTRACT)
    write(root / "data/items/items-1.csv", "id,name\n1,apple\n2,pear\n")
    write(root / "data/tags.csv", "tag\nfruit\n")
    return root


def failed_cleanly(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a run that exited 1 without a traceback, on one line (Rich wraps long lines)."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    return " ".join(output.split())


def build_json(root: Path, *selectors: str) -> dict[str, dict[str, Any]]:
    """``quanta build --json``: the result of every product by id (exit status 1: something failed)."""
    result = run_cli("build", *selectors, "--json", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    return {r["product_id"]: r for r in payload["results"]}


def runs(root: Path, product_id: str) -> list[dict[str, Any]]:
    result = run_cli("runs", product_id, "--json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    runs: list[dict[str, Any]] = json.loads(result.stdout)
    return runs


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- sources ------------------------------------------------------------------------------------


def no_files(root: Path) -> tuple[str, str]:
    for old in (root / "data/items").iterdir():
        old.unlink()
    return "no files match 'data/items/*.csv'", "data/items is empty; fix the pattern or add the files"


def no_folder(root: Path) -> tuple[str, str]:
    source = CSV_SOURCE.replace("items/", "itms/")
    write(root / "domains/shop/items/product.yaml", ITEMS.format(source=source))
    return "no files match 'data/itms/*.csv'", "data/itms does not exist: create it or fix the path"


def missing_sqlite(root: Path) -> tuple[str, str]:
    source = "{type: database, url: 'sqlite:///data/shop.db', table: items}"
    write(root / "domains/shop/items/product.yaml", ITEMS.format(source=source))
    return (
        f"SQLite database {root.resolve() / 'data/shop.db'} not found (from sqlite:///data/shop.db)",
        "sqlite:///path.db is relative to the workspace root",
    )


def closed_postgres(root: Path) -> tuple[str, str]:
    url = f"postgresql+psycopg://shop@127.0.0.1:{closed_port()}/shop"
    source = f"{{type: database, url: '{url}', table: items}}"
    write(root / "domains/shop/items/product.yaml", ITEMS.format(source=source))
    return (
        f"cannot read table 'items' from {url}: connection failed",
        "check that the server is running and the URL is right",
    )


@pytest.mark.parametrize(
    "break_source",
    [
        pytest.param(no_files, id="glob-matches-nothing"),
        pytest.param(no_folder, id="folder-missing"),
        pytest.param(missing_sqlite, id="sqlite-file-missing"),
        pytest.param(closed_postgres, id="postgres-port-closed"),
    ],
)
def test_an_unreadable_source_fails_its_product_and_says_how_to_fix_it(shop: Path, break_source: Any) -> None:
    message, hint = break_source(shop)
    output = failed_cleanly(run_cli("build", cwd=shop))
    assert f"✗ shop.items failed: {message}" in output
    assert f"hint: {hint}" in output.replace(str(shop.resolve()) + "/", "")
    # Only this product fails: the one reading it is reported, the independent one is built.
    assert "✗ shop.summary not built: upstream shop.items failed" in output
    assert "✓ catalog.tags 1.0.0 published" in output
    [run] = runs(shop, "shop.items")
    assert run["status"] == "failed"
    assert message in run["error"]


# --- transforms ---------------------------------------------------------------------------------


def test_sql_that_does_not_parse_is_reported_at_its_line(shop: Path) -> None:
    write(shop / TRANSFORM, "select\n    id as item_id,\n    name as label\nfrom raw_items where id +\n")
    output = failed_cleanly(run_cli("build", "shop.items", cwd=shop))
    assert f"{TRANSFORM}:4:" in output
    assert "SQL does not parse" in output
    assert "hint: fix the SQL in this file" in output
    assert not runs(shop, "shop.items"), "nothing is built from an invalid workspace"


@pytest.mark.parametrize(
    ("sql", "line", "message", "hint"),
    [
        pytest.param(
            ITEMS_SQL.replace("name  as", "nme   as"),
            3,
            'Referenced column "nme" not found in FROM clause',
            "check the column names of the inputs (raw_items)",
            id="unknown-column",
        ),
        pytest.param(
            ITEMS_SQL.replace("from raw_items", "from raw_itemz"),
            4,
            "Table with name raw_itemz does not exist",
            "reference input ports by name: raw_items",
            id="unknown-input",
        ),
    ],
)
def test_sql_that_fails_in_the_engine_is_reported_at_its_line(
    shop: Path, sql: str, line: int, message: str, hint: str
) -> None:
    write(shop / TRANSFORM, sql)
    output = failed_cleanly(run_cli("build", "shop.items", cwd=shop))
    assert f"✗ shop.items failed: {TRANSFORM}:{line}: transform SQL failed: " in output
    assert message in output
    assert f"hint: {hint}" in output
    [run] = runs(shop, "shop.items")
    assert run["status"] == "failed"
    assert run["error"].startswith("shop.items: ")
    assert message in run["error"]


def test_columns_that_do_not_match_the_contract_are_listed(shop: Path) -> None:
    write(shop / TRANSFORM, "select\n    id as item_id,\n    name as title\nfrom raw_items\n")
    output = failed_cleanly(run_cli("build", "shop.items", cwd=shop))
    assert (
        "✗ shop.items failed: the transform's columns do not match the contract: "
        f"missing label; unexpected title ({TRANSFORM})"
    ) in output
    assert "hint: rename columns in the transform (select x as y) or update the contract" in output


def test_a_value_that_does_not_fit_the_contract_type_is_named(shop: Path) -> None:
    # The contract says item_id is a bigint; the transform delivers the names.
    write(shop / TRANSFORM, "select\n    name  as label,\n    name  as item_id\nfrom raw_items\n")
    output = failed_cleanly(run_cli("build", "shop.items", cwd=shop))
    assert "✗ shop.items failed: the data does not fit the contract's types:" in output
    assert "item_id (2 value(s) such as 'apple' are not BIGINT)" in output
    assert f"transform {TRANSFORM}" in output
    assert "contract domains/shop/items/items.odcs.yaml" in output
    assert f"{TRANSFORM}:1:" not in output, "the contract's cast is on no line of the transform"
    assert "hint: cast or clean these columns in the transform, or fix the contract's" in output
    assert [r["status"] for r in runs(shop, "shop.items")] == ["failed"]


@pytest.mark.parametrize(
    "cast",
    [
        pytest.param("cast(name as integer)", id="cast-pushed-into-the-csv-reader"),
        pytest.param("cast(name || '' as integer)", id="cast-of-an-expression"),
    ],
)
def test_a_cast_that_fails_inside_the_transform_is_the_product_failure(shop: Path, cast: str) -> None:
    write(shop / TRANSFORM, f"select\n    id as item_id,\n    {cast} as label\nfrom raw_items\n")
    output = failed_cleanly(run_cli("build", "shop.items", cwd=shop))
    assert "✗ shop.items failed:" in output
    assert "apple" in output
    assert TRANSFORM in output
    assert [r["status"] for r in runs(shop, "shop.items")] == ["failed"]


# --- products that read products -----------------------------------------------------------------


def test_an_upstream_product_never_built_says_to_build_it_first(shop: Path) -> None:
    output = failed_cleanly(run_cli("build", "shop.summary", cwd=shop))
    assert "✗ shop.summary failed: input product shop.items has no published version" in output
    assert "hint: build it first: quanta build +shop.items" in output
    assert [r["status"] for r in runs(shop, "shop.summary")] == ["failed"]
    assert not runs(shop, "shop.items")


def test_downstream_of_a_failed_product_is_reported_not_built(shop: Path) -> None:
    write(shop / TRANSFORM, "select\n    name as item_id,\n    name as label\nfrom raw_items\n")
    output = failed_cleanly(run_cli("build", cwd=shop))
    assert "✗ shop.items failed:" in output
    assert "✗ shop.summary not built: upstream shop.items failed" in output
    assert "hint: fix shop.items first, then: quanta build shop.items+" in output
    assert "✓ catalog.tags 1.0.0 published" in output
    assert "✗ 1 published, 0 unchanged, 2 failed" in output

    results = build_json(shop)
    assert results["shop.items"]["status"] == "failed"
    assert results["shop.summary"]["status"] == "not built"
    assert results["shop.summary"]["error"] == "upstream shop.items failed"
    assert "shop.items" in results["shop.summary"]["hint"]
    assert not runs(shop, "shop.summary"), "a product that was not built has no run"
