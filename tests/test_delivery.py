"""File delivery: every new version of a product written into a subscriber's folder (Parquet or CSV,
whole or as changes) with a manifest, atomically, as the subscriber reads it, under the egress
policies, retried through the outbox.

On the granted demo: ana (column-scoped grant on customers.customers, name hashed, phone last 4) and
the local admin subscribe; then customers.customers 2.0.0 is published with account_balance classified
restricted, which the egress policy lets no export carry in clear.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from quanta.mesh import DeliveryRefused, Mesh
from tests.conftest import mesh_as, run_cli
from tests.test_changes import PRODUCT, publish_changed_customers

LATER = timedelta(days=1)
"""Past any backoff and claim lease: what ``quanta deliver --now`` does."""


@pytest.fixture(scope="module")
def folders(granted_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Subscriptions made on 1.0.0, then 2.0.0 published (the build delivers it)."""
    base = tmp_path_factory.mktemp("deliveries")
    found = {name: base / name for name in ("changes", "admin", "blocked", "csv")}
    (base / "not-a-folder").write_text("a file where a folder should be")
    found["blocked"] = base / "not-a-folder" / "inbox"
    ana = mesh_as(granted_demo, "ana")
    ana.subscribe_delivery(PRODUCT, found["changes"], format="parquet", mode="changes")
    ana.subscribe_delivery(PRODUCT, found["blocked"], format="parquet", mode="full")
    Mesh.open(granted_demo).subscribe_delivery(PRODUCT, found["admin"], format="parquet", mode="full")
    first = ana.deliver()
    assert (first.delivered, first.retrying) == (2, 1), first.errors  # the blocked folder waits
    cli = run_cli("subscribe", PRODUCT, "--deliver", str(found["csv"]), "--format", "csv", cwd=granted_demo,
                  env={"QUANTA_USER": "ana"})  # fmt: skip
    assert cli.returncode == 0 and "delivered now: 1" in cli.stderr, cli.stderr
    publish_changed_customers(granted_demo, "2.0.0", restricted_balance=True)
    return found


def _manifest(folder: Path, stem: str) -> dict[str, object]:
    manifest: dict[str, object] = json.loads((folder / f"{stem}.manifest.json").read_text())
    return manifest


def test_changes_mode_delivers_the_first_version_whole_then_changes(folders: dict[str, Path]) -> None:
    folder = folders["changes"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "customers.customers@1.0.0..2.0.0.manifest.json",
        "customers.customers@1.0.0..2.0.0.parquet",
        "customers.customers@1.0.0.manifest.json",
        "customers.customers@1.0.0.parquet",
    ]
    full = _manifest(folder, f"{PRODUCT}@1.0.0")
    assert (full["mode"], full["rows"], full["version"]) == ("full", 1500, "1.0.0")
    manifest = _manifest(folder, f"{PRODUCT}@1.0.0..2.0.0")
    assert (manifest["mode"], manifest["since"], manifest["version"]) == ("changes", "1.0.0", "2.0.0")
    assert manifest["masked"] == {PRODUCT: {"name": "hash", "phone": "last4"}}
    assert [c["name"] for c in manifest["schema"]] == [  # type: ignore[attr-defined]
        "_change", "_version", "customer_id", "name", "phone", "market_segment",
    ]  # fmt: skip
    [file] = manifest["files"]  # type: ignore[misc]
    data = folder / file["name"]
    assert file["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest() and file["rows"] == 4
    table = pq.read_table(data)
    assert [(r["_change"], r["customer_id"]) for r in table.to_pylist()] == [
        ("update_before", 1), ("update_after", 1), ("delete", 2), ("insert", 999999),
    ]  # fmt: skip
    assert "Customer#000000001" not in str(table.to_pylist())


def test_csv_delivery_made_by_the_cli_holds_the_masks(folders: dict[str, Path]) -> None:
    table = pcsv.read_csv(folders["csv"] / f"{PRODUCT}@2.0.0.csv")
    assert table.num_rows == 1500 and table.column_names == ["customer_id", "name", "phone", "market_segment"]
    assert all(str(p).startswith("****") for p in table.column("phone").to_pylist())


def test_egress_policy_refuses_and_is_not_retried(granted_demo: Path, folders: dict[str, Path]) -> None:
    names = sorted(p.name for p in folders["admin"].iterdir())
    assert names == [f"{PRODUCT}@1.0.0.manifest.json", f"{PRODUCT}@1.0.0.parquet"]  # 2.0.0 refused
    admin = Mesh.open(granted_demo)
    [refused] = [d for d in admin.alert_deliveries() if d.kind == "file" and d.status == "failed"]
    assert "export refused by policy" in (refused.last_error or "") and refused.attempts == 1


def test_a_failed_delivery_is_retried_once_the_folder_is_fixed(
    granted_demo: Path, folders: dict[str, Path]
) -> None:
    blocked = folders["blocked"]
    waiting = [d for d in Mesh.open(granted_demo).alert_deliveries(status="pending") if d.kind == "file"]
    assert len(waiting) == 2 and all("Not a directory" in (d.last_error or "") for d in waiting)
    blocked.parent.unlink()
    blocked.mkdir(parents=True)
    cli = run_cli("deliver", "--now", cwd=granted_demo, env={"QUANTA_USER": "ana"})
    assert cli.returncode == 0, cli.stderr
    assert "delivered 2" in cli.stderr
    assert (blocked / f"{PRODUCT}@2.0.0.parquet").exists() and (blocked / f"{PRODUCT}@1.0.0.parquet").exists()


def test_a_crash_mid_delivery_leaves_nothing_visible_and_is_redelivered(
    granted_demo: Path, folders: dict[str, Path], tmp_path: Path
) -> None:
    ana = mesh_as(granted_demo, "ana")
    folder = tmp_path / "inbox"
    subscription = ana.subscribe_delivery(PRODUCT, folder, format="parquet", mode="full")
    # a deliverer claims the delivery, starts writing, and dies: its claim lapses
    [claimed] = ana.registry.claim_deliveries(datetime.now(UTC), timedelta(minutes=2), files=True)
    assert claimed.payload == {"subscription": subscription.id, "version": "2.0.0"}
    folder.mkdir()
    (folder / ".quanta-partial-dead.parquet").write_bytes(b"PAR1 half a file")
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == []
    report = ana.deliver(now=datetime.now(UTC) + LATER)
    assert report.delivered == 1, report.errors
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{PRODUCT}@2.0.0.manifest.json",
        f"{PRODUCT}@2.0.0.parquet",
    ]


def test_bad_subscriptions_are_refused(granted_demo: Path, tmp_path: Path) -> None:
    with pytest.raises(DeliveryRefused, match=r"may not read customers\.customers"):
        mesh_as(granted_demo, "carl").subscribe_delivery(PRODUCT, tmp_path)
    with pytest.raises(DeliveryRefused, match="cannot deliver 'xlsx' files"):
        mesh_as(granted_demo, "ana").subscribe_delivery(PRODUCT, tmp_path, format="xlsx")
    cli = run_cli("subscribe", PRODUCT, "--deliver", str(tmp_path), "--mode", "sometimes", cwd=granted_demo)
    assert cli.returncode != 0 and "unknown delivery mode" in cli.stderr and "Traceback" not in cli.stderr
