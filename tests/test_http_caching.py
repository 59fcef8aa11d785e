"""Conditional GETs (ETag, 304, Cache-Control) on pages and API resources, and caches that never
serve a stale catalog: a publish shows on every server worker within a second."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def local(built_demo: Path) -> TestClient:
    return TestClient(create_app(Mesh.open(built_demo)), raise_server_exceptions=False)


@pytest.mark.parametrize(
    "path", ["/api/v1/products/sales.orders", "/api/v1/search?q=revenue", "/products/sales.orders"]
)
def test_a_resource_the_client_has_is_a_304(local: TestClient, path: str) -> None:
    first = local.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "private, no-cache"
    again = local.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = local.get(path, headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_errors_and_writes_are_never_tagged(local: TestClient) -> None:
    missing = local.get("/api/v1/products/sales.nope")
    assert missing.status_code == 404 and "etag" not in missing.headers
    posted = local.post("/api/v1/query", json={"sql": "select 1 as x"})
    assert "etag" not in posted.headers


def test_static_assets_are_kept_an_hour_and_revalidated(local: TestClient) -> None:
    css = local.get("/static/quanta.css")
    assert css.status_code == 200 and css.headers["cache-control"] == "public, max-age=3600"
    assert local.get("/static/quanta.css", headers={"If-None-Match": css.headers["etag"]}).status_code == 304


def test_a_publish_shows_on_every_worker_within_a_second(built_demo: Path, tmp_path: Path) -> None:
    # Two server workers answer a reader in a loop while a new version is published from the CLI:
    # every answer that starts a second after the publish returned shows the new version.
    import shutil

    mesh = tmp_path / "mesh"
    shutil.copytree(built_demo, mesh)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "QUANTA_DATABASE_URL"}
    server = subprocess.Popen(
        [sys.executable, "-m", "quanta.interfaces.cli.main", "serve", "--port", str(port), "--workers", "2"],
        cwd=mesh,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    seen: list[tuple[float, str]] = []
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            while not stop.is_set():
                started = time.monotonic()
                answer = http.get("/api/v1/products/sales.orders").json()
                seen.append((started, answer["product"]["served_version"]))

    try:
        _wait(port)
        readers = [threading.Thread(target=read) for _ in range(4)]
        for reader in readers:
            reader.start()
        ready = time.monotonic() + 60
        while len(seen) < 20 and time.monotonic() < ready:  # readers under way before anything changes
            time.sleep(0.05)
        building = time.monotonic()
        product = mesh / "domains" / "sales" / "orders" / "product.yaml"
        text = product.read_text(encoding="utf-8")
        product.write_text(text.replace("version: 1.0.0", "version: 1.0.1", 1), encoding="utf-8")
        built = run_cli("build", "sales.orders", cwd=mesh)
        assert built.returncode == 0, built.stdout + built.stderr
        published = time.monotonic()
        time.sleep(2.5)
        stop.set()
        for reader in readers:
            reader.join()
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
    before = [v for t, v in seen if t < building]
    after = [v for t, v in seen if t > published + 1.0]
    assert before and set(before) == {"1.0.0"}
    assert after and set(after) == {"1.0.1"}, sorted(set(after))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/products", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the server did not come up")


def test_a_revoked_grant_stops_the_next_read_in_every_process(granted_demo: Path) -> None:
    # The server's caches are current for access: a revocation in another process (the owner's CLI)
    # refuses ana's very next read, with no recheck interval in between.
    from quanta.mesh import acting_as
    from quanta.query.products import AccessDenied

    server, owner = Mesh.open(granted_demo), Mesh.open(granted_demo)
    sql = "select customer_id from customers.customers limit 1"
    ana = server.principal("ana")
    with acting_as("ana"):
        assert server.governed_query(sql).table.num_rows == 1
    assert server.access(ana, "customers.customers").allowed  # the grant is now cached in the server
    [grant] = [g for g in owner.access_requests("customers.customers") if g.principal == "ana"]
    owner.revoke_access(grant.id, "project over")
    assert not server.access(ana, "customers.customers").allowed
    with acting_as("ana"), pytest.raises(AccessDenied):
        server.governed_query(sql)
