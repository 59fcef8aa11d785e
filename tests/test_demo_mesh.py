"""The demo mesh: scaffolded, valid, registered, and exportable as valid ODPS/ODCS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quanta.mesh import Mesh
from quanta.spec.formats.odps import to_odps
from quanta.spec.standards import validate_document
from quanta.spec.yamlsource import Document, parse_yaml
from tests.conftest import run_cli

DEMO_PRODUCTS = {
    "sales.orders": "source-aligned",
    "sales.lineitems": "source-aligned",
    "customers.customers": "source-aligned",
    "supply.parts": "source-aligned",
    "supply.suppliers": "source-aligned",
    "finance.revenue_by_nation": "consumer-aligned",
    "marketing.customer_segments": "consumer-aligned",
}


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Mesh:
    root = tmp_path / "demo"
    Mesh.init(root, demo=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("QUANTA_DATABASE_URL", raising=False)
    return Mesh.open(root)


def test_demo_validates_without_errors_or_warnings(demo: Mesh) -> None:
    result = demo.validate()
    assert result.problems == []
    assert {p.product.id for p in result.products} == set(DEMO_PRODUCTS)
    assert len(result.contracts) == 7


def test_demo_contracts_carry_real_rules(demo: Mesh) -> None:
    result = demo.validate()
    for loaded in result.contracts:
        contract = loaded.contract
        rules = [r for o in contract.objects for r in o.quality or []]
        rules += [r for o in contract.objects for p in o.properties or [] for r in p.quality or []]
        assert rules, f"{contract.id} has no quality rules"
        assert contract.sla_properties, f"{contract.id} has no SLA"
        assert any(p.primary_key for o in contract.objects for p in o.properties or [])
    customers = next(c.contract for c in result.contracts if c.contract.id == "customers.customers.customers")
    pii = {p.name for o in customers.objects for p in o.properties or [] if "pii" in (p.tags or [])}
    assert pii == {"name", "address", "phone"}


def test_consumer_aligned_products_build_on_others_and_the_legacy_warehouse(demo: Mesh) -> None:
    products = {p.product.id: p.product for p in demo.validate().products}
    revenue = products["finance.revenue_by_nation"]
    upstream = {p.product for p in revenue.input_ports or [] if p.product}
    assert upstream == {"sales.lineitems", "sales.orders", "customers.customers", "supply.suppliers"}
    sources = [p.source for p in revenue.input_ports or [] if p.source]
    assert sources and sources[0].type == "database"


def test_apply_registers_every_product_then_is_idempotent(demo: Mesh) -> None:
    first = demo.apply()
    assert {a.registration.status for a in first.applied} == {"new"}
    ids = [a.registration.product_id for a in first.applied]
    # Upstream products are registered before the products that read them.
    assert ids.index("sales.orders") < ids.index("finance.revenue_by_nation")
    assert ids.index("customers.customers") < ids.index("marketing.customer_segments")
    second = demo.apply()
    assert {a.registration.status for a in second.applied} == {"unchanged"}
    assert {p.id: p.type for p in demo.products()} == DEMO_PRODUCTS
    assert demo.registry.consumers("sales.orders") == [
        "finance.revenue_by_nation",
        "marketing.customer_segments",
    ]


@pytest.mark.parametrize("product_id", sorted(DEMO_PRODUCTS))
def test_every_demo_product_exports_valid_odps_and_odcs(demo: Mesh, product_id: str) -> None:
    demo.apply()
    odps = parse_yaml(demo.export("odps", product_id)).data
    assert validate_document(Document(odps, "odps"), "odps-json-schema-v1.0.0.json") == []
    assert odps["id"] == product_id
    for port in odps["outputPorts"]:
        contract = parse_yaml(demo.export("odcs", port["contractId"])).data
        assert validate_document(Document(contract, "odcs"), "odcs-json-schema-v3.2.0.json") == []


def test_odps_export_keeps_quanta_fields_and_imports_back(demo: Mesh, tmp_path: Path) -> None:
    demo.apply()
    text = demo.export("odps", "finance.revenue_by_nation")
    exported = tmp_path / "revenue.odps.yaml"
    exported.write_text(text)
    back = parse_yaml(demo.import_document("odps", exported)).data
    original = demo.product("finance.revenue_by_nation").descriptor
    # contractIds are filled in on export; everything the author wrote comes back.
    for port in back["inputPorts"]:
        port.pop("contractId", None)
        if port.get("version") == "latest":
            port.pop("version")
    for port in back["outputPorts"]:
        port.pop("contractId", None)
    assert back == original


def test_changed_product_needs_a_new_version(demo: Mesh) -> None:
    demo.apply()
    descriptor = Path("domains/sales/orders/product.yaml")
    text = descriptor.read_text()
    descriptor.write_text(text.replace("Every order placed", "Each order placed"))
    from quanta.errors import RegistryError

    with pytest.raises(RegistryError) as info:
        demo.apply()
    assert "1.0.1" in (info.value.hint or "")
    descriptor.write_text(
        text.replace("Every order placed", "Each order placed").replace("version: 1.0.0", "version: 1.1.0", 1)
    )
    report = demo.apply()
    changed = next(a for a in report.applied if a.registration.product_id == "sales.orders")
    assert changed.registration.status == "new-version"
    assert {c.path for c in changed.changes} == {"version", "description.purpose"}
    assert [v.version for v in demo.registry.versions("sales.orders")] == ["1.0.0", "1.1.0"]
    assert demo.product("sales.orders@1.0.0").descriptor["description"]["purpose"].startswith("Every")


def test_make_demo_path_through_the_cli(tmp_path: Path) -> None:
    assert run_cli("init", "mesh", "--demo", cwd=tmp_path).returncode == 0
    root = tmp_path / "mesh"
    validate = run_cli("validate", cwd=root)
    assert validate.returncode == 0, validate.stderr
    assert "14 files valid: 7 products, 7 contracts" in validate.stdout
    applied = run_cli("apply", "--json", cwd=root)
    assert applied.returncode == 0, applied.stderr
    assert len(json.loads(applied.stdout)["applied"]) == 7
    listing = json.loads(run_cli("ls", "--type", "consumer-aligned", "--json", cwd=root).stdout)
    assert [p["id"] for p in listing] == ["finance.revenue_by_nation", "marketing.customer_segments"]
    shown = run_cli("show", "customers.customers", cwd=root)
    assert shown.returncode == 0
    assert "confidential" in shown.stdout and "carol" in shown.stdout
    shown_json = json.loads(run_cli("show", "sales.orders", "--json", cwd=root).stdout)
    assert shown_json["summary"]["latest_version"] == "1.0.0"
    assert shown_json["consumers"] == ["finance.revenue_by_nation", "marketing.customer_segments"]


def test_to_odps_validates_for_an_unregistered_descriptor(demo: Mesh) -> None:
    from quanta.spec.formats import ProductExport

    loaded = next(p for p in demo.validate().products if p.product.id == "sales.orders")
    data = to_odps(ProductExport(loaded.product, {k: c.contract for k, c in loaded.contracts.items()}))
    assert validate_document(Document(data, "x"), "odps-json-schema-v1.0.0.json") == []


def test_apply_is_all_or_nothing(demo: Mesh) -> None:
    from quanta.errors import RegistryError

    demo.apply()
    parts = Path("domains/supply/parts/product.yaml")
    parts.write_text(
        parts.read_text().replace("version: 1.0.0", "version: 1.0.1", 1).replace("catalogue", "catalog")
    )
    orders = Path("domains/sales/orders/product.yaml")
    orders.write_text(
        orders.read_text().replace("Every order placed", "Each order placed")
    )  # no version bump
    with pytest.raises(RegistryError):
        demo.apply()
    assert [v.version for v in demo.registry.versions("supply.parts")] == ["1.0.0"]
    assert len(demo.registry.events(kind="product.registered")) == 7
