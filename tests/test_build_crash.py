"""Crash safety of write-audit-publish on the demo mesh.

A ``quanta build`` killed (SIGKILL, through the runner's fault-injection points) at any stage never
shows consumers a partial version; the registry and Iceberg stay consistent; the next build repairs what
the dead one left and publishes the new rows exactly once. A contract violation is quarantined and
consumers keep the previous version byte for byte.

Consumers read what the registry's current publish names (``Mesh.query`` resolves the snapshot from the
registry, not from Iceberg's ``main``), so once the publish is *recorded* the new version is visible, and
complete, even if the process dies before Iceberg's pointer moves; the next build moves it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from sqlalchemy import update

from quanta.build.context import FAULT_ENV
from quanta.mesh import Mesh
from quanta.registry.models import Lock
from quanta.registry.stores.publishing import PublishRecord
from quanta.settings import Settings
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

PRODUCT, PORT, CURSOR_PORT = "sales.orders", "orders", "raw_orders"
ORDERS = Path("data/drops/orders")
CONSUMER_SQL = "select * from sales.orders order by order_id"
BEFORE_RECORD = ("written", "staged", "audited")
AFTER_RECORD = ("recorded", "published")
NEW_ROWS = 3
LAST_ORDER_DATE = date(1998, 12, 31)  # the contract's maximum for order_date


def quanta(*args: str, cwd: Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI; ``fault`` makes the build kill itself at that stage."""
    return run_cli(*args, cwd=cwd, env={FAULT_ENV: fault} if fault else None)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo mesh at scale 0.01, generated and built once by the real CLI."""
    root = tmp_path_factory.mktemp("crash") / "demo"
    result = quanta("demo", "--scale", "0.01", "--dir", str(root), cwd=root.parent)
    assert result.returncode == 0, output(result)
    return root


@pytest.fixture
def ws(demo: Path) -> Iterator[Path]:
    """The shared demo workspace. Afterwards bad drops are removed, and a dead build's lease (a test
    that stopped half way) is expired and settled by a clean build, so the next test starts clean."""
    yield demo
    for bad in (demo / ORDERS).glob("orders-bad-*.csv"):
        bad.unlink()
    if expire_leases(demo):
        result = quanta("build", PRODUCT, cwd=demo)
        assert result.returncode == 0, output(result)


def mesh(root: Path) -> Mesh:
    return Mesh.open(root, settings=Settings(database_url=None, workspace=root))


def consumer_view(root: Path) -> pa.Table:
    """Every row consumers see, in a fixed order."""
    return mesh(root).query(CONSUMER_SQL)


def digest(table: pa.Table) -> str:
    """SHA-256 of the table as CSV: the bytes ``quanta query --format csv`` prints."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def current(root: Path) -> PublishRecord:
    record = mesh(root).registry.current_publish(PRODUCT)
    assert record is not None
    return record


