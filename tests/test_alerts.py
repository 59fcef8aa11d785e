"""Alert sinks and their delivery, against real receivers on localhost: a signed webhook verified the
way a receiver would, a Slack-compatible webhook, email to a real SMTP server (aiosmtpd, plain, login
and STARTTLS), retries with backoff on 500s and timeouts, failures that stay visible, and a dead
webhook that never slows a build down. Also: alerts.yaml errors with their positions, and routes.

``Receiver`` and ``ops_workspace`` are shared with test_incidents.py and test_health.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import pytest

from quanta.mesh import Mesh
from quanta.observability.alerts import Alert, AlertSink, DeliveryError, PermanentDeliveryError
from quanta.observability.alerts.config import AlertsConfig, AlertsConfigError, Audience, DeliverySettings
from quanta.observability.alerts.delivery import Deliverer
from quanta.observability.incidents import alert
from quanta.registry import Registry
from tests.conftest import run_cli

# --- a real HTTP receiver ------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on localhost that records every POST and answers as told: the next statuses
    in ``statuses`` (then 200), after ``delay`` seconds."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, count: int, seconds: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.requests) >= count, f"{len(self.requests)} of {count} requests arrived"
        return self.requests


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            time.sleep(receiver.delay)
            receiver.requests.append(Received(self.path, dict(self.headers), body, time.monotonic()))
            try:
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 400 else b"receiver trouble")
            except OSError:  # the client gave up waiting
                pass

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    server.daemon_threads = True
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


# --- a small workspace: one product whose freshness SLA is measured on its data -----------------

PRODUCT = """\
apiVersion: v1.0.0
kind: DataProduct
id: ops.events
name: Events
version: 1.0.0
domain: ops
status: active
type: source-aligned
owner: olga
inputPorts:
  - name: raw
    source: {type: file, path: data/events/*.csv, format: csv}
outputPorts:
  - name: events
    contract: events.odcs.yaml
"""
CONTRACT = """\
apiVersion: v3.2.0
kind: DataContract
id: ops.events
version: 1.0.0
status: active
schema:
  - name: events
    properties:
      - {name: id, logicalType: integer, required: true, unique: true}
      - {name: kind, logicalType: string}
      - {name: at, logicalType: timestamp}
slaProperties:
  - {property: latency, value: 1, unit: d, element: events.at}
"""
GOVERNANCE = """\
principals:
  - {id: olga, roles: [producer], domains: [ops]}
  - {id: ana, roles: [consumer]}
"""


def write_events(root: Path, name: str, newest: datetime, rows: int = 20, first_id: int = 0) -> None:
    """A CSV drop of ``rows`` events, the newest at ``newest``."""
    lines = ["id,kind,at"]
    for i in range(rows):
        at = (newest - timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{first_id + i},login,{at}")
    (root / "data" / "events").mkdir(parents=True, exist_ok=True)
    (root / "data" / "events" / name).write_text("\n".join(lines) + "\n")


def ops_workspace(root: Path, *, alerts: str | None = None, hours_old: float = 1.0) -> Mesh:
    """A workspace with ``ops.events`` (SLA: data at most 1 day old), its first drop ``hours_old``."""
    Mesh.init(root)
    folder = root / "domains" / "ops" / "events"
    folder.mkdir(parents=True)
    (folder / "product.yaml").write_text(PRODUCT)
    (folder / "events.odcs.yaml").write_text(CONTRACT)
    (root / "governance.yaml").write_text(GOVERNANCE)
    if alerts is not None:
        (root / "alerts.yaml").write_text(alerts)
    write_events(root, "day1.csv", datetime.now(UTC) - timedelta(hours=hours_old))
    return Mesh.open(root)


def hook_alerts(
    url: str,
    *,
    timeout: float = 2.0,
    events: str = "[incident.opened, incident.closed]",
    backoff: float = 0.2,
    attempts: int = 8,
) -> str:
    return f"""\
sinks:
  ops-hook:
    type: webhook
    url: {url}
    secret_env: OPS_HOOK_SECRET
    timeout: {timeout}
routes:
  - name: olga hears about her products
    principal: olga
    events: {events}
    sinks: [ops-hook]
delivery:
  backoff_seconds: {backoff}
  max_attempts: {attempts}
"""


SECRET = "shared-secret-of-ops"


def verified(request: Received, secret: str = SECRET, now: float | None = None) -> dict[str, Any]:
    """Check a webhook request as a receiver would (docs/observability.md), then parse it."""
    timestamp = request.headers["X-Quanta-Timestamp"]
    assert abs((now or time.time()) - int(timestamp)) <= 300, "outside the replay window"
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Quanta-Signature"], f"v1={expected}"), "bad signature"
    document: dict[str, Any] = request.json()
    assert request.headers["X-Quanta-Alert"] == document["id"]
    return document


# --- alerts.yaml -----------------------------------------------------------------------------------

BAD_ALERTS = """\
sinks:
  ops-hook:
    type: webhook
    secret_env: OPS_HOOK_SECRET
  pager:
    type: pagerduty
  mail:
    type: email
    host: smtp.example.com
    from: quanta@example.com
    to: []
routes:
  - sinks: [ops-hok]
    events: [incident.opened, incident.exploded]
  - sinks: [mail]
    min_severity: urgent
"""


def test_a_bad_alerts_yaml_names_every_problem_with_its_position(tmp_path: Path) -> None:
    (tmp_path / "alerts.yaml").write_text(BAD_ALERTS)
    with pytest.raises(AlertsConfigError) as caught:
        AlertsConfig.load(tmp_path)
    found = {(p.line, p.column, p.path): p.message for p in caught.value.problems}
    assert found[(16, 5, "routes[1].min_severity")] == "must be one of 'info', 'warning' or 'critical'"
    assert "unknown event kind 'incident.exploded'" in found[(14, 5, "routes[0].events")]
    # A route's errors come first; sinks are checked once the file's shape is right.
    fixed = BAD_ALERTS.replace("incident.exploded", "anomaly").replace("urgent", "warning")
    (tmp_path / "alerts.yaml").write_text(fixed)
    with pytest.raises(AlertsConfigError) as caught:
        AlertsConfig.load(tmp_path)
    found = {(p.line, p.column, p.path): p for p in caught.value.problems}
    assert found[(2, 3, "sinks.ops-hook.url")].message == "Field required"
    assert found[(6, 5, "sinks.pager.type")].message == "unknown sink type 'pagerduty'"
    assert "email, log, slack, webhook" in (found[(6, 5, "sinks.pager.type")].hint or "")
    assert "at least 1 item" in found[(11, 5, "sinks.mail.to")].message
    unknown = found[(13, 13, "routes[0].sinks[0]")]
    assert unknown.message == "unknown sink 'ops-hok'" and "mail, ops-hook, pager" in (unknown.hint or "")


def test_the_cli_shows_alerts_yaml_errors_positioned(workspace: Path) -> None:
    (workspace / "alerts.yaml").write_text("sinks:\n  log:\n    type: log\n    level: loud\n")
    result = run_cli("alerts", "ls", cwd=workspace)
    assert result.returncode == 1
    assert "alerts.yaml:4:5: error: must be one of 'debug', 'info', 'warning' or 'error'" in result.stderr
    assert "Traceback" not in result.stderr


def test_routes_choose_by_event_severity_scope_owner_and_subscriber(tmp_path: Path) -> None:
    (tmp_path / "alerts.yaml").write_text("""\
sinks:
  ops: {type: log}
  everyone: {type: log}
  ana-mail: {type: email, host: localhost, from: q@example.com, to: [ana@example.com]}
routes:
  - {principal: olga, events: [incident.opened, incident.closed], sinks: [ops]}
  - {products: ["ops.*"], min_severity: critical, sinks: [everyone]}
  - {principal: ana, events: [publish, breaking_change], sinks: [ana-mail]}
""")
    config = AlertsConfig.load(tmp_path)
    now = datetime.now(UTC)
    ops = Audience("ops.events", "ops", frozenset({"olga"}), frozenset({"ana"}))
    other = Audience("sales.orders", "sales", frozenset({"sam"}), frozenset())
    opened = alert("incident.opened", "ops.events", "warning", "t", "m", now)
    critical = alert("incident.opened", "ops.events", "critical", "t", "m", now)
    published = alert("publish", "ops.events", "info", "t", "m", now)
    assert config.sinks_for(opened, ops) == ["ops"]
    assert config.sinks_for(critical, ops) == ["ops", "everyone"]
    assert config.sinks_for(published, ops) == ["ana-mail"]  # ana subscribes to ops.events
    assert config.sinks_for(critical, other) == []
    assert config.sinks_for(published, other) == []


# --- sinks -----------------------------------------------------------------------------------------


def _sink(tmp_path: Path, text: str, name: str) -> Any:
    (tmp_path / "alerts.yaml").write_text(text)
    return AlertsConfig.load(tmp_path).sinks[name]


def test_a_signed_webhook_verifies_and_a_tampered_one_does_not(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quanta.observability.alerts.webhook import verify

    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    sink = _sink(tmp_path, hook_alerts(receiver.url), "ops-hook")
    sent = alert("incident.opened", "ops.events", "warning", "stale", "the data is late", datetime.now(UTC))
    sink.send(sent)
    [request] = receiver.wait_for(1)
    document = verified(request)
    assert Alert.from_dict(document) == sent
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Quanta-Event"] == "incident.opened"
    timestamp, signature = request.headers["X-Quanta-Timestamp"], request.headers["X-Quanta-Signature"]
    assert verify(SECRET.encode(), request.body, timestamp, signature)
    assert not verify(b"another secret", request.body, timestamp, signature)
    assert not verify(SECRET.encode(), request.body.replace(b"late", b"fine"), timestamp, signature)
    assert not verify(SECRET.encode(), request.body, timestamp, signature, now=time.time() + 301)
    monkeypatch.delenv("OPS_HOOK_SECRET")
    assert sink.problems() == ["environment variable OPS_HOOK_SECRET is not set"]
    with pytest.raises(PermanentDeliveryError, match="OPS_HOOK_SECRET is not set"):
        sink.send(sent)


def test_slack_gets_text_and_blocks(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL", receiver.url)
    sink = _sink(tmp_path, "sinks:\n  chat: {type: slack, url_env: SLACK_URL}\n", "chat")
    title, at = "ops.events: stale " + "x" * 200, datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    sink.send(
        alert(
            "incident.opened", "ops.events", "critical", title, "Incident #3 opened: the *data* is late", at
        )
    )
    body = receiver.wait_for(1)[0].json()
    assert set(body) == {"text", "blocks"} and body["text"].startswith(":red_circle: ops.events: stale")
    header, section, context = body["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= 150  # Slack refuses longer header texts
    assert section == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "Incident #3 opened: the *data* is late"},
    }
    assert context["type"] == "context" and context["elements"][0]["type"] == "mrkdwn"
    assert (
        "`ops.events`" in context["elements"][0]["text"]
        and "2026-01-02 03:04 UTC" in context["elements"][0]["text"]
    )
    with pytest.raises(AlertsConfigError, match="exactly one of url and url_env"):
        _sink(tmp_path, "sinks:\n  chat: {type: slack}\n", "chat")


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes

        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content), session.authenticated))
        return "250 OK"


def _login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    ok = auth_data.login == b"quanta" and auth_data.password == b"mail-password"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


@pytest.mark.parametrize("mode", ["plain", "login over starttls"])
def test_email_reaches_a_real_smtp_server(
    mode: str, tmp_path: Path, tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import ssl

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox, options = Mailbox(), {}
    config = f"sinks:\n  mail:\n    type: email\n    host: 127.0.0.1\n    port: {port}\n"
    config += "    from: quanta@example.com\n    to: [alice@example.com, ops@example.com]\n"
    if mode != "plain":
        key, cert = tls_files
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options = {
            "tls_context": context,
            "require_starttls": True,
            "authenticator": _login,
            "auth_required": True,
        }
        config += f"    starttls: true\n    ca_file: {cert}\n"
        config += "    username: quanta\n    password_env: SMTP_PASSWORD\n"
        monkeypatch.setenv("SMTP_PASSWORD", "mail-password")
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        sink = _sink(tmp_path, config, "mail")
        sink.send(
            alert(
                "incident.closed",
                "ops.events",
                "warning",
                "ops.events recovered: stale",
                "Incident #4 on ops.events closed after 2 hours",
                datetime.now(UTC),
            )
        )
        if mode != "plain":
            monkeypatch.setenv("SMTP_PASSWORD", "wrong")
            with pytest.raises(PermanentDeliveryError, match="SMTPAuthenticationError"):
                sink.send(alert("publish", "ops.events", "info", "t", "m", datetime.now(UTC)))
    finally:
        controller.stop()
    [(recipients, mail, authenticated)] = mailbox.messages
    assert recipients == ["alice@example.com", "ops@example.com"]
    assert mail["Subject"] == "[quanta] warning: ops.events recovered: stale"
    assert mail["From"] == "quanta@example.com" and mail["X-Quanta-Event"] == "incident.closed"
    body = mail.get_payload(decode=True).decode()
    assert "Incident #4 on ops.events closed after 2 hours" in body and "product: ops.events" in body
    assert bool(authenticated) is (mode != "plain")


def test_the_log_sink_logs_each_alert(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sink = _sink(tmp_path, "sinks:\n  logged: {type: log, level: error}\n", "logged")
    with caplog.at_level("INFO", logger="quanta.alerts"):
        sink.send(
            alert("anomaly", "ops.events", "warning", "row count drop", "12 where 1,000", datetime.now(UTC))
        )
    [record] = caplog.records
    assert record.levelname == "ERROR" and "anomaly: row count drop" in record.getMessage()


class MemorySink(AlertSink):
    """A third-party sink, as an entry point would provide it: keeps what it is sent."""

    type_name = "memory"
    sent: ClassVar[list[Alert]] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


def test_a_plugin_sink_is_found_by_its_type_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quanta.observability import alerts

    monkeypatch.setitem(alerts.SINKS, "memory", f"{__name__}:MemorySink")
    monkeypatch.setattr(MemorySink, "sent", [])
    sink = _sink(tmp_path, "sinks:\n  mine: {type: memory, timeout: 1}\n", "mine")
    sink.send(alert("publish", "ops.events", "info", "t", "m", datetime.now(UTC)))
    assert [a.kind for a in MemorySink.sent] == ["publish"] and "memory" in alerts.sink_types()


# --- delivery: retries, backoff, failures ------------------------------------------------------------


def _outbox(tmp_path: Path, receiver: Receiver, **settings: Any) -> tuple[Registry, Deliverer, AlertsConfig]:
    (tmp_path / "alerts.yaml").write_text(hook_alerts(receiver.url, **settings))
    config = AlertsConfig.load(tmp_path)
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    return registry, Deliverer(registry, lambda: config), config


def _deliver_until(deliverer: Deliverer, registry: Registry, done: set[str], seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        deliverer.deliver_due(5)
        [delivery] = registry.deliveries()
        if delivery.status in done:
            return delivery.status
        time.sleep(0.05)
    raise AssertionError(f"still {registry.deliveries()[0].status}")


def test_a_500_is_retried_with_exponential_backoff_then_delivered(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    registry, deliverer, config = _outbox(tmp_path, receiver, backoff=0.3)
    receiver.statuses = [500, 503, 500]
    sent = alert("incident.opened", "ops.events", "warning", "stale", "late", datetime.now(UTC))
    registry.enqueue_alert(
        sent.to_dict(),
        config.sinks_for(sent, Audience("ops.events", "ops", frozenset({"olga"}), frozenset())),
    )
    assert _deliver_until(deliverer, registry, {"delivered"}) == "delivered"
    [delivery] = registry.deliveries()
    assert delivery.attempts == 4 and delivery.last_error is None and delivery.delivered_at
    attempts = receiver.requests
    assert len(attempts) == 4 and {verified(r)["id"] for r in attempts} == {sent.id}  # one alert, one id
    gaps = [b.at - a.at for a, b in pairwise(attempts)]
    # Waits double from 0.3 s, each between half and all of its ceiling (jitter).
    for n, gap in enumerate(gaps):
        assert gap >= 0.3 * 2**n * 0.5 - 0.05, gaps
    assert gaps[2] > gaps[0]


def test_a_timeout_is_retried_and_a_refusal_or_too_many_failures_end_as_failed(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    registry, deliverer, config = _outbox(tmp_path, receiver, timeout=0.5, backoff=0.1, attempts=2)
    receiver.delay = 1.5
    owners = Audience("ops.events", "ops", frozenset({"olga"}), frozenset())
    sent = alert("incident.opened", "ops.events", "warning", "stale", "late", datetime.now(UTC))
    registry.enqueue_alert(sent.to_dict(), config.sinks_for(sent, owners))
    started = time.monotonic()
    report = deliverer.deliver_due(5)
    assert time.monotonic() - started < 1.4  # the sink's timeout, not the receiver's pace
    assert (report.delivered, report.retrying, report.failed) == (0, 1, 0)
    assert "no answer within 0.5 s" in report.errors[0]
    assert _deliver_until(deliverer, registry, {"failed"}) == "failed"
    [failed] = registry.deliveries(status="failed")
    assert failed.attempts == 2 and "no answer within 0.5 s" in (failed.last_error or "")
    # A 404 will not get better by waiting: failed at once, with the receiver's answer.
    receiver.delay, receiver.statuses = 0.0, [404]
    registry.retry_failed_deliveries()
    assert _deliver_until(deliverer, registry, {"failed"}) == "failed"
    [refused] = registry.deliveries()
    assert refused.attempts == 1 and refused.last_error == "sink ops-hook: HTTP 404 receiver trouble"


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    from quanta.observability.alerts.delivery import backoff

    settings = DeliverySettings(backoff_seconds=5, max_backoff_seconds=60)
    for attempts, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)]:
        waits = [backoff(attempts, settings).total_seconds() for _ in range(200)]
        assert ceiling / 2 <= min(waits) and max(waits) <= ceiling
        assert max(waits) - min(waits) > ceiling / 10  # jittered, not in lockstep


def test_delivery_errors_say_whether_to_retry() -> None:
    assert DeliveryError("x").retry and not PermanentDeliveryError("x").retry


# --- a dead webhook never blocks a build ----------------------------------------------------------


def _build_seconds(mesh: Mesh) -> float:
    started = time.monotonic()
    [result] = mesh.build(["ops.events"], force=True)
    assert result.status == "published"
    return time.monotonic() - started


def test_a_dead_webhook_never_slows_a_build_and_its_alert_waits_in_the_outbox(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    root = tmp_path / "ws"
    mesh = ops_workspace(root)
    _build_seconds(mesh)  # the first build creates the table: not a fair comparison
    without = min(_build_seconds(Mesh.open(root)) for _ in range(2))
    # The webhook answers after 5 s (its timeout is 4 s): as dead as a receiver gets while listening.
    receiver.delay = 5.0
    (root / "alerts.yaml").write_text(hook_alerts(receiver.url, timeout=4, events="[publish]", backoff=30))
    dead = Mesh.open(root)
    with_dead = [_build_seconds(dead) for _ in range(2)]
    # Waiting for the webhook would add its 4 s timeout to each build; the margin is for a busy machine.
    assert max(with_dead) < without + 2.0, (without, with_dead)
    dead.flush_alerts(12)
    deliveries = dead.registry.deliveries()
    assert len(deliveries) == 2 and {d.kind for d in deliveries} == {"publish"}
    assert all(d.status in ("pending", "sending") for d in deliveries)
    pending = [d for d in deliveries if d.status == "pending"]
    assert pending and all("no answer within 4 s" in (d.last_error or "") for d in pending)
    assert all(d.next_attempt_at > datetime.now(UTC) + timedelta(seconds=10) for d in pending)
    print(f"\nbuild of ops.events: {without:.2f}s without alerts, {max(with_dead):.2f}s with a dead webhook")


def test_failed_deliveries_are_visible_to_admins_only(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from quanta.interfaces.api import create_app

    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    root = tmp_path / "ws"
    mesh = ops_workspace(root, alerts=hook_alerts(receiver.url, events="[publish]", attempts=1))
    receiver.statuses = [500]
    mesh.build()
    mesh.flush_alerts(5)
    listed = run_cli("alerts", "ls", "--json", cwd=root, env={"OPS_HOOK_SECRET": SECRET})
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    [failed] = document["deliveries"]
    assert (failed["status"], failed["sink"], failed["last_error"]) == (
        "failed",
        "ops-hook",
        "sink ops-hook: HTTP 500 receiver trouble",
    )
    assert document["sinks"] == [{"name": "ops-hook", "type": "webhook", "problems": []}]
    client = TestClient(create_app(mesh, server_mode=True), raise_server_exceptions=False)
    admin, _ = mesh.create_token("admin", scopes=["admin"])
    olga, _ = mesh.create_token("olga", scopes=["read", "write"], principal_id="olga")
    page = client.get(
        "/api/v1/alerts/deliveries", params={"status": "failed"}, headers={"Authorization": f"Bearer {admin}"}
    ).json()
    assert page["total"] == 1 and page["items"][0]["last_error"].endswith("HTTP 500 receiver trouble")
    refused = client.get("/api/v1/alerts/deliveries", headers={"Authorization": f"Bearer {olga}"})
    assert refused.status_code == 403
    # `alerts test` says what the receiver answered; then, the receiver fixed, `retry` sends it.
    receiver.statuses = [502]
    tried = run_cli("alerts", "test", "ops-hook", cwd=root, env={"OPS_HOOK_SECRET": SECRET})
    assert tried.returncode == 1 and "error: sink ops-hook: HTTP 502 receiver trouble" in tried.stderr
    assert verified(receiver.requests[-1])["title"] == "Quanta test alert"
    retried = run_cli("alerts", "retry", cwd=root, env={"OPS_HOOK_SECRET": SECRET})
    assert retried.returncode == 0 and "1 queued again: 1 delivered" in retried.stdout
    assert verified(receiver.requests[-1])["kind"] == "publish"
