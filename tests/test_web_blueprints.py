"""The marketplace's Blueprints page (issue 16, part 3): every blueprint, shipped and community, with
what it makes, its questions and the exact ``quanta new`` command; the product page names the
blueprint@version that made the product; KPIs count products per blueprint (page, API and CLI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from quanta.mesh import Mesh
from tests.conftest import run_cli
from tests.test_blueprint_update import _blueprint_v1
from tests.test_web import Server, _context, _serve, _shot

if TYPE_CHECKING:
    from playwright.sync_api import Browser

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a product made from the shipped ``files`` blueprint, one from a community
    blueprint (a git repository tagged v1.0.0), and one written by hand; all three built."""
    base = tmp_path_factory.mktemp("blueprints")
    root = base / "ws"
    Mesh.init(root)
    community = _blueprint_v1(base / "csv-drop")
    assert run_cli("blueprint", "add", "csvdrop", str(community), cwd=root).returncode == 0
    assert run_cli("new", "files", "--domain", "shop", "--name", "things", cwd=root).returncode == 0
    done = run_cli("new", "csvdrop", "--domain", "team", "--name", "drops", cwd=root)
    assert done.returncode == 0, done.stderr
    assert run_cli("new", "--domain", "shop", "--name", "by_hand", cwd=root).returncode == 0
    descriptor = root / "domains/shop/by_hand/product.yaml"
    descriptor.write_text(descriptor.read_text().split("customProperties:")[0])  # as if written by hand
    for product_id in ("shop.things", "team.drops", "shop.by_hand"):  # one at a time: see the report
        [result] = Mesh.open(root).build([product_id])
        assert result.status == "published", result
    return root


@pytest.fixture(scope="module")
def server(made: Path) -> Iterator[Server]:
    from quanta.interfaces.api import create_app

    mesh = Mesh.open(made)
    with _serve(create_app(mesh)) as url:
        yield Server(url, mesh)


def test_products_record_the_blueprint_that_made_them(made: Path) -> None:
    from quanta import __version__

    assert f"value: files@{__version__}" in (made / "domains/shop/things/product.yaml").read_text()
    assert "value: csvdrop@v1.0.0" in (made / "domains/team/drops/product.yaml").read_text()
    kpis = json.loads(run_cli("kpis", "--json", cwd=made).stdout)
    assert kpis["products"]["by_blueprint"] == {"csvdrop": 1, "files": 1, "none": 1}
    shown = run_cli("kpis", cwd=made)
    assert "by blueprint: csvdrop 1, files 1, none 1" in shown.stdout, shown.stdout


def test_the_api_lists_blueprints_and_counts_products_per_blueprint(server: Server) -> None:
    import httpx

    listed = httpx.get(server.url + "/api/v1/blueprints", timeout=30)
    assert listed.status_code == 200
    entries = {e["name"]: e for e in listed.json()}
    assert list(entries) == ["files", "database", "aggregate", "python", "warehouse", "csvdrop"]
    assert entries["csvdrop"]["versions"] == ["v1.0.0"] and not entries["csvdrop"]["shipped"]
    assert entries["database"]["command"].startswith("quanta new database --domain DOMAIN --name NAME")
    assert "table" in {q["name"] for q in entries["database"]["questions"]}
    warehouse = {q["name"] for q in entries["warehouse"]["questions"]}
    assert {"database_url", "hub", "key", "spokes", "prefix_spokes"} <= warehouse and "table" not in warehouse
    assert "consumer-aligned" in entries["warehouse"]["description"]
    kpis = httpx.get(server.url + "/api/v1/kpis", timeout=30).json()
    assert kpis["products"]["by_blueprint"] == {"csvdrop": 1, "files": 1, "none": 1}


@pytest.mark.browser
def test_a_producer_finds_a_blueprint_and_the_product_it_made(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    context = _context(browser)
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Blueprints").click()
    page.wait_for_url(server.url + "/blueprints")
    assert page.get_by_role("heading", level=1).inner_text() == "Blueprints"
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings == ["files", "database", "aggregate", "python", "warehouse", "csvdrop"]
    expect(page.locator("#bp-warehouse")).to_contain_text("hub and spoke tables of an existing warehouse")
    community = page.locator("#bp-csvdrop")
    expect(community).to_contain_text("A product over a CSV drop, the team's way")
    expect(community).to_contain_text("versions v1.0.0")
    expect(community.locator("code.command")).to_have_text("quanta new csvdrop --domain DOMAIN --name NAME")
    database = page.locator("#bp-database")
    database.get_by_text("Questions").click()
    expect(database.get_by_role("cell", name="table", exact=True)).to_be_visible()
    _shot(page, tmp_path, "blueprints-1-page")

    page.goto(server.url + "/products/shop.things")
    made_from = page.locator("a[data-blueprint]")
    expect(made_from).to_have_text(f"files@{__import__('quanta').__version__}")
    made_from.click()
    page.wait_for_url(server.url + "/blueprints#bp-files")
    context.close()