def append_orders(root: Path, name: str, changes: dict[int, dict[str, str]] | None = None) -> list[int]:
    """A new CSV drop of ``NEW_ROWS`` orders past the cursor: real 1998 rows with fresh keys and the day
    after the cursor. ``changes`` overrides fields of some rows (by position). Returns the new keys."""
    cursor = date.fromisoformat(current(root).cursors[CURSOR_PORT])
    day = cursor + timedelta(days=1)
    assert day <= LAST_ORDER_DATE, "the tests ran out of valid order dates"
    top = mesh(root).query("select max(order_id) as top from sales.orders").column("top")[0].as_py()
    with (root / ORDERS / "orders-1998.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        template = [row for _, row in zip(range(NEW_ROWS), reader, strict=False)]
        fields = list(reader.fieldnames or [])
    keys = list(range(top + 1, top + 1 + NEW_ROWS))
    rows = [
        {**row, "o_orderkey": str(key), "o_orderdate": day.isoformat(), **(changes or {}).get(n, {})}
        for n, (row, key) in enumerate(zip(template, keys, strict=True))
    ]
    with (root / ORDERS / f"orders-{name}.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return keys


def runs(root: Path) -> list[dict[str, Any]]:
    """``quanta runs sales.orders --json``: what a user sees of the product's builds."""
    result = quanta("runs", PRODUCT, "--limit", "1000", "--json", cwd=root)
    assert result.returncode == 0, output(result)
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


def run_ids(root: Path) -> set[str]:
    return {r.id for r in mesh(root).runs(PRODUCT, limit=1000)}


def crash(root: Path, stage: str) -> str:
    """Build with the fault injected at ``stage``; asserts the process died by SIGKILL; returns its run."""
    known = run_ids(root)
    result = quanta("build", PRODUCT, cwd=root, fault=stage)
    assert result.returncode == -signal.SIGKILL, output(result)
    [killed] = run_ids(root) - known
    return killed


def expire_leases(root: Path) -> int:
    """Age every lease past its expiry, as if the two hours a dead build keeps its lease had passed
    (a build right after a crash is refused: see test_a_build_right_after_a_crash_takes_over).
    Returns how many leases there were."""
    with mesh(root).registry.session() as s:
        aged = s.execute(update(Lock).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        return int(aged.rowcount)


def branches(root: Path) -> set[str]:
    return set(mesh(root).warehouse.table(PRODUCT, PORT).refs())


def rebuild(root: Path) -> dict[str, Any]:
    """A build without fault; returns the result for the product."""
    result = quanta("build", PRODUCT, "--json", cwd=root)
    assert result.returncode == 0, output(result)
    [built] = json.loads(result.stdout)["results"]
    assert built["product_id"] == PRODUCT
    return dict(built)


def assert_previous_plus(seen: pa.Table, before: pa.Table, keys: list[int]) -> None:
    """``seen`` is exactly ``before`` plus the new orders, each once: no partial, no duplicate."""
    ids = seen.column("order_id")
    assert seen.num_rows == before.num_rows + len(keys)
    assert pc.count_distinct(ids).as_py() == seen.num_rows
    is_new = pc.is_in(ids, value_set=pa.array(keys, pa.int64()))
    assert digest(seen.filter(pc.invert(is_new))) == digest(before)
    assert sorted(seen.filter(is_new).column("order_id").to_pylist()) == keys


def assert_registry_matches_iceberg(root: Path, *, pointer_moved: bool = True) -> None:
    """Every publish names a snapshot that exists, with the rows it recorded; Iceberg's current snapshot
    is the current publish's (``pointer_moved=False``: the window a crash at ``recorded`` leaves)."""
    m = mesh(root)
    table = m.warehouse.table(PRODUCT, PORT)
    publishes = m.registry.publishes(PRODUCT)
    for publish in publishes:
        snapshot = publish.snapshots[PORT]
        assert table.snapshot_by_id(snapshot) is not None, f"publish {publish.run_id}: no snapshot {snapshot}"
        assert m.warehouse.rows(PRODUCT, PORT, snapshot) == publish.rows[PORT]
    iceberg = m.warehouse.current_snapshot(PRODUCT, PORT)
    if pointer_moved:
        assert iceberg == publishes[-1].snapshots[PORT]
    else:
        assert iceberg == publishes[-2].snapshots[PORT]


@pytest.mark.parametrize("stage", [*BEFORE_RECORD, *AFTER_RECORD])
def test_a_build_killed_at_any_stage_never_shows_a_partial_version(ws: Path, stage: str) -> None:
    before = consumer_view(ws)
    previous = current(ws)
    published_before = len(mesh(ws).registry.publishes(PRODUCT))
    keys = append_orders(ws, f"crash-{stage}")

    killed = crash(ws, stage)

    seen = consumer_view(ws)
    status = {r.id: r.status for r in mesh(ws).runs(PRODUCT, limit=1000)}
    if stage in BEFORE_RECORD:
        # Nothing recorded: consumers stay on the previous version, byte for byte.
        assert digest(seen) == digest(before)
        assert current(ws).run_id == previous.run_id
        assert status[killed] == "running"  # nobody has looked yet
        assert_registry_matches_iceberg(ws)
    else:
        # The publish is recorded, and the registry is what consumers read: the complete new version.
        assert_previous_plus(seen, before, keys)
        assert current(ws).run_id == killed
        assert status[killed] == "published"
        assert_registry_matches_iceberg(ws, pointer_moved=stage == "published")

    expire_leases(ws)
    built = rebuild(ws)

    # Before the record the new rows are published now; after it they already were (nothing past the cursor).
    assert built["status"] == ("published" if stage in BEFORE_RECORD else "skipped")
    status = {r["id"]: r["status"] for r in runs(ws)}
    assert status[killed] == ("crashed" if stage in BEFORE_RECORD else "published")
    assert status[built["run_id"]] == built["status"]
    assert_previous_plus(consumer_view(ws), before, keys)
    final = current(ws)
    assert final.rows[PORT] == previous.rows[PORT] + NEW_ROWS
    assert final.run_id == (built["run_id"] if stage in BEFORE_RECORD else killed)
    assert len(mesh(ws).registry.publishes(PRODUCT)) == published_before + 1
    assert_registry_matches_iceberg(ws)


def test_a_build_right_after_a_crash_takes_over(ws: Path) -> None:
    before = consumer_view(ws)
    keys = append_orders(ws, "lease")
    killed = crash(ws, "staged")

    result = quanta("build", PRODUCT, cwd=ws)

    assert result.returncode == 0, output(result)
    assert {r["id"]: r["status"] for r in runs(ws)}[killed] == "crashed"
    assert_previous_plus(consumer_view(ws), before, keys)


@pytest.mark.parametrize("stage", AFTER_RECORD)
def test_a_publish_completed_after_a_crash_is_announced(ws: Path, stage: str) -> None:
    append_orders(ws, f"event-{stage}")
    killed = crash(ws, stage)
    expire_leases(ws)
    rebuild(ws)

    events = mesh(ws).registry.events(subject=PRODUCT, kind="product.published", limit=1000)
    assert killed in {e.payload.get("run") for e in events}


@pytest.mark.parametrize("stage", ["staged", "recorded"])
def test_the_next_build_removes_a_dead_build_staging_branch(ws: Path, stage: str) -> None:
    append_orders(ws, f"branch-{stage}")
    killed = crash(ws, stage)
    assert f"wap-{killed}" in branches(ws)
    expire_leases(ws)
    rebuild(ws)

    assert f"wap-{killed}" not in branches(ws)


BAD_ROWS = [
    pytest.param(
        {"o_orderpriority": "URGENT!!"},
        "invalidValues of priority",
        "select order_id, priority from sales.orders where priority = 'URGENT!!'",
        {"priority": "URGENT!!"},
        id="unknown-priority",
    ),
    pytest.param(
        {"o_orderkey": ""},
        "order_id is required",
        "select order_id, priority from sales.orders where order_id is null",
        {"order_id": None},
        id="null-order-key",
    ),
]


@pytest.mark.parametrize(("bad", "check", "sql", "found"), BAD_ROWS)
def test_a_contract_violation_is_quarantined_and_consumers_keep_the_previous_version(
    ws: Path, bad: dict[str, str], check: str, sql: str, found: dict[str, Any]
) -> None:
    read = ("query", CONSUMER_SQL, "--format", "csv")
    before = quanta(*read, cwd=ws)
    assert before.returncode == 0, output(before)
    previous = current(ws)
    known = run_ids(ws)
    append_orders(ws, "bad-" + check.replace(" ", "-"), changes={1: bad})

    result = quanta("build", PRODUCT, cwd=ws)

    text = " ".join(output(result).split())
    assert result.returncode == 1, text
    assert "Traceback" not in text
    [run] = [r for r in mesh(ws).runs(PRODUCT, limit=1000) if r.id not in known]
    assert run.status == "failed"
    assert f"✗ {PRODUCT} failed:" in text
    assert f"contract checks failed, nothing published: {check}" in text
    assert f"hint: inspect it: quanta quarantine show {PRODUCT} {run.id}" in text

    listed = quanta("quarantine", "ls", "--json", cwd=ws)
    assert listed.returncode == 0, output(listed)
    [entry] = [q for q in json.loads(listed.stdout) if q["run_id"] == run.id]
    assert (entry["product_id"], entry["port"]) == (PRODUCT, PORT)
    assert entry["properties"]["added-records"] == str(NEW_ROWS)

    queried = quanta("quarantine", "query", PRODUCT, run.id, sql, "--json", cwd=ws)
    assert queried.returncode == 0, output(queried)
    [row] = json.loads(queried.stdout)
    assert row.items() >= found.items()

    shown = quanta("quarantine", "show", PRODUCT, run.id, cwd=ws)
    assert shown.returncode == 0, output(shown)
    table = " ".join(shown.stdout.split())
    assert f"{check} │ failed" in table
    assert table.count("│ failed │") == 1, table

    after = quanta(*read, cwd=ws)
    assert after.returncode == 0, output(after)
    assert after.stdout == before.stdout
    assert current(ws).run_id == previous.run_id
    assert_registry_matches_iceberg(ws)
