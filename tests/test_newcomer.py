"""Failures a newcomer met in the CLI, the API and the browser (issue 12, items 11 and 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta.interfaces.api.app import create_app
from quanta.mesh import Mesh
from tests.conftest import mesh_as, run_cli


@pytest.fixture(scope="module")
def server(built_demo: Path) -> TestClient:
    return TestClient(create_app(Mesh.open(built_demo), server_mode=True), raise_server_exceptions=False)


def _token(built_demo: Path, *args: str) -> dict[str, str]:
    created = run_cli("token", "create", *args, cwd=built_demo)
    assert created.returncode == 0, created.stderr
    return {"Authorization": f"Bearer {created.stdout.strip()}"}


def test_the_readme_consumer_token_reads_and_requests_access(built_demo: Path, server: TestClient) -> None:
    ana = _token(built_demo, "ana-token", "--for", "ana")  # the README's line, word for word
    asked = server.post(
        "/api/v1/access-requests", json={"product_id": "supply.suppliers", "purpose": "vendors"}, headers=ana
    )
    assert asked.status_code == 201, asked.text
    assert server.get("/api/v1/products", headers=ana).status_code == 200


def test_a_scope_hint_names_the_whole_set_to_use(built_demo: Path, server: TestClient) -> None:
    read_only = _token(built_demo, "ana-read", "--for", "ana", "--scopes", "read")
    refused = server.post(
        "/api/v1/access-requests",
        json={"product_id": "supply.suppliers", "purpose": "vendors"},
        headers=read_only,
    )
    assert refused.status_code == 403
    assert "--scopes read,request " in refused.json()["hint"]


def test_a_scope_beyond_the_principal_names_what_it_may_hold(built_demo: Path) -> None:
    refused = run_cli(
        "token", "create", "ana-admin", "--for", "ana", "--scopes", "read,admin", cwd=built_demo
    )
    assert refused.returncode != 0
    assert "--scopes read " in refused.stderr and "ana may hold read, request" in refused.stderr


# A process that exits right after a build: its last event is still being made, and making it uses a
# thread pool (pyiceberg's, to plan the snapshot's files), as the demo's last builds do.
EXITING = """
import sys, time, uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.file import FileConfig, FileTransport
from quanta.observability.openlineage import Sender

def event():
    time.sleep(0.5)  # still making it when the main thread ends
    with ThreadPoolExecutor(1) as pool:
        name = pool.submit(lambda: "demo.product").result()
    return RunEvent(eventType=RunState.COMPLETE, eventTime=datetime.now(UTC).isoformat(),
                    run=Run(runId=str(uuid.uuid4())), job=Job(namespace="quanta", name=name),
                    producer="https://example.org/quanta")

sender = Sender(lambda: FileTransport(FileConfig(log_file_path=sys.argv[1], append=True)))
sender.submit(event)
"""


def test_an_event_made_at_exit_is_still_sent(tmp_path: Path) -> None:
    import subprocess
    import sys

    events = tmp_path / "events.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", EXITING, str(events)], capture_output=True, text=True, timeout=60, check=False
    )
    assert "not sent" not in done.stderr, done.stderr
    assert done.returncode == 0 and '"demo.product"' in events.read_text()


@pytest.fixture(scope="module")
def column_grant(built_demo: Path) -> None:
    """ana holds a grant on two columns of supply.parts."""
    request_id = mesh_as(built_demo, "ana").request_access(
        "supply.parts", "names", columns=["part_id", "name"]
    )
    mesh_as(built_demo, "local-admin").decide_access(request_id, True, "ok")


def signed_in(built_demo: Path, principal: str) -> TestClient:
    """The marketplace in server mode, as a browser signed in with ``principal``'s token."""
    token, _ = mesh_as(built_demo, "local-admin").create_token(f"{principal}-web", principal_id=principal)
    app = create_app(Mesh.open(built_demo), server_mode=True)
    return TestClient(app, raise_server_exceptions=False, cookies={"quanta_token": token})


@pytest.fixture(scope="module")
def ana_browser(built_demo: Path, column_grant: None) -> TestClient:
    return signed_in(built_demo, "ana")


def test_a_column_outside_the_grant_is_named_not_a_binder_error(built_demo: Path, column_grant: None) -> None:
    ana = {"QUANTA_USER": "ana"}
    refused = run_cli("query", "select name, retail_price from supply.parts", cwd=built_demo, env=ana)
    assert refused.returncode != 0
    assert "column retail_price is not in your grant on supply.parts" in refused.stderr
    assert "--columns retail_price" in refused.stderr and "Binder" not in refused.stderr
    granted = run_cli("query", "select name from supply.parts limit 1", cwd=built_demo, env=ana)
    assert granted.returncode == 0, granted.stderr


def test_query_on_an_unknown_product_suggests_the_close_one(built_demo: Path) -> None:
    result = run_cli("query", "select * from sales.order", cwd=built_demo)
    assert result.returncode != 0
    assert "did you mean 'sales.orders'?" in result.stderr


def test_the_product_page_offers_only_queries_within_the_grant(
    built_demo: Path, ana_browser: TestClient
) -> None:
    page = ana_browser.get("/products/supply.parts")
    assert page.status_code == 200, page.text
    assert "First 100 rows" in page.text and "Summary of numeric columns" not in page.text
    assert "Summary of numeric columns" in signed_in(built_demo, "gina").get("/products/supply.parts").text


def test_error_pages_keep_the_signed_in_viewer(ana_browser: TestClient) -> None:
    page = ana_browser.get("/products/nope.nothing")
    assert page.status_code == 404
    assert "Sign out" in page.text and ">Sign in<" not in page.text and "<strong>ana</strong>" in page.text


def test_columns_without_a_classification_say_unclassified(ana_browser: TestClient) -> None:
    text = ana_browser.get("/products/supply.parts").text
    assert "unclassified" in text and "classification: internal" not in text


def test_the_owner_is_shown_once(ana_browser: TestClient) -> None:
    text = ana_browser.get("/products/finance.revenue_by_nation").text
    assert text.count("Erin Okafor") == 1 and 'Erin Okafor <span class="muted">(erin)</span>' in text


@pytest.mark.parametrize(
    "sql", ['select "order_id from sales.orders', "select 'open from sales.orders", '(Ø"']
)
def test_an_unclosed_quote_is_a_parse_error_not_a_crash(built_demo: Path, sql: str) -> None:
    """sqlglot reports an unclosed quote as a TokenError, which is not a ParseError (found by fuzzing
    the wire protocol server); every parser of user SQL must say what is wrong instead of crashing."""
    done = run_cli("query", sql, cwd=built_demo)
    assert done.returncode == 1
    assert "SQL does not parse" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
