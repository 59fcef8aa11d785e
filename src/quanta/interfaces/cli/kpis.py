"""``quanta kpis`` (platform KPIs) and ``quanta feedback`` (ratings and comments on products)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh

if TYPE_CHECKING:
    from quanta.mesh import Kpis, ProductFeedback


@app.command()
def kpis(
    since: Annotated[
        int, typer.Option(help="Days the flow KPIs (queries, builds, incidents) look back.")
    ] = 30,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Platform KPIs: products, consumers, reuse, lead time, time to first query, failed publishes,
    incidents, query volume and feedback (admins and stewards; domain owners see their domains)."""
    found = open_mesh().kpis(since)
    if json_:
        render.emit_json(found)
        return
    _overview(found)
    _use(found)


def _overview(k: Kpis) -> None:
    from quanta.mesh import say_hours

    scope = ", ".join(k.domains) if k.domains is not None else "all domains"
    p, pub, inc, fb = k.products, k.publishes, k.incidents, k.feedback
    queries = sum(d.total for d in k.queries)
    allowed = sum(d.allowed for d in k.queries)
    busiest = max(k.queries, key=lambda d: d.total).day if queries else "-"
    published = sum(1 for t in k.lead_times if t.hours is not None)
    lines = [
        f"[bold]Platform KPIs[/bold] · {scope} · last {k.days} days (since {k.since:%Y-%m-%d})",
        f"products: {p.total} · {_pairs(p.by_status)} · {_pairs(p.by_type)}",
        f"  by domain: {_pairs(p.by_domain)}",
        f"  by blueprint: {_pairs(p.by_blueprint)}",
        f"reuse: {k.reused} of {p.total} products used by other domains",
        (
            f"lead time, registration ► first publish: median {say_hours(k.median_lead_time_hours)} "
            f"({published} of {len(k.lead_times)} published)"
        ),
        (
            f"time to first query: median {say_hours(k.median_hours_to_first_query)} "
            f"over {k.new_consumers} new consumer-product pairs"
        ),
        (
            f"builds: {pub.attempts} attempts, {pub.published} published, {pub.failed} failed "
            f"({pub.quarantined} quarantined), {pub.crashed} crashed · "
            f"failure rate {_percent(pub.failure_rate)}"
        ),
        (
            f"incidents: {inc.opened} opened, {inc.open_now} open now, {inc.recovered} recovered · "
            f"time to recover: median {say_hours(inc.median_hours_to_recover)}"
        ),
        f"queries: {queries:,} audited ({allowed:,} allowed) · busiest day {busiest}",
    ]
    if fb is not None:
        average = f"{fb.average:.2f} ★" if fb.average is not None else "-"
        said = f"{render.count(fb.ratings, 'rating')}, {render.count(fb.comments, 'comment')}"
        lines.append(f"feedback: {said}, average {average}")
    for line in lines:
        render.out.print(line, highlight=False)


def _use(k: Kpis) -> None:
    ratings = {r.product_id: r for r in (k.feedback.products if k.feedback else [])}
    rows = []
    for u in k.use:
        rated = ratings.get(u.product_id)
        stars = f"{rated.average:.1f} ({rated.count})" if rated and rated.average is not None else "-"
        rows.append(
            [u.product_id, str(u.consumers), str(u.queries), ", ".join(u.reused_by_domains) or "-", stars]
        )
    render.table(None, ["product", "consumers", f"queries ({k.days} d)", "reused by", "rating"], rows)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


@app.command()
def feedback(
    product_id: Annotated[str, typer.Argument(metavar="ID", help="The product.")],
    rate: Annotated[int | None, typer.Option("--rate", help="Stars, 1 (poor) to 5 (excellent).")] = None,
    comment: Annotated[str | None, typer.Option(help="What you found (up to 2000 characters).")] = None,
    delete: Annotated[
        int | None,
        typer.Option("--delete", metavar="FEEDBACK", help="Delete a feedback (author, moderators)."),
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Ratings and comments on a product; --rate and/or --comment give (or update) yours."""
    mesh = open_mesh()
    if delete is not None:
        removed = mesh.delete_feedback(product_id, delete)
        if json_:
            render.emit_json({"deleted": removed.id, "author": removed.principal})
            return
        render.out.print(f"feedback #{removed.id} by {removed.principal} on {product_id} deleted")
        return
    if rate is not None or comment is not None:
        record = mesh.rate(product_id, rate, comment)
        if json_:
            render.emit_json(record)
            return
        said = f"{record.rating}/5" if record.rating else "no rating"
        render.out.print(f"[green]✓[/green] feedback #{record.id} on {product_id}: {said}", highlight=False)
        return
    found = mesh.product_feedback(product_id)
    if json_:
        render.emit_json(found)
        return
    _feedback(found)


def _feedback(f: ProductFeedback) -> None:
    s = f.summary
    average = f"{s.average:.1f} ★ from {render.count(s.count, 'rating')}" if s.count else "no ratings"
    spread = " · ".join(f"{n}★ {s.distribution[n]}" for n in range(5, 0, -1))
    said = render.count(s.comments, "comment")
    render.out.print(f"[bold]{f.product_id}[/bold]: {average} · {spread} · {said}", highlight=False)
    if not f.may_rate and f.why_not:
        render.out.print(f"[dim]you cannot rate it: {render.escape(f.why_not)}[/dim]", highlight=False)
    rows = [
        [
            str(e.id),
            e.principal + (" (used it)" if e.used_it else ""),
            "★" * e.rating + "☆" * (5 - e.rating) if e.rating else "-",
            f"{e.updated_at:%Y-%m-%d %H:%M}",
            e.comment or "",
        ]
        for e in f.entries
    ]
    if rows:
        render.table(None, ["#", "by", "rating", "at (UTC)", "comment"], rows)
