"""Product health: anomaly detection (robust statistics, seasonality, too little history), freshness
and SLO attainment, schema changes between publishes, the health CLI, API and product-page panel,
and the server's background health checks and alert delivery."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quanta.interfaces.api import create_app
from quanta.mesh import Mesh
from quanta.observability.anomalies import NULL_RATE, VOLUME, Detector, detect_season, profile_anomalies
from quanta.observability.health import Freshness, Sla, freshness, schema_changes, slo_attainment
from quanta.observability.incidents import alert
from quanta.registry.stores.observations import ProfileRecord
from quanta.registry.stores.publishing import PublishRecord
from tests import test_alerts
from tests.conftest import run_cli
from tests.test_alerts import SECRET, Receiver, hook_alerts, ops_workspace, verified

receiver = test_alerts.receiver  # the fixture: a real HTTP server on localhost
T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def noisy(values: list[float], spread: float, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [v + rng.gauss(0, spread) for v in values]


# --- anomalies ---------------------------------------------------------------------------------------


def test_a_spike_and_a_drop_stand_out_and_normal_noise_does_not() -> None:
    history = noisy([1000.0] * 20, 15)
    spike, drop = VOLUME.check("rows", history, 1600), VOLUME.check("rows", history, 310)
    assert spike is not None and spike.direction == "spike" and spike.score > 3.5
    assert drop is not None and drop.direction == "drop" and drop.severity == "critical"
    assert round(drop.expected) in range(990, 1011) and drop.history == 20 and drop.season is None
    assert all(VOLUME.check("rows", history, v) is None for v in (985, 1000, 1030))


def test_one_outlier_in_the_history_does_not_hide_the_next() -> None:
    history = noisy([1000.0] * 20, 15)
    history[10] = 50_000  # a mean and a standard deviation would now accept almost anything
    assert VOLUME.check("rows", history, 1600) is not None


def test_too_little_history_gives_no_verdict() -> None:
    assert VOLUME.check("rows", [1000.0] * 7, 1_000_000) is None
    assert VOLUME.check("rows", [1000.0] * 8, 1_000_000) is not None
    assert Detector(min_history=3).check("rows", [1.0, 1.0, 1.0], 9) is not None


def test_a_flat_history_is_judged_against_a_floor_not_against_zero() -> None:
    assert VOLUME.check("rows", [1000.0] * 10, 1001) is None  # 1 row more is no anomaly
    assert VOLUME.check("rows", [1000.0] * 10, 1200) is not None
    assert NULL_RATE.check("null_rate:email", [0.0] * 10, 0.005) is None
    jump = NULL_RATE.check("null_rate:email", [0.0] * 10, 0.3)
    assert jump is not None and jump.describe().startswith("null rate of email spike: 30.0% where 0.0%")


def _weekly(weeks: int) -> list[float]:
    """Daily row counts: 1,000 on weekdays, 300 on weekends."""
    return noisy([300.0 if day % 7 in (5, 6) else 1000.0 for day in range(7 * weeks)], 15)


def test_a_weekly_season_is_found_and_each_day_is_judged_against_its_own_weekday() -> None:
    history = _weekly(5)[:33]  # Monday of week 1 .. Friday of week 5; the next day is a Saturday
    assert detect_season(history) == 7
    assert VOLUME.check("rows", history, 300) is None  # a normal Saturday
    saturday_like_monday = VOLUME.check("rows", history, 1000)
    assert saturday_like_monday is not None and saturday_like_monday.season == 7
    assert round(saturday_like_monday.expected) in range(280, 321)
    weekday = VOLUME.check("rows", history[:-5], 300)  # the next day is a Monday
    assert weekday is not None and weekday.direction == "drop"
    # Without seasonality every Saturday would look like a drop.
    assert Detector(min_cycles=100).check("rows", history, 300) is not None


def test_no_season_in_noise_or_a_trend_or_too_few_cycles() -> None:
    assert detect_season(noisy([1000.0] * 40, 20)) is None
    assert detect_season([1000.0 + 25 * i for i in range(40)]) is None
    assert detect_season(_weekly(2)) is None  # two weeks are not three cycles


def _profile(
    i: int, rows: int, nulls: dict[str, int], columns: dict[str, str] | None = None
) -> ProfileRecord:
    at = T0 + timedelta(days=i)
    return ProfileRecord(
        "ops.events", f"run{i}", "1.0.0", at, rows, 1000, at, columns or {"id": "BIGINT"}, nulls
    )


def test_null_rates_are_judged_per_column_over_the_publish_history() -> None:
    profiles = [_profile(i, 1000, {"id": 0, "email": 20 + i % 3}) for i in range(10)]
    assert profile_anomalies(profiles) == []
    burst = [*profiles, _profile(10, 1000, {"id": 0, "email": 400})]
    [anomaly] = profile_anomalies(burst)
    assert anomaly.metric == "null_rate:email" and anomaly.value == 0.4 and anomaly.history == 10


# --- freshness, SLO, schema changes ---------------------------------------------------------------------


def _publish(at: datetime, run: str = "r1") -> PublishRecord:
    return PublishRecord(
        "ops.events", "1.0.0", run, {"events": 1}, {"events": 20}, {}, {}, {}, "f", at, "olga"
    )


def test_freshness_is_the_age_of_the_newest_data_or_of_the_publish() -> None:
    by_data = Sla(timedelta(days=1), "events.at", "latency 1d (events.at)")
    by_publish = Sla(timedelta(days=1), None, "latency 1d")
    profile = replace(_profile(0, 20, {}), newest_at=T0 - timedelta(days=2))
    now = T0 + timedelta(hours=3)
    late = freshness(by_data, _publish(T0), profile, now)
    assert (late.status, late.measured_from, late.age_seconds) == ("breached", "data", 2 * 86400 + 3 * 3600)
    fine = freshness(by_publish, _publish(T0), profile, now)
    assert (fine.status, fine.measured_from, fine.age_seconds) == ("ok", "publish", 3 * 3600)
    assert freshness(None, _publish(T0), profile, now).status == "no-sla"
    assert freshness(by_data, None, None, now) == Freshness("never", by_data, None, None, "publish", None)


def test_slo_attainment_is_the_share_of_time_within_the_sla() -> None:
    sla = Sla(timedelta(days=1), None, "latency 1d")
    # Published at day 0 and day 2 (fresh data each time); late from day 1 to day 2.
    points = [(T0, T0), (T0 + timedelta(days=2), T0 + timedelta(days=2))]
    assert slo_attainment(sla, points, T0 + timedelta(days=3), days=30) == pytest.approx(2 / 3)
    # A window starting at day 1.5 sees half a day late out of one and a half.
    assert slo_attainment(sla, points, T0 + timedelta(days=3), days=1.5) == pytest.approx(2 / 3)
    # A day up to day 2.5: late from 1.5 until the publish at 2.
    assert slo_attainment(sla, points, T0 + timedelta(days=2, hours=12), days=1) == pytest.approx(0.5)
    assert slo_attainment(None, points, T0, 30) is None and slo_attainment(sla, [], T0, 30) is None


def test_schema_changes_between_consecutive_publishes() -> None:
    before = _profile(0, 10, {}, {"id": "BIGINT", "kind": "VARCHAR", "at": "TIMESTAMP"})
    same = _profile(1, 10, {}, {"id": "BIGINT", "kind": "VARCHAR", "at": "TIMESTAMP"})
    after = _profile(2, 10, {}, {"id": "VARCHAR", "at": "TIMESTAMP", "source": "VARCHAR"})
    [change] = schema_changes([before, same, after])
    assert (change.added, change.removed, change.retyped) == (["source"], ["kind"], ["id: BIGINT ► VARCHAR"])
    assert change.breaking and change.describe() == "added source; removed kind; retyped id: BIGINT ► VARCHAR"


def test_a_breaking_schema_change_is_recorded_and_alerted(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    alerts = "sinks:\n  log: {type: log}\nroutes:\n  - {events: [breaking_change, publish], sinks: [log]}\n"
    mesh = ops_workspace(root, alerts=alerts)
    mesh.build()
    folder = root / "domains" / "ops" / "events"
    contract = (folder / "events.odcs.yaml").read_text()
    contract = contract.replace("version: 1.0.0", "version: 2.0.0").replace(
        "      - {name: kind, logicalType: string}\n", ""
    )
    (folder / "events.odcs.yaml").write_text(contract)
    (folder / "product.yaml").write_text(
        (folder / "product.yaml").read_text().replace("version: 1.0.0", "version: 2.0.0")
    )
    (folder / "transform.sql").write_text('select id, "at" from raw\n')
    product = (folder / "product.yaml").read_text()
    (folder / "product.yaml").write_text(product + "build:\n  transform:\n    sql: transform.sql\n")
    assert [r.status for r in Mesh.open(root).build()] == ["published"]
    [change] = mesh.product_health("ops.events").schema_changes
    assert (change.from_version, change.to_version, change.removed, change.breaking) == (
        "1.0.0",
        "2.0.0",
        ["kind"],
        True,
    )
    kinds = [d.kind for d in reversed(mesh.registry.deliveries())]
    assert kinds == ["publish", "publish", "breaking_change"]
    [breaking] = [d for d in mesh.registry.deliveries() if d.kind == "breaking_change"]
    assert breaking.payload["message"] == "ops.events 1.0.0 ► 2.0.0: removed kind"


# --- CLI, API, panel, server --------------------------------------------------------------------------------


def test_the_health_command_checks_and_shows(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ops_workspace(root, hours_old=30).build()
    listed = run_cli("health", cwd=root)
    assert listed.returncode == 0, listed.stderr
    assert "ops.events" in listed.stdout and "degraded" in listed.stdout and "BREACHED" in listed.stdout
    detail = run_cli("health", "ops.events", cwd=root)
    assert (
        "open incident #1 (freshness, warning)" in detail.stdout
        and "SLO attainment (30 days)" in detail.stdout
    )
    document = json.loads(run_cli("health", "ops.events", "--json", cwd=root).stdout)
    api = TestClient(create_app(Mesh.open(root))).get("/api/v1/products/ops.events/health").json()
    assert (
        document.keys() == api.keys()
        and document["freshness"]["status"] == api["freshness"]["status"] == "breached"
    )
    assert document["runs"][0]["rows"] == 20 and document["open_incidents"][0]["kind"] == "freshness"
    unknown = run_cli("health", "ops.nothing", cwd=root)
    assert unknown.returncode == 1 and "no product 'ops.nothing'" in unknown.stderr


def test_the_api_lists_health_of_readable_products_page_by_page(built_demo: Path) -> None:
    client = TestClient(create_app(Mesh.open(built_demo)))
    first = client.get("/api/v1/health", params={"limit": 3}).json()
    assert first["total"] == 7 and [h["product_id"] for h in first["items"]] == [
        "customers.customers", "finance.revenue_by_nation", "marketing.customer_segments",
    ]  # fmt: skip
    orders = client.get("/api/v1/products/sales.orders/health").json()
    # TPC-H orders end in 1998: by its own SLA (1 day, on order_date) the demo's data is stale.
    assert orders["status"] == "failing" and orders["freshness"]["measured_from"] == "data"
    assert orders["freshness"]["sla"]["text"] == "latency 1d (orders.order_date)"
    assert orders["runs"][0]["bytes"] > 0 and orders["slo_attainment"] == 0.0
    open_ = client.get("/api/v1/incidents", params={"status": "open", "kind": "freshness"}).json()
    assert {i["product_id"] for i in open_["items"]} == {"sales.orders", "sales.lineitems"}
    ana = Mesh.open(built_demo).create_token("health-ana", scopes=["read"], principal_id="ana")[0]
    server = TestClient(create_app(Mesh.open(built_demo), server_mode=True))
    seen = server.get("/api/v1/health", headers={"Authorization": f"Bearer {ana}"}).json()
    assert "sales.orders" not in [h["product_id"] for h in seen["items"]]  # source-aligned: sales only
    assert "finance.revenue_by_nation" in [h["product_id"] for h in seen["items"]]


def test_the_server_checks_health_and_delivers_alerts_in_the_background(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    root = tmp_path / "ws"
    mesh = ops_workspace(root, alerts=hook_alerts(receiver.url), hours_old=30)
    mesh.build()
    mesh.flush_alerts(10)
    assert verified(receiver.wait_for(1)[0])["kind"] == "incident.opened"
    # An alert some other process raised (and could not send) waits in the outbox.
    waiting = alert("incident.opened", "ops.events", "warning", "raised elsewhere", "m", datetime.now(UTC))
    mesh.registry.enqueue_alert(waiting.to_dict(), ["ops-hook"])
    checks: list[int] = []
    real = mesh.check_health

    def check_health(product_id: str | None = None, now: datetime | None = None) -> object:
        checks.append(1)
        return real(product_id, now)

    monkeypatch.setattr(mesh, "check_health", check_health)
    with TestClient(create_app(mesh, scheduler=0.1)):
        sent = verified(receiver.wait_for(2)[1])
        deadline = time.monotonic() + 10
        while len(checks) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sent["id"] == waiting.id and len(checks) >= 2
    assert [d.status for d in mesh.registry.deliveries()] == ["delivered", "delivered"]
    assert len(mesh.incidents("ops.events")) == 1  # checked again and again, opened once


@pytest.mark.browser
def test_the_health_panel_shows_open_incidents_and_fits_375px(
    browser: Any, built_demo: Path, tmp_path: Path
) -> None:
    from tests.test_web import _context, _serve, _shot

    with _serve(create_app(Mesh.open(built_demo))) as url:
        page = _context(browser, width=375).new_page()
        page.goto(url + "/products/sales.orders")
        panel = page.locator("#panel-health")
        panel.get_by_role("heading", name="Health failing").wait_for()
        assert panel.get_by_role("alert").inner_text().startswith("1 open incident")
        assert "SLA breached" in panel.inner_text() and "latency 1d (orders.order_date)" in panel.inner_text()
        assert panel.get_by_label("Freshness SLO met over the last 30 days").count() == 1
        page.wait_for_load_state("networkidle")
        _shot(page, tmp_path, "375-health-panel")
        width = page.evaluate("document.body.scrollWidth")
        assert width <= 375, f"the product page scrolls sideways at 375 px with the health panel: {width}px"


def test_the_product_page_agrees_with_the_health_monitor(built_demo: Path) -> None:
    import re

    web = TestClient(create_app(Mesh.open(built_demo)))
    orders = web.get("/products/sales.orders").text  # TPC-H dates end in 1998: its SLA is breached
    assert 'badge fresh-stale">stale' in orders and "badge fresh-fresh" not in orders
    assert re.search(r"newest data \d+ years old", orders)
    customers = web.get("/products/customers.customers").text  # measured from the publish: fresh
    assert 'badge fresh-fresh">fresh' in customers and "newest data" not in customers
