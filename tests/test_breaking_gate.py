"""The breaking-change gate on apply, `quanta diff`, and `quanta ci` on the demo mesh."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from quanta.errors import NotFoundError, RegistryError
from quanta.mesh import Mesh
from tests.conftest import run_cli

CONTRACT = Path("domains/sales/orders/orders.odcs.yaml")
PRODUCT = Path("domains/sales/orders/product.yaml")
COMMENT = """      - name: comment
        logicalType: string
        physicalType: varchar
        description: Free-text comment.
        classification: internal
"""


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Mesh:
    root = tmp_path / "demo"
    Mesh.init(root, demo=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("QUANTA_DATABASE_URL", raising=False)
    mesh = Mesh.open(root)
    mesh.apply()
    return mesh


def drop_comment(contract_version: str, product_version: str) -> None:
    text = CONTRACT.read_text()
    assert COMMENT in text
    CONTRACT.write_text(
        text.replace(COMMENT, "").replace("version: 1.0.0", f"version: {contract_version}", 1)
    )
    PRODUCT.write_text(PRODUCT.read_text().replace("version: 1.0.0", f"version: {product_version}", 1))


def test_breaking_change_without_a_major_bump_is_refused(demo: Mesh) -> None:
    drop_comment("1.1.0", "1.1.0")
    with pytest.raises(RegistryError) as info:
        demo.apply()
    assert "property.removed" in info.value.message or "comment" in info.value.message
    assert "2.0.0" in (info.value.hint or "")
    assert [v.version for v in demo.registry.versions("sales.orders")] == ["1.0.0"]


def test_major_bump_passes_and_consumers_are_told(demo: Mesh) -> None:
    drop_comment("2.0.0", "2.0.0")
    demo.apply()
    assert [v.version for v in demo.registry.versions("sales.orders")] == ["1.0.0", "2.0.0"]
    told = {e.subject for e in demo.registry.events(kind="contract.breaking_change")}
    assert told == {"finance.revenue_by_nation", "marketing.customer_segments"}


def test_non_breaking_change_needs_no_major(demo: Mesh) -> None:
    text = CONTRACT.read_text().replace("Free-text comment.", "Free-text comment from the clerk.")
    CONTRACT.write_text(text.replace("version: 1.0.0", "version: 1.0.1", 1))
    PRODUCT.write_text(PRODUCT.read_text().replace("version: 1.0.0", "version: 1.0.1", 1))
    report = demo.apply()
    assert {a.registration.product_id for a in report.applied if a.registration.status == "new-version"} == {
        "sales.orders"
    }


def test_quanta_diff_between_a_file_and_the_registered_contract(demo: Mesh) -> None:
    drop_comment("1.1.0", "1.1.0")
    result = run_cli("diff", "sales.orders.orders", str(CONTRACT), "--json", cwd=Path.cwd())
    assert result.returncode == 1
    changes = json.loads(result.stdout)
    assert {(c["severity"], c["kind"]) for c in changes} >= {("breaking", "property.removed")}
    same = run_cli("diff", str(CONTRACT), str(CONTRACT), cwd=Path.cwd())
    assert same.returncode == 0 and "no changes" in same.stdout


def test_quanta_ci_reports_lint_gate_and_junit(demo: Mesh, tmp_path: Path) -> None:
    ok = run_cli("ci", cwd=Path.cwd())
    assert ok.returncode == 0, ok.stdout + ok.stderr
    drop_comment("1.1.0", "1.1.0")
    report = tmp_path / "ci.xml"
    failed = run_cli("ci", "--output", "junit", "--output-file", str(report), cwd=Path.cwd())
    assert failed.returncode == 1
    suites = {s.get("name"): s for s in ET.parse(report).getroot().iter("testsuite")}
    assert suites["breaking-changes"].get("failures") == "1"
    github = run_cli("ci", "--output", "github", cwd=Path.cwd())
    assert github.stdout.startswith("::error") and "sales.orders.orders 1.0.0 ► 1.1.0" in github.stdout


def test_previous_major_stays_readable_until_its_grace_period_ends(demo: Mesh) -> None:
    from quanta.build.demo_data import generate_demo_data

    generate_demo_data(Path.cwd(), 0.01)
    [first] = demo.build(["sales.orders"])
    drop_comment("2.0.0", "2.0.0")
    transform = Path("domains/sales/orders/transform.sql")
    transform.write_text(transform.read_text().replace(",\n    o_comment       as comment", ""))
    demo.apply()
    [second] = demo.build(["sales.orders"])
    assert (first.status, second.status) == ("published", "published"), second
    old = demo.query('select count(*) from "sales.orders@1.0.0"').column(0)[0].as_py()
    assert old > 0 and "comment" in demo.query('select * from "sales.orders@1.0.0" limit 1').column_names

    demo.settings.major_grace_days = 0
    with pytest.raises(NotFoundError) as info:
        demo.resolve("sales.orders@1.0.0")
    assert "retired on" in info.value.message and "2.0.0" in (info.value.hint or "")
    assert demo.resolve("sales.orders@2.0.0")[3].version == "2.0.0"
    result = run_cli(
        "query", 'select count(*) from "sales.orders@1.0.0"', env={"QUANTA_MAJOR_GRACE_DAYS": "0"}
    )
    assert result.returncode == 1 and "retired on" in result.stderr and "Traceback" not in result.stderr
