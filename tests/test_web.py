"""The web marketplace in a real Chromium (Debian's, through Python Playwright) against a real server.

A uvicorn server runs in a thread over the built demo mesh; each test drives the pages like a user:
search ► product ► predefined query, the access request ► approval ► query flow, masks, refusals,
CSV download, 375 px screens, and no request leaving for another host. Screenshots are written under
the test's ``tmp_path`` and copied to ``/tmp/quanta-screenshots/`` for people to look at.
"""

from __future__ import annotations

import csv
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import mesh_as

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

    from quanta.mesh import Mesh

SHOTS = Path("/tmp/quanta-screenshots")
REVENUE = "finance.revenue_by_nation"
CUSTOMERS = "customers.customers"
# A workspace policy for these tests: personal data may not leave in clear (the demo has no restricted
# column for the shipped no_restricted_egress policy to refuse).
NO_PII_EGRESS = """\
# METADATA
# title: Personal data does not leave in clear
# description: Exports of pii columns are refused unless the columns are masked for the exporter.
# stage: enforced
# events: [access]
package quanta.web_test.no_pii_egress

import rego.v1

deny contains msg if {
\tinput.request.egress == true
\tsome contract in object.get(input, "contracts", {})
\tsome table in object.get(contract, "schema", [])
\tsome prop in object.get(table, "properties", [])
\t"pii" in object.get(prop, "tags", [])
\tmsg := concat("", ["column ", prop.name, " is personal data and may not leave in clear"])
}
"""


@dataclass
class Server:
    url: str
    mesh: Mesh


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free port in a thread until the generator is closed; yields its URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def web_mesh(built_demo: Path) -> Mesh:
    """The demo mesh acting as local-admin, with a second publish of revenue (for the quality chart)
    and the test egress policy."""
    (built_demo / "policies").mkdir(exist_ok=True)
    (built_demo / "policies" / "web_no_pii_egress.rego").write_text(NO_PII_EGRESS, encoding="utf-8")
    mesh = mesh_as(built_demo, "local-admin")
    assert {r.status for r in mesh.build([REVENUE], force=True)} == {"published"}
    return mesh


@pytest.fixture(scope="module")
def server(web_mesh: Mesh) -> Iterator[Server]:
    from quanta.interfaces.api import create_app

    with _serve(create_app(web_mesh)) as url:
        yield Server(url, web_mesh)


def _context(browser: Browser, width: int = 1280, **options: Any) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    context.set_default_timeout(20_000)
    return context


def _shot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    return path


