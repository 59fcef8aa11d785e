"""The feedback panel and the KPI dashboard in a real Chromium against a real server: a consumer rates
a product on its page and sees the average change, a steward moderates, an admin opens /kpis and sees
its charts, a consumer is refused KPIs with a clear message; both pages fit a 375 px screen.
Screenshots go to /tmp/quanta-screenshots/ (kpi-*.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import mesh_as
from tests.test_web import SHOTS, Server, _context, _serve, _shot, _sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

expect = pytest.importorskip("playwright.sync_api").expect

REVENUE = "finance.revenue_by_nation"


@pytest.fixture(scope="module")
def server(built_demo: Path) -> Iterator[Server]:
    from quanta.interfaces.api import create_app

    mesh = mesh_as(built_demo, "local-admin")
    mesh_as(built_demo, "carl").rate(REVENUE, 5, "Matches the ledger to the cent.")
    mesh_as(built_demo, "ana").query(f"select count(*) from {REVENUE}")  # ana has used it
    with _serve(create_app(mesh)) as url:
        yield Server(url, mesh)


def _panel(page: Page) -> None:
    page.locator("#panel-feedback #feedback-h").wait_for()


@pytest.mark.browser
def test_a_consumer_rates_a_product_and_sees_the_average_update(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    ana = _sign_in(browser, server, "ana")
    page = ana.new_page()
    page.goto(f"{server.url}/products/{REVENUE}")
    _panel(page)
    panel = page.locator("#panel-feedback")
    assert "5.0 out of 5 · 1 rating" in panel.locator(".rating-summary").inner_text()
    stars = panel.get_by_role("group", name="Your rating")
    assert stars.get_by_role("radio").count() == 5
    panel.locator("label[for=rate-2]").click()  # clicking a star, as a mouse user does
    stars.get_by_role("radio", name="2 stars").press("ArrowRight")  # keyboard: one more star
    assert stars.get_by_role("radio", name="3 stars").is_checked()
    panel.get_by_label("Comment (optional)").fill("Good for regional planning; EUROPE only for me.")
    panel.get_by_role("button", name="Send feedback").click()
    expect(panel.get_by_role("status")).to_contain_text("your feedback is saved")
    expect(panel.locator(".rating-summary")).to_contain_text("4.0 out of 5 · 2 ratings")
    mine = panel.locator("article", has_text="EUROPE only for me")
    assert "used it" in mine.inner_text() and mine.get_by_label("3 out of 5 stars").count() == 1
    _shot(page, tmp_path, "kpi-1-feedback-rated")
    panel.screenshot(path=str(SHOTS / "kpi-1-feedback-panel.png"))

    panel.locator("label[for=rate-5]").click()
    panel.get_by_role("button", name="Update feedback").click()
    expect(panel.locator(".rating-summary")).to_contain_text("5.0 out of 5 · 2 ratings")
    assert panel.get_by_role("button", name=re.compile("Delete feedback .* by carl")).count() == 0
    ana.close()

    steward = _sign_in(browser, server, "gina")
    page = steward.new_page()
    page.goto(f"{server.url}/products/{REVENUE}")
    _panel(page)
    page.get_by_role("button", name=re.compile("Delete feedback #\\d+ by ana")).click()
    expect(page.locator("#panel-feedback [role=status]")).to_contain_text(
        re.compile(r"Feedback #\d+ by ana deleted")
    )
    expect(page.locator("#panel-feedback .rating-summary")).to_contain_text("5.0 out of 5 · 1 rating")
    _shot(page, tmp_path, "kpi-2-feedback-moderated")
    steward.close()


@pytest.mark.browser
def test_an_admin_opens_the_kpi_dashboard_and_sees_charts(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    context = _context(browser)
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="KPIs").click()
    page.wait_for_url(server.url + "/kpis")
    assert page.get_by_role("heading", level=1).inner_text() == "Platform KPIs"
    assert page.locator(".tile").count() == 9
    products = page.locator(".tile").first.locator(".tile-value").inner_text()
    assert products == str(len(server.mesh.products()))
    charts = page.get_by_role("img")
    titles = [charts.nth(i).get_attribute("aria-labelledby") for i in range(charts.count())]
    assert {"kpi-domains-title kpi-domains-desc", "kpi-queries-title kpi-queries-desc"} <= set(titles)
    domains = page.locator("#kpi-domains-h + figure svg rect")
    assert domains.count() == len({p.domain for p in server.mesh.products()})
    assert page.locator("#kpi-queries-h + figure svg rect").count() >= 1  # today's queries
    assert page.locator("#kpi-ratings-h + figure svg rect").count() == 1
    _shot(page, tmp_path, "kpi-3-dashboard")
    page.get_by_label("Period").select_option("7")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(server.url + "/kpis?since=7")
    assert "flows over the last 7 days" in page.locator(".kpi-head .meta").inner_text()
    context.close()


@pytest.mark.browser
def test_a_consumer_is_told_who_may_see_kpis(browser: Browser, server: Server, tmp_path: Path) -> None:
    ana = _sign_in(browser, server, "ana")
    page = ana.new_page()
    page.goto(server.url + "/")
    page.get_by_role("link", name="KPIs").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert "ana may not see the platform KPIs" in page.get_by_role("alert").inner_text()
    assert "domain owners their own domains'" in page.get_by_role("alert").inner_text()
    _shot(page, tmp_path, "kpi-4-refused")
    ana.close()


@pytest.mark.browser
def test_kpis_and_the_feedback_panel_fit_a_375px_screen(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    context = _context(browser, width=375)
    page = context.new_page()
    for name, path in {"kpis": "/kpis", "product-feedback": f"/products/{REVENUE}"}.items():
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.body.scrollWidth")
        _shot(page, tmp_path, f"kpi-375-{name}")
        assert width <= 375, f"{path} scrolls sideways at 375 px: body is {width} px wide"
    context.close()


def test_the_feedback_form_works_without_javascript(server: Server) -> None:
    import httpx

    url = f"{server.url}/products/{REVENUE}/panels/feedback"
    saved = httpx.post(url, data={"rating": "2", "comment": "Posted without htmx."})
    assert saved.status_code == 303 and saved.headers["location"] == f"/products/{REVENUE}#feedback-h"
    mine = next(e for e in server.mesh.product_feedback(REVENUE).entries if e.principal == "local-admin")
    assert (mine.rating, mine.comment) == (2, "Posted without htmx.")
    refused = httpx.post(url, data={"comment": " "})
    assert refused.status_code == 422 and "give a rating, a comment or both" in refused.text
    assert refused.headers["content-type"].startswith("text/html") and "Traceback" not in refused.text
    fragment = httpx.post(url, data={"rating": "9"}, headers={"hx-request": "true"})
    assert fragment.status_code == 200 and "rating 9 is out of range (at rating)" in fragment.text
    gone = httpx.post(f"{url}/{mine.id}/delete")
    assert gone.status_code == 303
    assert all(e.id != mine.id for e in server.mesh.product_feedback(REVENUE).entries)
