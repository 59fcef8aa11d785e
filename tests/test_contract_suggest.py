"""``quanta contract suggest``: tighter rules from a product's published history (issue 16, part 4:
"start loose, tighten later"): suggested with their evidence, shown as a diff, written by ``--apply``
into a contract that still validates and passes the next build; a rule the data contradicts is not
suggested."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from quanta.mesh import Mesh
from tests.conftest import run_cli

LOOSE = """\
apiVersion: v3.1.0
kind: DataContract
id: shop.orders.orders
name: orders
version: 0.1.0
status: draft
domain: shop
dataProduct: shop.orders
schema:
  - name: orders
    physicalType: table
    properties:
      # the first publish had no time for more than names and types
      - name: order_id
        logicalType: integer
      - name: code
        logicalType: string
        required: false  # not sure yet
      - name: status
        logicalType: string
      - name: amount
        logicalType: number
        logicalTypeOptions:
          minimum: 0
      - name: note
        logicalType: string
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
"""


def _rows(start: int, count: int, *, note_nulls: bool) -> str:
    lines = ["order_id,code,status,amount,note"]
    for i in range(start, start + count):
        note = "" if note_nulls and i % 5 == 0 else f"note {i}"
        lines.append(f"{i},AB-{i:04d},{['open', 'paid', 'shipped'][i % 3]},{i * 2.5:.2f},{note}")
    return "\n".join(lines) + "\n"


def _product(workspace: Path) -> Path:
    made = run_cli(
        "new", "files", "--domain", "shop", "--name", "orders",
        "--data", "source_path=orders.csv", cwd=workspace,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    contract = workspace / "domains/shop/orders/orders.odcs.yaml"
    contract.write_text(LOOSE)
    return contract


def _publish(workspace: Path, csv: str) -> None:
    (workspace / "orders.csv").write_text(csv)
    [result] = Mesh.open(workspace).build(["shop.orders"])
    assert result.status == "published", result


def test_history_supports_tighter_rules_which_apply_validates_and_builds(workspace: Path) -> None:
    contract = _product(workspace)
    _publish(workspace, _rows(1, 30, note_nulls=True))  # nulls in note: it never becomes required
    _publish(workspace, _rows(1, 40, note_nulls=False))
    _publish(workspace, _rows(1, 50, note_nulls=False))

    shown = run_cli("contract", "suggest", "shop.orders", cwd=workspace)
    assert shown.returncode == 0, shown.stderr
    assert contract.read_text() == LOOSE  # without --apply nothing is written
    assert "--- a/" in shown.stdout and "+++ b/" in shown.stdout
    assert "never null in 3 publishes (120 rows in all)" in shown.stdout

    found = json.loads(run_cli("contract", "suggest", "shop.orders", "--json", cwd=workspace).stdout)
    rules = {
        (s["column"], s["rule"], "/".join(s["key"])): s["value"] for s in found["tightened"]["suggestions"]
    }
    assert rules[("order_id", "required", "required")] is True
    assert rules[("order_id", "unique", "unique")] is True
    assert rules[("order_id", "range", "logicalTypeOptions/minimum")] == 0
    assert rules[("order_id", "range", "logicalTypeOptions/maximum")] == 55
    assert rules[("code", "required", "required")] is True
    assert rules[("code", "pattern", "logicalTypeOptions/pattern")] == r"^[A-Z]{2}\-[0-9]{4}$"
    assert rules[("status", "enum", "quality")]["arguments"]["validValues"] == ["open", "paid", "shipped"]
    assert ("amount", "range", "logicalTypeOptions/minimum") not in rules  # the contract has one
    assert rules[("amount", "range", "logicalTypeOptions/maximum")] == 140
    assert not any(column == "note" and rule == "required" for column, rule, _ in rules)  # contradicted
    assert ("note", "unique", "unique") not in rules  # distinct by accident: not named like a key

    applied = run_cli("contract", "suggest", "shop.orders", "--apply", cwd=workspace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    text = contract.read_text()
    assert "# the first publish had no time for more than names and types" in text  # comments kept
    assert "required: true  # never null in 3 publishes" in text and "not sure yet" not in text
    names = [line.strip() for line in text.splitlines() if line.strip().startswith("- name:")]
    assert names == [f"- name: {n}" for n in ("orders", "order_id", "code", "status", "amount", "note")]
    assert run_cli("validate", "domains/shop/orders", cwd=workspace).returncode == 0
    _publish(workspace, _rows(1, 50, note_nulls=False))  # the next build passes the tighter contract
    again = run_cli("contract", "suggest", "shop.orders", "--json", cwd=workspace)
    assert json.loads(again.stdout)["tightened"]["suggestions"] == []  # nothing left to add

    (workspace / "orders.csv").write_text(_rows(1, 50, note_nulls=False) + "51,AB-0051,lost,1.00,x\n")
    [failed] = Mesh.open(workspace).build(["shop.orders"])
    assert failed.status == "failed"  # a value outside the allowed ones is caught now


def test_too_little_history_is_refused_clearly(workspace: Path) -> None:
    _product(workspace)
    _publish(workspace, _rows(1, 10, note_nulls=False))
    done = run_cli("contract", "suggest", "shop.orders", cwd=workspace)
    assert done.returncode == 1
    assert (
        "has 1 publish(es): suggestions need at least 2" in done.stderr and "--min-publishes" in done.stderr
    )
    unknown = run_cli("contract", "suggest", "shop.nothing", cwd=workspace)
    assert unknown.returncode == 1 and "not a product of this workspace" in unknown.stderr
    assert "Traceback" not in done.stderr + unknown.stderr


def _drifting(statuses: list[str], amount: Callable[[int], float]) -> str:
    lines = ["order_id,code,status,amount,note"]
    lines += [f"{i},AB-{i:04d},{statuses[i % len(statuses)]},{amount(i):.2f},n{i}" for i in range(1, 31)]
    return "\n".join(lines) + "\n"


def test_allowed_values_and_ranges_hold_across_every_publish(workspace: Path) -> None:
    """Values drift across three publishes (each a full refresh): the allowed values are the union of
    all three and the range spans all three, widened by a margin the evidence shows; the latest publish
    alone would have dropped 'open' and cut the range to 24..140."""
    contract = _product(workspace)
    _publish(workspace, _drifting(["open", "paid"], lambda i: i * 2.0))  # 2 to 60
    _publish(workspace, _drifting(["open", "paid", "shipped"], lambda i: i * 10.0))  # 10 to 300
    _publish(workspace, _drifting(["paid", "shipped", "cancelled"], lambda i: 20 + i * 4.0))  # 24 to 140

    found = json.loads(run_cli("contract", "suggest", "shop.orders", "--json", cwd=workspace).stdout)
    by_rule = {(s["column"], s["rule"], s["key"][-1]): s for s in found["tightened"]["suggestions"]}
    status = by_rule[("status", "enum", "quality")]
    assert status["value"]["arguments"]["validValues"] == ["cancelled", "open", "paid", "shipped"]
    assert "only these 4 values in 3 publishes (90 rows in all)" in status["evidence"]
    assert "open only in earlier publishes" in status["evidence"]
    amount = by_rule[("amount", "range", "maximum")]
    assert amount["value"] == 330  # 2 to 300 across the three, + 10% of 298, rounded up
    assert (
        "observed 2.0 to 300.0 across 3 publishes (90 rows in all; 24.0 to 140.0 now)" in amount["evidence"]
    )
    assert "widened by 10% of the spread (29.8) and rounded out" in amount["evidence"]
    assert by_rule[("order_id", "range", "maximum")]["value"] == 33

    applied = run_cli("contract", "suggest", "shop.orders", "--apply", cwd=workspace)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    text = contract.read_text()
    assert "maximum: 330  # observed 2.0 to 300.0 across 3 publishes" in text
    # data like the first publish's still passes: 'open' and the old range are allowed
    _publish(workspace, _drifting(["open", "paid"], lambda i: i * 10.0))
    (workspace / "orders.csv").write_text(_drifting(["open", "lost"], lambda i: i * 2.0))
    [failed] = Mesh.open(workspace).build(["shop.orders"])
    assert failed.status == "failed"  # a value no publish ever had is caught
