"""Health commands: product health (freshness, SLO, runs, anomalies, schema changes), incidents, and
the alert sinks and their deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh

if TYPE_CHECKING:
    from quanta.mesh import Freshness, ProductHealth

alerts_app = typer.Typer(help="Alert sinks (alerts.yaml) and deliveries: list, test a sink, deliver, retry.")
app.add_typer(alerts_app, name="alerts")
FLUSH_SECONDS = 3.0
"""How long a command waits for the alerts it raised to go out before it exits."""


@app.command()
def health(
    product_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="One product in detail.")] = None,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Judge freshness now (opens and closes incidents).")
    ] = True,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Health of every product you may read (or one in detail): freshness against the SLA, SLO
    attainment, open incidents, runs, anomalies and schema changes. Run it from cron to watch SLAs."""
    mesh = open_mesh()
    if check:
        mesh.check_health(product_id)
        mesh.flush_alerts(FLUSH_SECONDS)
    found = [mesh.product_health(product_id)] if product_id else mesh.health()
    if json_:
        render.emit_json(_plain(found[0] if product_id else found))
        return
    if product_id:
        _detail(found[0])
        return
    rows = [
        [
            h.product_id,
            h.status,
            _verdict(h.freshness),
            _age(h.freshness),
            h.freshness.sla.text if h.freshness.sla else "-",
            _percent(h.slo_attainment),
            str(len(h.open_incidents)),
        ]
        for h in found
    ]
    days = found[0].slo_days if found else 30
    render.table(None, ["product", "health", "fresh", "age", "SLA", f"SLO {days}d", "open incidents"], rows)


def _detail(h: ProductHealth) -> None:
    render.out.print(f"[bold]{h.product_id}[/bold]: {h.status}")
    render.out.print(f"  freshness: {render.escape(_freshness(h.freshness))}")
    render.out.print(f"  SLO attainment ({h.slo_days} days): {_percent(h.slo_attainment)}")
    for i in h.open_incidents:
        render.out.print(
            f"  [red]open incident #{i.id}[/red] ({i.kind}, {i.severity}): {render.escape(i.title)}"
        )
    if h.runs:
        rows = [
            [
                r.run_id,
                r.status,
                f"{r.started_at:%Y-%m-%d %H:%M}",
                f"{r.seconds:.1f}s" if r.seconds else "-",
                f"{r.rows:,}" if r.rows is not None else "-",
                _bytes(r.bytes),
                _checks(r.checks),
            ]
            for r in h.runs[:10]
        ]
        render.table("runs", ["run", "status", "started (UTC)", "took", "rows", "size", "checks"], rows)
    if h.anomalies:
        rows = [[f"{a.at:%Y-%m-%d %H:%M}", a.version, a.description] for a in h.anomalies]
        render.table("anomalies", ["published (UTC)", "version", "what"], rows)
    if h.schema_changes:
        rows = [
            [
                f"{c.at:%Y-%m-%d %H:%M}",
                f"{c.from_version} ► {c.to_version}",
                c.describe(),
                "yes" if c.breaking else "no",
            ]
            for c in h.schema_changes
        ]
        render.table("schema changes", ["published (UTC)", "versions", "columns", "breaking"], rows)


