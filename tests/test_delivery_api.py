"""File deliveries through the REST API, made by ``quanta serve``'s background deliverer: a
subscription created over HTTP is delivered by the served app within seconds, and so is each version
published after it; bad payloads are problems saying what to fix; a principal sees and stops only its
own deliveries; two server workers never write the same version twice."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from quanta.mesh import Mesh
from tests.conftest import _build_demo, mesh_as, serve_app
from tests.test_changes import PRODUCT, change_customers

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo mesh of this module's own: it publishes a new version of customers.customers."""
    return _build_demo(tmp_path_factory.mktemp("delivery-api") / "mesh")


@pytest.fixture(scope="module")
def tokens(root: Path) -> dict[str, str]:
    admin = Mesh.open(root)
    return {
        "admin": admin.create_token("admin", scopes=["admin"])[0],
        "ana": admin.create_token("ana", scopes=["read", "request"], principal_id="ana")[0],
        "ana-read": admin.create_token("ana-read", scopes=["read"], principal_id="ana")[0],
    }


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[str]:
    yield from serve_app(Mesh.open(root), server_mode=True)


def http(server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=120
    )


def wait_for(path: Path, seconds: float = 15.0) -> dict[str, object]:
    """The manifest at ``path`` once the server has written it (the commit marker of a delivery)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} not delivered within {seconds} s"
        time.sleep(0.1)
    manifest: dict[str, object] = json.loads(path.read_text())
    return manifest


def test_the_server_delivers_a_rest_subscription_and_each_new_version(
    root: Path, server: str, tokens: dict[str, str]
) -> None:
    # the served app (in this process) runs its file deliverer beside the alert deliverer
    assert {"file delivery", "alert delivery"} <= {t.name for t in threading.enumerate()}
    with http(server, tokens["admin"]) as client:
        created = client.post(
            f"/products/{PRODUCT}/deliveries",
            json={"folder": "crm/inbox", "format": "parquet", "mode": "changes"},
        )
        assert created.status_code == 201, created.text
        subscription = created.json()
        folder = Path(subscription["folder"])
        assert folder == (root / ".quanta/deliveries/local-admin/crm/inbox").resolve()
        assert (subscription["product_id"], subscription["mode"], subscription["principal"]) == (
            PRODUCT, "changes", "local-admin",
        )  # fmt: skip
        # the current version: queued by the request, written by the served app's background deliverer
        first = wait_for(folder / f"{PRODUCT}@1.0.0.manifest.json")
        assert (first["version"], first["mode"], first["rows"]) == ("1.0.0", "full", 1500)
        listed = {s["id"]: s for s in client.get("/deliveries").json()}
        mine = listed[subscription["id"]]
        assert mine["delivered_version"] == "1.0.0"
        assert mine["latest"]["status"] == "delivered" and mine["latest"]["version"] == "1.0.0"
        # a new version, built through the API: the build returns, the server delivers it within seconds
        change_customers(root, "1.1.0")
        built = client.post(f"/products/{PRODUCT}/build")
        assert built.status_code == 200 and built.json()[0]["status"] == "published", built.text
        changes = wait_for(folder / f"{PRODUCT}@1.0.0..1.1.0.manifest.json")
        assert (changes["mode"], changes["since"], changes["rows"]) == ("changes", "1.0.0", 6)
        assert client.get(f"/deliveries/{subscription['id']}").json()["delivered_version"] == "1.1.0"
    exports = [
        e for e in Mesh.open(root).audit_log() if e.kind == "export" and e.details.get("file") == str(folder)
    ]
    assert len(exports) == 2  # each version written once


BAD = [
    ({"folder": "/etc"}, "body.folder", "relative path"),
    ({"folder": "../../elsewhere"}, "body.folder", "never '..'"),
    ({"folder": "inbox/../../x"}, "body.folder", "e.g. crm/inbox"),
    ({"folder": ""}, "body.folder", "at least 1 character"),
    ({}, "body.folder", "Field required"),
    ({"folder": "inbox", "format": "xlsx"}, "body.format", "'parquet' or 'csv'"),
    ({"folder": "inbox", "mode": "sometimes"}, "body.mode", "'full' or 'changes'"),
    ({"folder": "inbox", "when": "always"}, "body.when", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "where", "how"), BAD)
def test_bad_payloads_are_problems_saying_where_and_how(
    server: str, tokens: dict[str, str], body: dict[str, str], where: str, how: str
) -> None:
    with http(server, tokens["ana"]) as client:
        answer = client.post("/products/finance.revenue_by_nation/deliveries", json=body)
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM, answer.text
    problem = answer.json()
    assert problem["status"] == 422 and where in problem["detail"]
    [error] = problem["errors"]
    assert error["path"] == where and how in error["message"], error


def test_refusals_are_problems_with_a_hint(root: Path, server: str, tokens: dict[str, str]) -> None:
    with http(server, tokens["ana"]) as client:
        denied = client.post("/products/sales.orders/deliveries", json={"folder": "orders"})
        assert denied.status_code == 400 and denied.headers["content-type"] == PROBLEM
        assert "ana may not read sales.orders" in denied.json()["detail"]
        assert denied.json()["hint"] == "quanta access request sales.orders --purpose '...'"
        unknown = client.post("/products/nope.nothing/deliveries", json={"folder": "x"})
        assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    with http(server, tokens["ana-read"]) as client:  # a write needs the request scope
        scoped = client.post("/products/finance.revenue_by_nation/deliveries", json={"folder": "x"})
        assert scoped.status_code == 403 and "--scopes read,request" in scoped.json()["hint"]
    assert not (root / ".quanta/deliveries/ana/orders").exists()


def test_a_principal_sees_and_stops_only_its_own_deliveries(
    root: Path, server: str, tokens: dict[str, str]
) -> None:
    with http(server, tokens["admin"]) as admin:
        theirs = admin.post(f"/products/{PRODUCT}/deliveries", json={"folder": "admins-only"}).json()
    with http(server, tokens["ana"]) as client:
        created = client.post("/products/finance.revenue_by_nation/deliveries", json={"folder": "finance"})
        assert created.status_code == 201, created.text
        mine = created.json()
        assert Path(mine["folder"]) == (root / ".quanta/deliveries/ana/finance").resolve()
        listed = client.get("/deliveries").json()
        assert [s["id"] for s in listed] == [mine["id"]] and {s["principal"] for s in listed} == {"ana"}
        for answer in (
            client.get(f"/deliveries/{theirs['id']}"),
            client.delete(f"/deliveries/{theirs['id']}"),
        ):
            assert answer.status_code == 404 and answer.headers["content-type"] == PROBLEM
        wait_for(Path(mine["folder"]) / "finance.revenue_by_nation@1.0.0.manifest.json")
        assert client.delete(f"/deliveries/{mine['id']}").status_code == 204
        assert client.get("/deliveries").json() == []
        assert client.get(f"/deliveries/{mine['id']}").status_code == 404
    with http(server, tokens["admin"]) as admin:
        assert theirs["id"] in {s["id"] for s in admin.get("/deliveries").json()}  # still there


def test_the_openapi_document_describes_the_delivery_endpoints(server: str) -> None:
    document = httpx.get(f"{server}/openapi.json").json()
    paths = document["paths"]
    assert {"post"} <= set(paths["/api/v1/products/{product_id}/deliveries"])
    assert {"get", "delete"} <= set(paths["/api/v1/deliveries/{subscription_id}"])
    created = paths["/api/v1/products/{product_id}/deliveries"]["post"]["responses"]
    assert {"201", "422", "403"} <= set(created)
    assert (
        "QUANTA_DELIVERY_ROOT"
        in document["components"]["schemas"]["FileDeliveryIn"]["properties"]["folder"]["description"]
    )


def test_two_workers_write_each_version_once(root: Path, tmp_path: Path) -> None:
    """Two server workers (two meshes over one registry), each with its background deliverer, and
    many deliveries queued at once: every one is claimed and written by one worker only."""
    workers = [mesh_as(root, "ana"), mesh_as(root, "ana")]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run_deliveries, args=(stop, 0.05), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    folders = [tmp_path / f"inbox-{i}" for i in range(6)]
    try:
        for folder in folders:
            workers[0].subscribe_delivery("finance.revenue_by_nation", folder, format="csv")
        for worker in workers:
            worker.deliver_soon()
        for folder in folders:
            wait_for(folder / "finance.revenue_by_nation@1.0.0.manifest.json", seconds=60)
    finally:
        stop.set()
        for worker in workers:
            worker.stop_deliveries()
        for thread in threads:
            thread.join(timeout=30)
    written = [e.details.get("file") for e in Mesh.open(root).audit_log() if e.kind == "export"]
    assert sorted(f for f in written if str(f).startswith(str(tmp_path))) == sorted(map(str, folders))
    attempts = [
        d.attempts for d in Mesh.open(root).alert_deliveries() if d.kind == "file" and str(tmp_path) in d.sink
    ]
    assert attempts == [1] * len(folders)


def test_the_product_page_sets_up_and_stops_a_delivery(
    root: Path, server: str, tokens: dict[str, str]
) -> None:
    product = "finance.revenue_by_nation"
    with httpx.Client(base_url=server, cookies={"quanta_token": tokens["ana"]}, timeout=120) as web:
        page = web.get(f"/products/{product}")
        assert page.status_code == 200 and 'id="deliveries-h"' in page.text
        assert str((root / ".quanta/deliveries/ana").resolve()) in page.text  # where the files will go
        made = web.post(f"/products/{product}/deliveries", data={"folder": "web/inbox", "format": "csv"})
        assert made.status_code == 303, made.text
        target = made.headers["location"]
        assert target.startswith(f"/products/{product}?delivery=") and target.endswith("#deliveries-h")
        folder = (root / ".quanta/deliveries/ana/web/inbox").resolve()
        shown = web.get(target)
        assert "Set up." in shown.text and str(folder) in shown.text
        wait_for(folder / f"{product}@1.0.0.manifest.json")
        assert (folder / f"{product}@1.0.0.csv").exists()
        subscription = int(target.split("delivery=")[1].split("#")[0])
        stopped = web.post(f"/deliveries/{subscription}/delete")
        assert (
            stopped.status_code == 303 and stopped.headers["location"] == f"/products/{product}#deliveries-h"
        )
        assert str(folder) not in web.get(f"/products/{product}").text
        refused = web.post(f"/products/{product}/deliveries", data={"folder": "../../etc"})
        assert refused.status_code == 400 and "e.g. crm/inbox" in refused.text
    with http(server, tokens["admin"]) as admin:
        theirs = admin.post(f"/products/{product}/deliveries", json={"folder": "web-admin"}).json()
    with httpx.Client(base_url=server, cookies={"quanta_token": tokens["ana"]}, timeout=120) as web:
        assert web.post(f"/deliveries/{theirs['id']}/delete").status_code == 404
