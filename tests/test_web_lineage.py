"""The lineage graph on the product page, in a real Chromium against a real server over the built demo
mesh: the graph, a click on an upstream product, a column picked (htmx) and its impact, the keyboard,
375 px screens, and what a viewer who may not read a product sees (its name never)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from quanta.mesh import Mesh
from tests.conftest import mesh_as
from tests.test_web import Server, _context, _serve, _shot

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REVENUE = "finance.revenue_by_nation"
SOURCE_ALIGNED = ("sales.orders", "sales.lineitems", "customers.customers", "supply.suppliers")


@pytest.fixture(scope="module")
def server(built_demo: Path) -> Iterator[Server]:
    from quanta.interfaces.api import create_app

    mesh = mesh_as(built_demo, "local-admin")
    with _serve(create_app(mesh)) as url:
        yield Server(url, mesh)


@pytest.mark.browser
def test_the_product_page_graph_leads_upstream_and_traces_a_column(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    page = _context(browser).new_page()
    page.goto(f"{server.url}/products/{REVENUE}")
    panel = page.locator("#panel-lineage")
    graph = panel.locator("svg.lineage-graph")
    graph.wait_for()
    nodes = graph.locator("g.node")
    sources = ["sales.orders:raw_orders", "sales.lineitems:raw_lineitem", "customers.customers:crm_customers"]
    sources += ["supply.suppliers:erp_suppliers", f"{REVENUE}:geography"]
    assert sorted(nodes.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted(
        [REVENUE, *SOURCE_ALIGNED, *sources]
    )
    root = graph.locator(f'g.node[data-node="{REVENUE}"]').bounding_box()
    orders = graph.locator('g.node[data-node="sales.orders"]').bounding_box()
    assert root and orders and orders["x"] < root["x"]  # upstream on the left
    _shot(page, tmp_path, "lineage-1-revenue")

    graph.get_by_role("link", name=re.compile(r"^sales\.orders: Orders")).click()
    page.wait_for_url("**/products/sales.orders")
    page.locator("#panel-lineage svg.lineage-graph").wait_for()

    page.get_by_label("Column", exact=True).select_option("order_date")
    impact = page.locator("#panel-lineage .impact-list")
    impact.wait_for()
    assert "columns order_year" in impact.inner_text() and REVENUE in impact.inner_text()
    assert "columns last_order_date" in impact.inner_text()
    marked = page.locator("#panel-lineage g.node.down").evaluate_all("els => els.map(e => e.dataset.node)")
    assert sorted(marked) == [REVENUE, "marketing.customer_segments"]
    assert page.locator('#panel-lineage g.node.up[data-node="sales.orders:raw_orders"]').count() == 1
    assert "o_orderdate" in page.locator("#panel-lineage").inner_text()
    shot = _shot(page, tmp_path, "lineage-2-orders-order-date")
    assert shot.stat().st_size > 10_000


@pytest.mark.browser
def test_the_graph_is_keyboard_accessible_and_fits_a_small_screen(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    page = _context(browser, width=375).new_page()
    page.goto(f"{server.url}/products/{REVENUE}")
    region = page.get_by_role("region", name=f"Lineage graph of {REVENUE}")
    region.locator("svg").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the page never scrolls sideways
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # the graph scrolls in its region
    _shot(page, tmp_path, "lineage-3-375px")

    region.focus()
    for _ in range(30):  # Tab from the region into the graph's links, to the first upstream product
        page.keyboard.press("Tab")
        label = page.evaluate("document.activeElement.getAttribute('aria-label') || ''")
        if label.startswith("customers.customers"):
            break
    assert label == "customers.customers: Customers, upstream"
    page.keyboard.press("Enter")
    page.wait_for_url("**/products/customers.customers")


def test_the_panel_never_names_what_the_viewer_may_not_read(built_demo: Path) -> None:
    from quanta.interfaces.api import create_app

    admin = Mesh.open(built_demo)
    token, _ = admin.create_token("lineage-web", scopes=["read"], principal_id="ana")
    client = TestClient(create_app(Mesh.open(built_demo), server_mode=True), raise_server_exceptions=False)
    client.cookies.set("quanta_token", token)

    panel = client.get(f"/products/{REVENUE}/panels/lineage", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    assert "4 more products in this lineage are not shown: you may not read them" in panel.text
    assert not any(name in panel.text for name in SOURCE_ALIGNED)
    traced = client.get(f"/products/{REVENUE}/panels/lineage", params={"column": "order_year"})
    assert "1 more you may not see" in traced.text and "sales.orders" not in traced.text

    missing = client.get("/products/sales.ordrs/panels/lineage", headers={"HX-Request": "true"})
    assert "no product &#39;sales.ordrs&#39;" in missing.text or "no product 'sales.ordrs'" in missing.text
    assert client.get("/products/sales.ordrs").status_code == 404  # as the product page itself