def _sign_in(browser: Browser, server: Server, principal: str) -> BrowserContext:
    """A browser session of ``principal``: a token created by the admin, pasted into /login."""
    token, _ = server.mesh.create_token(
        f"web-{principal}", scopes=["read", "request"], principal_id=principal
    )
    context = _context(browser)
    page = context.new_page()
    page.goto(server.url + "/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    assert page.locator(".who .me strong").inner_text() == principal
    cookie = next(c for c in context.cookies() if c["name"] == "quanta_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.close()
    return context


def _run_in_lab(page: Page, sql: str) -> None:
    page.get_by_label("SQL query").fill(sql)
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator("#results .grid-summary, #results .alert").first.wait_for()


@pytest.mark.browser
def test_newcomer_finds_revenue_and_runs_its_first_query_in_three_clicks(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    started = time.perf_counter()  # the server is ready and has served nothing yet
    steps: dict[str, float] = {}
    paused = 0.0  # time spent taking screenshots, which is not the user's

    def lap(name: str) -> None:
        steps[name] = time.perf_counter() - started - paused - sum(steps.values())

    def shot(name: str) -> None:
        nonlocal paused
        before = time.perf_counter()
        _shot(page, tmp_path, name)
        paused += time.perf_counter() - before

    context = _context(browser)
    page = context.new_page()
    page.goto(server.url + "/")
    lap("home")
    clicks = 0
    page.get_by_role("searchbox").fill("revenue")
    page.get_by_role("button", name="Search").click()
    clicks += 1
    page.get_by_role("link", name="Revenue by nation").wait_for()
    lap("search")
    shot("1-search-revenue")
    page.get_by_role("link", name="Revenue by nation").click()
    clicks += 1
    page.wait_for_url(f"**/products/{REVENUE}")
    lap("product")
    shot("2-product-revenue")
    page.get_by_role("link", name=re.compile(r"^Open in data lab")).first.click()
    clicks += 1
    rows = page.locator("#results table.grid tbody tr")
    rows.first.wait_for()
    lap("first result")
    shot("3-lab-first-query")
    assert clicks <= 3
    assert rows.count() == 100
    assert page.locator("#results thead th").all_inner_texts()[:3] == ["nation", "region", "order_year"]
    assert page.get_by_label("SQL query").input_value() == f"select * from {REVENUE} limit 100"
    split = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in steps.items())
    print(
        f"\nnewcomer path: {sum(steps.values()):.2f} s from a ready server to the first query result "
        f"in {clicks} clicks ({split})"
    )
    context.close()


@pytest.mark.browser
def test_access_request_approval_then_masked_query(browser: Browser, server: Server, tmp_path: Path) -> None:
    ana = _sign_in(browser, server, "ana")
    page = ana.new_page()
    page.goto(f"{server.url}/products/{CUSTOMERS}")
    no_access = page.locator("#panel-sample .alert.no-access")
    assert "access denied to customers.customers" in no_access.inner_text()
    _shot(page, tmp_path, "4-ana-no-access")

    # The lab says the same, with the same way out.
    page.goto(f"{server.url}/lab?sql=select+*+from+{CUSTOMERS}+limit+5")
    assert page.locator("#results .alert.no-access").get_by_role("link", name=re.compile("Request access"))
    page.go_back()
    no_access.get_by_role("link", name=re.compile("Request access")).click()
    assert page.get_by_label("Product").input_value() == CUSTOMERS
    page.get_by_label("Purpose").fill("churn analysis for the Q4 retention campaign")
    page.get_by_label("Duration (days)").fill("30")
    # the contract's limitations are terms of use: shown with the form, and the request accepts them
    terms = page.locator("fieldset.terms")
    assert "Personal data; masked for consumers without PII clearance." in terms.inner_text()
    terms.get_by_label("I accept these terms").check()
    page.get_by_role("button", name="Send request").click()
    sent = page.locator(".alert.ok").inner_text()
    found = re.search(r"#(\d+)", sent)
    assert found, sent
    request_id = int(found.group(1))
    assert f"Request #{request_id} sent to the owners of {CUSTOMERS}" in sent
    assert "requested" in page.locator("#mine tbody tr").first.inner_text()
    _shot(page, tmp_path, "5-ana-request-sent")

    admin = _context(browser)  # local mode, no token: the workspace user (local-admin)
    inbox = admin.new_page()
    inbox.goto(server.url + "/access")
    item = inbox.locator(f"article:has(#req-{request_id})")
    assert "churn analysis" in item.inner_text()
    _shot(inbox, tmp_path, "6-admin-inbox")
    item.get_by_label(f"Reason for request #{request_id}").fill("approved for the churn project")
    item.get_by_role("button", name=f"Approve request #{request_id}").click()
    assert f"Request #{request_id} granted" in inbox.locator(".alert.ok").inner_text()
    _shot(inbox, tmp_path, "7-admin-approved")

    page.goto(server.url + "/lab")
    _run_in_lab(page, f"select customer_id, name, phone from {CUSTOMERS} order by customer_id limit 5")
    grid = page.locator("#results table.grid")
    rows = [r.locator("td").all_inner_texts() for r in grid.locator("tbody tr").all()]
    assert len(rows) == 5
    for customer_id, name, phone in rows:
        assert customer_id.isdigit()
        assert re.fullmatch(r"[0-9a-f]{64}", name), name  # hashed
        assert re.fullmatch(r"\*{4}\d{4}", phone), phone  # last 4 digits only
    note = page.locator("#results .masked-note").inner_text()
    assert "name (hash)" in note and "phone (last4)" in note
    _shot(page, tmp_path, "8-ana-masked-query")
    ana.close()
    admin.close()


@pytest.mark.browser
def test_lab_refuses_reading_files(browser: Browser, server: Server, tmp_path: Path) -> None:
    context = _context(browser)
    page = context.new_page()
    page.goto(server.url + "/lab")
    _run_in_lab(page, "select * from read_csv('/etc/passwd')")
    refusal = page.locator("#results .alert.error")
    assert "read_csv() is not allowed" in refusal.inner_text()
    assert "root:" not in page.content()
    assert "Traceback" not in page.content()
    _shot(page, tmp_path, "9-lab-refused")
    context.close()


@pytest.mark.browser
def test_csv_download_and_egress_refusal(browser: Browser, server: Server, tmp_path: Path) -> None:
    context = _context(browser, accept_downloads=True)
    page = context.new_page()
    page.goto(server.url + "/lab")
    page.get_by_label("SQL query").fill(
        f"select nation, region, order_year from {REVENUE} order by nation, order_year limit 5"
    )
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    target = tmp_path / "result.csv"
    download.save_as(target)
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[0] == ["nation", "region", "order_year"]
    assert len(rows) == 6 and rows[1][0] == "ALGERIA"

    # Personal data in clear may not leave (the test policy): the refusal is shown in the lab.
    page.get_by_label("SQL query").fill(f"select customer_id, phone from {CUSTOMERS} limit 5")
    page.get_by_role("button", name="Download CSV").click()
    refusal = page.locator("#results .alert.error")
    assert "export refused by policy: column phone is personal data" in refusal.inner_text()
    assert page.get_by_label("SQL query").input_value().startswith("select customer_id, phone")
    _shot(page, tmp_path, "10-lab-egress-refused")
    context.close()


@pytest.mark.browser
def test_saved_queries_stay_in_this_browser(browser: Browser, server: Server) -> None:
    context = _context(browser)
    page = context.new_page()
    page.goto(server.url + "/lab")
    page.get_by_label("SQL query").fill(f"select distinct nation from {REVENUE} where region = 'ASIA'")
    page.get_by_label("Name of the saved query").fill("Asian nations")
    page.get_by_role("button", name="Save", exact=True).click()
    page.reload()
    page.get_by_label("SQL query").fill("")
    page.locator("#saved").get_by_role("button", name="Asian nations", exact=True).click()
    assert "region = 'ASIA'" in page.get_by_label("SQL query").input_value()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator("#results .grid-summary").wait_for()
    assert page.locator("#results table.grid tbody tr").count() == 5
    context.close()


PAGES = {
    "home": "/",
    "search": "/?q=customer",
    "product": f"/products/{REVENUE}",
    "product-customers": f"/products/{CUSTOMERS}",
    "lab": "/lab?product=sales.orders&sql=select+*+from+sales.orders+limit+50",
    "access": f"/access?product={CUSTOMERS}",
    "login": "/login",
    "not-found": "/products/nowhere.nothing",
}


@pytest.mark.browser
def test_every_page_fits_a_375px_screen(browser: Browser, server: Server, tmp_path: Path) -> None:
    context = _context(browser, width=375)
    page = context.new_page()
    for name, path in PAGES.items():
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.body.scrollWidth")
        _shot(page, tmp_path, f"375-{name}")
        assert width <= 375, f"{path} scrolls sideways at 375 px: body is {width} px wide"
    context.close()


@pytest.mark.browser
def test_no_request_leaves_the_server(browser: Browser, server: Server) -> None:
    context = _context(browser)
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    page = context.new_page()
    for path in PAGES.values():
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
    page.goto(server.url + "/lab")
    assert page.evaluate("typeof window.htmx") == "object"  # the vendored htmx, served by the package
    _run_in_lab(page, f"select region, count(*) as n from {REVENUE} group by region")
    assert page.locator("#results table.grid tbody tr").count() == 5
    context.close()
    assert seen
    outside = sorted({url for url in seen if not url.startswith(server.url + "/")})
    assert not outside, f"requests to other hosts: {outside}"


@pytest.mark.browser
def test_server_mode_needs_a_token(browser: Browser, web_mesh: Mesh, tmp_path: Path) -> None:
    from quanta.interfaces.api import create_app

    token, _ = web_mesh.create_token("web-carl", principal_id="carl")
    with _serve(create_app(web_mesh, server_mode=True)) as url:
        context = _context(browser)
        page = context.new_page()
        page.goto(url + f"/products/{REVENUE}")
        assert page.url == url + f"/login?next=%2Fproducts%2F{REVENUE}"
        page.get_by_label("API token").fill("qt_wrong_token")
        page.get_by_role("button", name="Sign in").click()
        assert "unknown or wrong API token" in page.locator(".alert.error").inner_text()
        _shot(page, tmp_path, "11-server-mode-bad-token")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(url + f"/products/{REVENUE}")
        assert page.locator(".who .me strong").inner_text() == "carl"
        page.get_by_role("button", name="Sign out").click()
        page.goto(url + "/lab")
        assert "/login" in page.url
        context.close()


def test_pages_render_errors_as_html(server: Server) -> None:
    import httpx

    missing = httpx.get(f"{server.url}/products/nowhere.nothing")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Not found" in missing.text and "Traceback" not in missing.text
    invalid = httpx.post(
        f"{server.url}/access/requests", data={"product": REVENUE, "purpose": "x", "days": "0"}
    )
    assert invalid.status_code == 422 and "days" in invalid.text
    api = httpx.get(f"{server.url}/api/v1/products/nowhere.nothing")  # the API keeps its problem documents
    assert api.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{server.url}/static/vendor/htmx.min.js").status_code == 200
