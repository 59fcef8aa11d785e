"""Prometheus metrics scraped from a real ``quanta serve --workers 2`` process with httpx and parsed
with prometheus_client's own parser: the values are those of the builds and queries the test made,
every worker answers the same, and only platform admins and stewards may scrape in server mode.
Also: multiprocess mode summing separate processes, and the collector's SQL on both backends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from quanta.errors import QuantaError
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from quanta.observability.collector import BUILD_BUCKETS, read_facts
from quanta.registry import Registry
from quanta.registry.models import BuildRun
from tests.conftest import mesh_as
from tests.test_registry import register, registry_backends

REVENUE = "finance.revenue_by_nation"
SUPPLIERS = "supply.suppliers"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@contextmanager
def quanta_serve(root: Path, *args: str) -> Iterator[str]:
    """``quanta serve`` in its own process group on a free port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUANTA_", "PROMETHEUS_"))}
    command = [sys.executable, "-m", "quanta.interfaces.cli.main", "serve", "--port", str(port), *args]
    server = subprocess.Popen(command, cwd=root, env=env, start_new_session=True, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else "exited"
            with suppress(httpx.TransportError):
                if httpx.get(url + "/metrics", timeout=5).status_code in (200, 401):
                    break
            assert time.monotonic() < deadline, "quanta serve did not start"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # uvicorn stops its workers with it
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def mesh_with_a_failed_build(built_demo: Path) -> Path:
    """The demo mesh after one more build of supply.suppliers that fails its contract."""
    contract = built_demo / "domains/supply/suppliers/suppliers.odcs.yaml"
    contract.write_text(
        contract.read_text()
        .replace("version: 1.0.0", "version: 2.0.0", 1)
        .replace("          maximum: 24", "          maximum: 10")
    )
    product = contract.parent / "product.yaml"
    product.write_text(product.read_text().replace("version: 1.0.0", "version: 2.0.0", 1))
    [failed] = Mesh.open(built_demo).build([SUPPLIERS], force=True)
    assert failed.status == "failed" and failed.checks["summary"]["failed"] >= 1
    return built_demo


def test_a_multi_worker_server_exposes_real_builds_and_queries(mesh_with_a_failed_build: Path) -> None:
    root = mesh_with_a_failed_build
    admin = Mesh.open(root)
    token = {who: admin.create_token(f"metrics-{who}", principal_id=who)[0] for who in ("local-admin", "ana")}
    scraper, ana = ({"Authorization": f"Bearer {token[who]}"} for who in ("local-admin", "ana"))
    with quanta_serve(root, "--workers", "2", "--require-token", "--scheduler", "0") as url:
        anonymous = httpx.get(url + "/metrics")
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        refused = httpx.get(url + "/metrics", headers=ana)
        assert (
            refused.status_code == 403 and refused.json()["detail"] == "ana may not read the platform metrics"
        )

        before_at = datetime.now(UTC)
        first = httpx.get(url + "/metrics", headers=scraper)
        after_at = datetime.now(UTC)
        assert first.status_code == 200 and first.headers["content-type"].startswith("text/plain")
        before = samples(first.text)
        _builds_are_the_registry_runs(admin, before)
        _freshness_is_the_age_of_each_current_publish(admin, before, before_at, after_at)

        queries = [f"select count(*) from {REVENUE}"] * 3 + ["select * from supply.parts"] * 2
        queries.append(f"select nonexistent from {REVENUE}")
        answers = [httpx.post(url + "/api/v1/query", json={"sql": sql}, headers=ana) for sql in queries]
        assert [a.status_code for a in answers] == [200, 200, 200, 403, 403, 400]

        # Each scrape opens a new connection, so the two workers both answer; all must say the same.
        scrapes = [samples(httpx.get(url + "/metrics", headers=scraper).text) for _ in range(8)]
    for outcome, made in (("ok", 3), ("denied", 2), ("error", 1)):
        name, labels = "quanta_query_duration_seconds_count", {"interface": "http", "outcome": outcome}
        counts = {value(s, name, **labels) - value(before, name, **labels) for s in scrapes}
        assert counts == {made}, (outcome, counts)
    stable = [{k: v for k, v in s.items() if "freshness_lag" not in k[0]} for s in scrapes]
    assert all(s == stable[0] for s in stable)


def _builds_are_the_registry_runs(mesh: Mesh, found: Samples) -> None:
    runs = [r for r in mesh.registry.runs(limit=1000) if r.finished_at is not None]
    for (product_id, status), count in Counter((r.product_id, r.status) for r in runs).items():
        labels = {"product": product_id, "status": status}
        assert value(found, "quanta_build_duration_seconds_count", **labels) == count
        took = sum(
            (r.finished_at - r.started_at).total_seconds()
            for r in runs
            if (r.product_id, r.status) == (product_id, status) and r.finished_at
        )
        assert value(found, "quanta_build_duration_seconds_sum", **labels) == pytest.approx(took, abs=0.01)
    [failed] = [r for r in runs if r.product_id == SUPPLIERS and r.status == "failed"]
    checks = failed.details["checks"]["checks"]
    failures = Counter(c["severity"] for c in checks if c["verdict"] in ("failed", "error"))
    assert failures
    for severity, count in failures.items():
        assert value(found, "quanta_check_failures_total", product=SUPPLIERS, severity=severity) == count
    by_kind = Counter((p.domain, p.type or "unknown", p.status) for p in mesh.products())
    for (domain, kind, status), count in by_kind.items():
        assert value(found, "quanta_products", domain=domain, type=kind, status=status) == count


def _freshness_is_the_age_of_each_current_publish(
    mesh: Mesh, found: Samples, before: datetime, after: datetime
) -> None:
    for product in mesh.products():
        current = mesh.registry.current_publish(product.id)
        assert current is not None
        lag = value(found, "quanta_product_freshness_lag_seconds", product=product.id)
        assert (before - current.created_at).total_seconds() - 0.01 <= lag
        assert lag <= (after - current.created_at).total_seconds() + 0.01
        stamp = value(found, "quanta_product_last_publish_timestamp_seconds", product=product.id)
        assert stamp == pytest.approx(current.created_at.timestamp())


def test_multiprocess_mode_sums_what_separate_processes_recorded(tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "QUANTA_INTERFACE": "pgwire"}
    record = (
        "import sys; from quanta.observability.prometheus import enable_query_metrics, observe_query; "
        "enable_query_metrics(); [observe_query(sys.argv[1], 0.02) for _ in range(int(sys.argv[2]))]"
    )
    for outcome, times in (("ok", "3"), ("ok", "4"), ("denied", "2")):
        subprocess.run([sys.executable, "-c", record, outcome, times], env=env, check=True, timeout=60)
    render = (
        "import sys; from quanta.registry import Registry; from quanta.observability.prometheus import "
        "PlatformMetrics; sys.stdout.write(PlatformMetrics(Registry.open(sys.argv[1])).render()[0].decode())"
    )
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    shown = subprocess.run(
        [sys.executable, "-c", render, url], env=env, check=True, timeout=60, capture_output=True, text=True
    )
    found = samples(shown.stdout)
    name = "quanta_query_duration_seconds_count"
    assert value(found, name, interface="pgwire", outcome="ok") == 7
    assert value(found, name, interface="pgwire", outcome="denied") == 2
    assert value(
        found, "quanta_query_duration_seconds_sum", interface="pgwire", outcome="ok"
    ) == pytest.approx(0.14)


def test_local_mode_is_open_and_openmetrics_is_negotiated(built_demo: Path) -> None:
    client = TestClient(create_app(mesh_as(built_demo, "local-admin")))
    plain = client.get("/metrics")
    assert plain.status_code == 200 and "quanta_build_duration_seconds_bucket" in plain.text
    open_metrics = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.rstrip().endswith("# EOF")


def test_a_token_without_the_read_scope_may_not_scrape(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    token, _ = mesh.create_token("metrics-request-only", scopes=["request"])
    server = TestClient(create_app(mesh, server_mode=True), raise_server_exceptions=False)
    refused = server.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and "do not include 'read'" in refused.json()["detail"]


def test_a_metrics_scoped_token_scrapes_and_reads_nothing_else(built_demo: Path) -> None:
    mesh = Mesh.open(built_demo)
    token, _ = mesh.create_token("prometheus", scopes=["metrics"])
    server = TestClient(create_app(mesh, server_mode=True), raise_server_exceptions=False)
    bearer = {"Authorization": f"Bearer {token}"}
    assert server.get("/metrics", headers=bearer).status_code == 200
    data = server.post("/api/v1/query", json={"sql": "select 1 from sales.orders"}, headers=bearer)
    assert data.status_code == 403 and "do not include 'read'" in data.json()["detail"]
    with pytest.raises(QuantaError, match="cannot hold scope metrics"):
        mesh_as(built_demo, "ana").create_token("mine", scopes=["metrics"])


# --- the collector's SQL on both registry backends ------------------------------------------------


@pytest.fixture(params=registry_backends())
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    url = (
        f"sqlite:///{tmp_path / 'registry.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_database_url")
    )
    reg = Registry.open(url)
    yield reg
    reg.close()


def test_build_durations_are_bucketed_by_the_database(registry: Registry) -> None:
    register(registry, "sales.orders")
    took = {"r1": 3.0, "r2": 100.0, "r3": 4000.0, "r4": 0.5}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for run_id, seconds in took.items():
        registry.start_run(run_id, "sales.orders", "1.0.0", "manual")
        registry.finish_run(run_id, "failed" if run_id == "r4" else "published")
        with registry.session() as s:
            s.execute(
                update(BuildRun)
                .where(BuildRun.id == run_id)
                .values(started_at=start, finished_at=start + timedelta(seconds=seconds))
            )
    registry.start_run("r5", "sales.orders", "1.0.0", "manual")  # still running: not a duration yet
    registry.record_check_tallies("r4", "sales.orders", [_check("failed", "error")] * 2 + [_check("passed")])
    registry.record_check_tallies("r4", "sales.orders", [_check("failed", "error")])  # told twice: once
    facts = read_facts(registry)
    [published] = [b for b in facts.builds if b.status == "published"]
    assert published.count == 3 and published.seconds == pytest.approx(4103.0, abs=0.01)
    expected = tuple(sum(1 for s in (3.0, 100.0, 4000.0) if s <= bound) for bound in BUILD_BUCKETS)
    assert published.buckets == expected
    assert facts.running == 1
    assert facts.failures == [("sales.orders", "error", 2)]


def _check(verdict: str, severity: str = "error") -> dict[str, Any]:
    return {"name": "c", "kind": "range", "verdict": verdict, "severity": severity}
