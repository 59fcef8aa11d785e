"""Incidents open by themselves and close on recovery: a late source breaches the freshness SLA, the
owner's webhook hears it (signature verified like a receiver would), the source catches up and the
rebuild closes the incident (and says so). Contract and build failures and anomalies do the same;
an incident is never opened twice for the same problem; only those who may read a product see it."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta.errors import RegistryError
from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from quanta.registry import Registry
from quanta.registry.stores.observations import Finding, Incident
from tests import test_alerts
from tests.conftest import mesh_as, run_cli
from tests.test_alerts import SECRET, Receiver, hook_alerts, ops_workspace, verified, write_events
from tests.test_registry import registry_backends

PRODUCT = "ops.events"
receiver = test_alerts.receiver  # the fixture: a real HTTP server on localhost


def test_a_late_source_opens_an_incident_the_owner_hears_it_and_the_catch_up_closes_it(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    root = tmp_path / "ws"
    # The source is late: its newest event is 30 hours old, and the contract promises at most 1 day.
    mesh = ops_workspace(root, alerts=hook_alerts(receiver.url), hours_old=30)
    assert [r.status for r in mesh.build()] == ["published"]  # the data is valid, just late
    [incident] = mesh.incidents(PRODUCT, status="open")
    assert (incident.kind, incident.key, incident.severity) == ("freshness", "sla", "warning")
    assert incident.title == "stale: newest data is 1 day 6 hours old, the SLA allows 1 day"
    assert incident.details["measured_from"] == "data" and incident.details["sla"] == "latency 1d (events.at)"

    mesh.flush_alerts(10)
    opened = verified(receiver.wait_for(1)[0])
    assert (opened["kind"], opened["product_id"], opened["severity"]) == (
        "incident.opened",
        PRODUCT,
        "warning",
    )
    assert opened["incident"]["id"] == incident.id and opened["incident"]["kind"] == "freshness"

    # Still late an hour later: the same incident, updated, and nobody is told twice.
    later = datetime.now(UTC) + timedelta(hours=1)
    [still] = mesh.check_health(PRODUCT, now=later)
    assert still.id == incident.id and still.occurrences == 2 and "1 day 7 hours old" in still.title
    assert len(mesh.registry.incidents(PRODUCT)) == 1

    # The source catches up: a new drop with events from five minutes ago; the rebuild recovers.
    write_events(root, "day2.csv", datetime.now(UTC) - timedelta(minutes=5), first_id=100)
    rebuilt = Mesh.open(root)
    assert [r.status for r in rebuilt.build()] == ["published"]
    closed = rebuilt.incident(incident.id)
    assert closed.status == "closed" and closed.closed_at and closed.closed_at > closed.opened_at
    assert closed.details["resolution"].endswith("published")
    assert rebuilt.incidents(PRODUCT, status="open") == []

    rebuilt.flush_alerts(10)
    recovered = verified(receiver.wait_for(2)[1])
    assert recovered["kind"] == "incident.closed" and recovered["incident"]["id"] == incident.id
    assert recovered["incident"]["closed_at"] and "closed after" in recovered["message"]
    assert {d.status for d in rebuilt.registry.deliveries()} == {"delivered"}
    assert len(receiver.requests) == 2  # the publish alerts were not routed to olga's webhook
    slo = rebuilt.slo_attainment(PRODUCT)
    assert slo is not None and 0 < slo < 1  # late from the first publish until the catch-up

    listed = run_cli("incidents", "--json", cwd=root)
    [shown] = json.loads(listed.stdout)
    assert shown["id"] == incident.id and shown["status"] == "closed"


def test_without_a_data_element_the_publish_time_is_the_freshness(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    mesh = ops_workspace(root)
    contract = root / "domains" / "ops" / "events" / "events.odcs.yaml"
    contract.write_text(contract.read_text().replace(", element: events.at", ""))
    assert [r.status for r in mesh.build()] == ["published"]
    assert mesh.check_health(PRODUCT) == []  # just published
    published = mesh.registry.current_publish(PRODUCT)
    assert published is not None
    [late] = mesh.check_health(PRODUCT, now=published.created_at + timedelta(days=3))
    assert late.severity == "critical" and late.details["measured_from"] == "publish"  # over twice the SLA
    assert mesh.check_health(PRODUCT, now=published.created_at + timedelta(hours=2)) == []
    assert mesh.incident(late.id).details["resolution"] == "the data is within its freshness SLA again"


def test_a_contract_failure_opens_an_incident_until_good_data_is_published(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    mesh = ops_workspace(root)
    mesh.build()
    write_events(root, "dupes.csv", datetime.now(UTC), rows=3, first_id=0)  # ids 0-2 again: not unique
    [failed] = Mesh.open(root).build()
    assert failed.status == "failed"
    [incident] = mesh.incidents(PRODUCT, status="open")
    assert (incident.kind, incident.key, incident.severity) == ("contract", "checks", "critical")
    assert (
        incident.title.startswith("data failed its contract (") and "nothing was published" in incident.title
    )
    assert all("samples" not in check for check in incident.details["failed"])  # no data in incidents
    [again] = Mesh.open(root).build()  # the same bad data: the same incident, seen twice
    assert again.status == "failed"
    [same] = mesh.incidents(PRODUCT, status="open")
    assert same.id == incident.id and same.occurrences == 2
    (root / "data" / "events" / "dupes.csv").unlink()
    [fixed] = Mesh.open(root).build()
    assert fixed.status in ("published", "skipped")
    assert mesh.incident(incident.id).status == "closed"


def test_a_build_failure_opens_an_incident_and_the_next_good_build_closes_it(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    mesh = ops_workspace(root)
    mesh.build()
    shutil.move(root / "data" / "events", tmp_path / "away")
    [failed] = Mesh.open(root).build()
    assert failed.status == "failed"
    [incident] = mesh.incidents(PRODUCT, status="open")
    assert incident.kind == "build" and incident.title.startswith("build failed: ")
    shutil.move(tmp_path / "away", root / "data" / "events")
    Mesh.open(root).build(force=True)
    assert mesh.incident(incident.id).status == "closed"
    assert [i.kind for i in mesh.incidents(PRODUCT)] == ["build"]


def test_a_volume_spike_opens_an_anomaly_incident_and_a_normal_publish_closes_it(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    mesh = ops_workspace(root)
    for _ in range(9):  # enough history to judge by
        assert [r.status for r in Mesh.open(root).build(force=True)] == ["published"]
    write_events(root, "burst.csv", datetime.now(UTC), rows=500, first_id=1000)
    Mesh.open(root).build()
    [incident] = mesh.incidents(PRODUCT, status="open")
    assert (incident.kind, incident.key) == ("anomaly", "rows")
    assert incident.title.startswith("row count spike: 520 where 20 was expected")
    (root / "data" / "events" / "burst.csv").unlink()
    Mesh.open(root).build()
    assert mesh.incident(incident.id).status == "closed"
    health = mesh.product_health(PRODUCT)
    assert [a.metric for a in health.anomalies] == ["rows"] and health.anomalies[0].value == 520


@pytest.fixture(params=registry_backends())
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


def test_one_open_incident_per_problem_and_one_deliverer_per_alert(registry_url: str) -> None:
    first, second = Registry.open(registry_url), Registry.open(registry_url)
    stale = Finding("freshness", "sla", "warning", "stale: 2 days old", {"age_seconds": 172800})
    opened = first.reconcile_incidents(PRODUCT, ["freshness"], [stale], "recovered")
    again = second.reconcile_incidents(PRODUCT, ["freshness"], [stale], "recovered")
    assert len(opened.opened) == 1 and again.opened == [] and again.updated[0].occurrences == 2
    # The database itself refuses a second open incident for the same product, kind and key.
    with pytest.raises(RegistryError), first.session() as s:
        duplicate = {"kind": "freshness", "key": "sla", "open_key": f"{PRODUCT}|freshness|sla"}
        s.add(
            Incident(
                product_id=PRODUCT, severity="warning", title="t", status="open", details={}, **duplicate
            )
        )
    closed = second.reconcile_incidents(PRODUCT, ["freshness", "anomaly"], [], "fresh again")
    [record] = closed.closed
    assert record.status == "closed" and record.details["resolution"] == "fresh again"
    assert first.open_incidents(PRODUCT) == [] and first.incidents(PRODUCT, status="closed") == [record]
    # Two deliverers asking at once: each due delivery is claimed by exactly one of them.
    for n in range(6):
        first.enqueue_alert({"id": f"alert-{n}", "kind": "publish", "severity": "info"}, ["hook"])
    now, claims = datetime.now(UTC), timedelta(minutes=2)
    taken: list[list[int]] = [[], []]

    def claim(i: int, registry: Registry) -> None:
        taken[i].extend(d.id for d in registry.claim_deliveries(now, claims, 6))

    threads = [threading.Thread(target=claim, args=(i, r)) for i, r in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    both = taken[0] + taken[1]
    assert len(both) == 6 and sorted(both) == sorted(d.id for d in first.deliveries())
    assert first.claim_deliveries(now, claims) == []  # claimed: not due again until the claim lapses
    assert len(first.claim_deliveries(now + claims + timedelta(seconds=1), claims)) == 6
    first.close()
    second.close()


def test_only_those_who_may_read_a_product_see_its_incidents(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    mesh = ops_workspace(root, hours_old=30)
    mesh.build()
    [incident] = mesh.incidents(PRODUCT)
    client = TestClient(create_app(mesh, server_mode=True), raise_server_exceptions=False)
    ana, _ = mesh.create_token("ana", scopes=["read"], principal_id="ana")
    olga, _ = mesh.create_token("olga", scopes=["read"], principal_id="olga")

    def get(path: str, token: str, **params: str) -> object:
        return client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})

    assert get("/api/v1/incidents", olga).json()["items"][0]["id"] == incident.id  # type: ignore[attr-defined]
    assert get("/api/v1/incidents", ana).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}  # type: ignore[attr-defined]
    refused = get(f"/api/v1/incidents/{incident.id}", ana)
    assert (
        refused.status_code == 403 and "ana may not see the health of ops.events" in refused.json()["detail"]
    )  # type: ignore[attr-defined]
    assert get(f"/api/v1/incidents/{incident.id}", olga).json()["kind"] == "freshness"  # type: ignore[attr-defined]
    assert get("/api/v1/products/ops.events/health", ana).status_code == 403  # type: ignore[attr-defined]
    assert get("/api/v1/incidents/999", olga).status_code == 404  # type: ignore[attr-defined]
    filtered = get("/api/v1/incidents", olga, status="closed").json()  # type: ignore[attr-defined]
    assert filtered["total"] == 0
    assert get("/api/v1/incidents", olga, kind="nonsense").status_code == 422  # type: ignore[attr-defined]
    # The product page's panel: the same refusal as the API, rendered for the page.
    client.cookies.set("quanta_token", ana)
    assert client.get("/products/ops.events/panels/health").status_code == 403
    fragment = client.get("/products/ops.events/panels/health", headers={"hx-request": "true"})
    assert 'role="alert"' in fragment.text and "may not see the health" in fragment.text
    client.cookies.set("quanta_token", olga)
    panel = client.get("/products/ops.events/panels/health", headers={"hx-request": "true"}).text
    assert 'aria-labelledby="health-h"' in panel and "1 open incident" in panel and "SLA breached" in panel
    assert mesh_as(root, "ana").incidents() == []