@app.command()
def incidents(
    product_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind: freshness, contract, build, anomaly.")
    ] = None,
    limit: Annotated[int, typer.Option(help="The newest this many.")] = 50,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Incidents (newest first): opened on SLO breach, contract or build failure and anomalies,
    closed on recovery."""
    from quanta.mesh import in_words

    found = open_mesh().incidents(product_id, "open" if open_ else None, kind, limit)
    if json_:
        render.emit_json(found)
        return
    rows = [
        [
            str(i.id),
            i.product_id,
            i.kind,
            i.severity,
            i.status,
            f"{i.opened_at:%Y-%m-%d %H:%M}",
            in_words((i.closed_at - i.opened_at).total_seconds()) if i.closed_at else "-",
            i.title[:90],
        ]
        for i in found
    ]
    columns = ["#", "product", "kind", "severity", "status", "opened (UTC)", "recovered after", "title"]
    render.table(None, columns, rows)


@alerts_app.command("ls")
def alerts_ls(
    status: Annotated[str | None, typer.Option(help="pending, sending, delivered or failed.")] = None,
    sink: Annotated[str | None, typer.Option(help="Only this sink's deliveries.")] = None,
    limit: Annotated[int, typer.Option(help="The newest this many deliveries.")] = 50,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """The sinks of alerts.yaml (with what would stop them) and the alert deliveries."""
    mesh = open_mesh()
    deliveries = mesh.alert_deliveries(status, sink, limit)
    config = mesh.alerts_config
    sinks = [{"name": n, "type": s.type_name, "problems": s.problems()} for n, s in config.sinks.items()]
    if json_:
        render.emit_json({"sinks": sinks, "routes": len(config.routes), "deliveries": deliveries})
        return
    if config.source is None:
        render.err.print("no alerts.yaml: incidents are recorded, nobody is alerted (docs/observability.md)")
    render.table(
        "sinks",
        ["sink", "type", "ready"],
        [[s["name"], s["type"], "; ".join(s["problems"]) or "yes"] for s in sinks],
    )
    rows = [
        [
            str(d.id),
            f"{d.created_at:%Y-%m-%d %H:%M:%S}",
            d.kind,
            d.product_id or "-",
            d.sink,
            d.status,
            str(d.attempts),
            f"{d.next_attempt_at:%H:%M:%S}" if d.status == "pending" else "-",
            (d.last_error or "")[:70],
        ]
        for d in deliveries
    ]
    render.table(
        "deliveries",
        ["#", "raised (UTC)", "event", "product", "sink", "status", "attempts", "next try", "last error"],
        rows,
    )


@alerts_app.command("test")
def alerts_test(
    sink: Annotated[str, typer.Argument(metavar="SINK", help="A sink of alerts.yaml.")],
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Send a test alert to one sink now (no route, no outbox) and say whether it arrived."""
    alert_id = open_mesh().test_alert(sink)
    if json_:
        render.emit_json({"ok": True, "sink": sink, "alert": alert_id})
        return
    render.out.print(f"[green]✓[/green] test alert {alert_id} sent to {sink}")


@alerts_app.command("deliver")
def alerts_deliver(
    seconds: Annotated[float, typer.Option(help="Stop after about this many seconds.", min=1)] = 30.0,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Send the alerts that are due now (quanta serve does this in the background)."""
    report = open_mesh().deliver_alerts(seconds)
    if json_:
        render.emit_json(report)
        return
    render.out.print(
        f"{report.delivered} delivered, {report.retrying} to retry later, {report.failed} failed"
    )
    for error in report.errors[:10]:
        render.err.print(f"  [yellow]{render.escape(error)}[/yellow]")


@alerts_app.command("retry")
def alerts_retry(
    sink: Annotated[str | None, typer.Option(help="Only this sink's failed deliveries.")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Queue failed deliveries again (after fixing the sink), then send them."""
    mesh = open_mesh()
    count = mesh.retry_alerts(sink)
    report = mesh.deliver_alerts(FLUSH_SECONDS * 10)
    if json_:
        render.emit_json({"requeued": count, "report": report})
        return
    render.out.print(
        f"{count} queued again: {report.delivered} delivered, {report.retrying + report.failed} not"
    )


def _freshness(f: Freshness) -> str:
    sla = f"SLA {f.sla.text}" if f.sla else "no SLA"
    return f"{_verdict(f)}, {_age(f)} old ({sla}, measured from the {f.measured_from})"


def _verdict(f: Freshness) -> str:
    return {"ok": "ok", "breached": "BREACHED", "no-sla": "published", "never": "never published"}[f.status]


def _age(f: Freshness) -> str:
    from quanta.mesh import in_words

    return in_words(f.age_seconds) if f.age_seconds is not None else "-"


def _percent(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "-"


def _bytes(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GiB"


def _checks(summary: dict[str, int]) -> str:
    if not summary:
        return "-"
    total = sum(summary.values())
    failed = summary.get("failed", 0) + summary.get("error", 0)
    return f"{summary.get('passed', 0)}/{total} passed" + (f", {failed} failed" if failed else "")


def _plain(value: Any) -> Any:
    """Health as the API answers it (the same JSON)."""
    from pydantic import TypeAdapter

    from quanta.mesh import ProductHealth

    kind = list[ProductHealth] if isinstance(value, list) else ProductHealth
    return TypeAdapter(kind).dump_python(value, mode="json")
