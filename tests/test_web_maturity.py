"""The maturity panel of the product page: the fragment and its access rules over HTTP, then a real
Chromium loading it into the product page (level, bars, a criterion's hint, 375 px screens)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from tests.test_web import _context, _serve, _shot

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SUPPLIERS = "supply.suppliers"


def test_the_panel_fragment_shows_level_bars_and_hints(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    client = TestClient(create_app(mesh), raise_server_exceptions=False)
    panel = client.get(f"/products/{SUPPLIERS}/panels/maturity", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    level = mesh.maturity(SUPPLIERS).level
    html = panel.text
    assert f'maturity-level maturity-{level}">{level}</span>' in html
    assert html.count("<meter ") == 6 and 'aria-labelledby="maturity-h"' in html
    assert "How to meet it: set classification" in html and "3 of 7 columns classified" in html
    assert '<svg class="sparkline"' in html  # at least the score stored when the build published it
    missing = client.get("/products/nope.nothing/panels/maturity")
    assert missing.status_code == 404 and "nope.nothing" in missing.text


def test_a_partner_sees_the_panel_of_shared_products_only(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    token, _ = mesh.create_token("panel-partner", scopes=["read"], principal_id="acme")
    client = TestClient(create_app(mesh, server_mode=True), raise_server_exceptions=False)
    client.cookies.set("quanta_token", token)
    assert client.get("/products/finance.revenue_by_nation/panels/maturity").status_code == 200
    refused = client.get(f"/products/{SUPPLIERS}/panels/maturity")
    assert refused.status_code == 403 and "not shared into your space" in refused.text


@pytest.mark.browser
def test_the_product_page_shows_the_level_and_how_to_meet_a_criterion(
    browser: Browser, built_demo: Path, tmp_path: Path
) -> None:
    mesh = Mesh.open(built_demo)
    expected = mesh.maturity(SUPPLIERS)
    with _serve(create_app(mesh)) as url:
        page = _context(browser).new_page()
        page.goto(f"{url}/products/{SUPPLIERS}")
        panel = page.locator("#panel-maturity")
        badge = panel.locator(".maturity-level")
        badge.wait_for()
        assert badge.inner_text().strip().lower() == expected.level
        assert panel.locator(".maturity-score").inner_text() == str(expected.score)
        assert panel.get_by_role("heading", name="Maturity").is_visible()
        assert panel.get_by_label("Secure").count() == 1  # each bar is a labelled meter
        hint = panel.get_by_text("How to meet it: set classification")
        secure = panel.locator("details.criteria", has_text="Secure")
        if not hint.is_visible():
            secure.locator("summary").click()
        assert hint.is_visible()
        _shot(page, tmp_path, "maturity-panel")

        narrow = _context(browser, width=375).new_page()
        narrow.goto(f"{url}/products/{SUPPLIERS}")
        narrow.locator("#panel-maturity .maturity-level").wait_for()
        narrow.locator("#panel-maturity details.criteria summary").first.click()
        width = narrow.evaluate("document.body.scrollWidth")
        _shot(narrow, tmp_path, "375-maturity-panel")
        assert width <= 375, f"the product page scrolls sideways at 375 px: body is {width} px wide"
