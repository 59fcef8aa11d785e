"""Acceptance (issue 16): a newcomer with a CSV gets a published, tested, discoverable product in under a
minute, by the commands ``quanta new`` prints, and the lead-time KPI records it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import run_cli

CSV = "sku,product_name,unit_price,stock\n" + "".join(
    f"SKU-{i:04d},Widget {i},{i * 0.75:.2f},{i % 9}\n" for i in range(1, 201)
)


def test_from_a_csv_to_a_published_discoverable_product_in_a_minute(tmp_path: Path) -> None:
    started = time.monotonic()
    assert run_cli("init", "shop", cwd=tmp_path).returncode == 0
    root = tmp_path / "shop"
    (root / "inventory.csv").write_text(CSV)

    made = run_cli("new", "--from", "inventory.csv", "--domain", "retail", cwd=root)
    assert made.returncode == 0, made.stderr
    steps = [line.strip() for line in made.stdout.splitlines() if line.strip().startswith("quanta ")]
    assert steps == ["quanta validate domains/retail/inventory", "quanta build retail.inventory"]
    for step in steps:  # the next two commands, as printed
        done = run_cli(*step.split()[1:], cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr

    tested = run_cli("test", "retail.inventory", cwd=root)  # the published data passes its inferred contract
    assert tested.returncode == 0, tested.stdout + tested.stderr
    found = run_cli("search", "inventory", "--json", cwd=root)
    assert found.returncode == 0, found.stderr
    assert [hit["product_id"] for hit in json.loads(found.stdout)["hits"]] == ["retail.inventory"]
    kpis = json.loads(run_cli("kpis", "--json", cwd=root).stdout)
    [lead] = [t for t in kpis["lead_times"] if t["product_id"] == "retail.inventory"]
    assert lead["first_published_at"] is not None and lead["hours"] < 1
    assert time.monotonic() - started < 60
