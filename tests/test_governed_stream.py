"""The governed query stream: one path for every reader (REST JSON and Arrow, the lab's CSV download,
the SDK), the same masks and row filters as the materialised result, and closing it stops the engine."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

import quanta
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from quanta.mesh.answers import plain_json
from quanta.query.cursor import QueryCancelled, RunningQuery
from tests.conftest import mesh_as

# Masks (name hashed, phone last 4 digits) and a column-scoped grant, for ana (see granted_demo) ...
MASKED = "select customer_id, name, phone, market_segment from customers.customers order by customer_id"
# ... and a row filter (region EUROPE) with revenue masked.
FILTERED = "select * from finance.revenue_by_nation order by nation, order_year"
# Billions of rows: computing the aggregate takes far longer than any test may wait.
ENDLESS = "select sum(a.quantity * b.quantity) as n from sales.lineitems a cross join sales.lineitems b"


@pytest.fixture(scope="module")
def ana(granted_demo: Path) -> Mesh:
    return mesh_as(granted_demo, "ana")


@pytest.fixture(scope="module")
def ana_http(granted_demo: Path, ana: Mesh) -> TestClient:
    token, _ = Mesh.open(granted_demo).create_token("stream-tests", scopes=["read"], principal_id="ana")
    client = TestClient(create_app(Mesh.open(granted_demo), server_mode=True), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.mark.parametrize("sql", [MASKED, FILTERED])
def test_json_and_arrow_responses_stream_the_materialised_result(
    ana: Mesh, ana_http: TestClient, sql: str
) -> None:
    expected = ana.query(sql)
    assert expected.num_rows > 0
    governed = ana.governed_query(sql)
    with ana_http.stream("POST", "/api/v1/query", json={"sql": sql, "limit": None}) as response:
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        chunks = list(response.iter_bytes())
    body = json.loads(b"".join(chunks))
    assert body["columns"] == expected.column_names and body["masked"] == governed.masked
    assert body["rows"] == [{k: plain_json(v) for k, v in row.items()} for row in expected.to_pylist()]
    assert body["row_count"] == expected.num_rows
    arrow = ana_http.post("/api/v1/query", json={"sql": sql, "limit": None, "format": "arrow"})
    assert arrow.headers["content-type"] == "application/vnd.apache.arrow.stream"
    assert pa.ipc.open_stream(arrow.content).read_all().equals(expected)


def test_masks_and_row_filters_hold_in_the_stream(ana: Mesh) -> None:
    with ana.governed_stream(FILTERED) as stream:
        assert stream.masked == {"finance.revenue_by_nation": {"revenue": "null"}}
        assert "finance.revenue_by_nation" in stream.filtered
        table = stream.reader.read_all()
    assert set(table.column("region").to_pylist()) == {"EUROPE"}
    assert set(table.column("revenue").to_pylist()) == {None}


def test_a_long_statement_is_answered_but_not_remembered(ana: Mesh) -> None:
    """Statements are remembered parsed and rewritten (dashboards repeat them), but not megabytes of
    generated SQL: the caches stay small whatever clients send."""
    queries = ana._governed.queries
    short = FILTERED + " limit 3"
    listed = ", ".join(f"'N{i:05d}'" for i in range(3000))  # a generated IN list, ~27,000 characters
    long = f"select count(*) as n from finance.revenue_by_nation where nation not in ({listed})"
    for sql in (short, long):
        with ana.governed_stream(sql) as stream:
            assert stream.reader.read_all().num_rows >= 1
    assert short in queries._parses and any(key[0] == short for key in queries._finals)
    assert long not in queries._parses and not any(key[0] == long for key in queries._finals)


@pytest.fixture(scope="module")
def local_http(granted_demo: Path) -> TestClient:
    """The API in local mode: the workspace user (a platform admin) acts."""
    return TestClient(create_app(Mesh.open(granted_demo)), raise_server_exceptions=False)


def test_a_large_json_response_arrives_in_many_chunks(local_http: TestClient) -> None:
    sql = "select * from sales.lineitems"
    with local_http.stream("POST", "/api/v1/query", json={"sql": sql, "limit": None}) as response:
        chunks = list(response.iter_bytes())
    assert len(chunks) > 5  # a chunk per batch of 8,192 rows, not one document built in memory
    assert json.loads(b"".join(chunks))["row_count"] == 60_175


def test_the_stream_names_its_audit_entries(ana: Mesh, ana_http: TestClient) -> None:
    with ana.governed_stream(MASKED) as stream:
        ids = stream.audit_ids
    [entry] = [e for e in ana.registry.audit_entries(limit=50) if e.seq in ids]
    assert entry.kind == "query" and entry.decision == "allow" and entry.subject == "customers.customers"
    response = ana_http.post("/api/v1/query", json={"sql": MASKED, "limit": 3})
    assert int(response.headers["x-quanta-audit-ids"]) > max(ids)


def test_an_engine_error_is_still_a_problem_response(local_http: TestClient) -> None:
    response = local_http.post(
        "/api/v1/query", json={"sql": "select cast(comment as integer) from sales.orders"}
    )
    assert response.status_code == 400 and response.json()["detail"].startswith("query failed")


def test_the_lab_download_streams_the_same_rows_as_csv(granted_demo: Path, local_http: TestClient) -> None:
    sql = "select order_id, status, total_price from sales.orders order by order_id"
    response = local_http.post("/lab/download", data={"sql": sql})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "quanta-result.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = Mesh.open(granted_demo).query(sql)
    assert len(rows) == expected.num_rows == 15_000
    assert [int(r["order_id"]) for r in rows[:100]] == expected.column("order_id").to_pylist()[:100]
    exported = [e for e in Mesh.open(granted_demo).audit_log()[-5:] if e.kind == "export"]
    assert exported[-1].details["file"] == "download" and exported[-1].details["rows"] == 15_000


def _read_in_thread(stream: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            outcome["table"] = stream.reader.read_all()
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=read)
    thread.start()
    return thread, outcome


def test_closing_a_stream_interrupts_the_engine(built_demo: Path) -> None:
    stream = Mesh.open(built_demo).governed_stream(ENDLESS)
    thread, outcome = _read_in_thread(stream)
    time.sleep(1.0)
    assert thread.is_alive(), outcome  # the engine is computing the aggregate
    started = time.monotonic()
    stream.close()
    thread.join(timeout=30)
    assert not thread.is_alive() and time.monotonic() - started < 10
    assert isinstance(outcome.get("error"), QueryCancelled)
    assert stream.running.closed


@pytest.fixture
def closes(monkeypatch: pytest.MonkeyPatch) -> list[RunningQuery]:
    """Every governed stream closed during the test."""
    closed: list[RunningQuery] = []
    close = RunningQuery.close

    def spy(self: RunningQuery) -> None:
        if not self.closed:
            closed.append(self)
        close(self)

    monkeypatch.setattr(RunningQuery, "close", spy)
    return closed


def test_sdk_iterates_batches_and_breaking_out_stops_the_query(
    built_demo: Path, closes: list[RunningQuery]
) -> None:
    client = quanta.connect(workspace=built_demo)
    sql = "select * from sales.lineitems"
    sizes = [batch.num_rows for batch in client.iter_batches(sql)]
    assert sum(sizes) == 60_175 and max(sizes) <= 8192 and len(sizes) > 1
    assert client.to_reader(sql, limit=10).read_all().equals(client.sql(sql, limit=10))
    closes.clear()
    for batch in client.iter_batches(sql):
        assert batch.num_rows
        break
    [stopped] = closes
    assert stopped.rows < 60_175  # stopped early, the rest never computed


def test_a_client_that_hangs_up_stops_the_query(built_demo: Path, closes: list[RunningQuery]) -> None:
    from tests.conftest import serve_app as serve

    urls: Iterator[str] = serve(Mesh.open(built_demo), server_mode=False)
    url = next(urls)
    try:
        client = quanta.connect(url)
        sql = "select * from sales.lineitems a cross join sales.lineitems b"  # 3.6 billion rows
        for batch in client.iter_batches(sql):
            assert batch.num_rows
            break
        deadline = time.monotonic() + 20
        while not closes and time.monotonic() < deadline:
            time.sleep(0.1)
        assert closes and closes[0].rows < 10_000_000
    finally:
        next(urls, None)
