"""The platform KPI dashboard page and the feedback panel on the product page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from quanta.errors import QuantaError
from quanta.interfaces.api.deps import Caller, caller
from quanta.interfaces.web.chart import Bar, bar_chart, daily_chart
from quanta.interfaces.web.pages import Viewer, WebRoute, is_htmx, render

if TYPE_CHECKING:
    from quanta.mesh import Kpis

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CallerDep = Annotated[Caller, Depends(caller)]
PERIODS = (7, 30, 90, 365)
MOST_BARS = 12
MOST_ROWS = 25


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    note: str


@dataclass(frozen=True)
class Chart:
    """A chart and the same numbers as a table (for screen readers and for copying)."""

    id: str
    title: str
    svg: Markup
    columns: list[str]
    rows: list[list[str]]


# --- the feedback panel ---------------------------------------------------------------------------


@router.get("/products/{product_id}/panels/feedback", response_class=HTMLResponse)
def feedback_panel(request: Request, caller: CallerDep, product_id: str) -> HTMLResponse:
    """Average stars, their distribution, the comments and the rating form (htmx fragment)."""
    return _panel(request, caller, product_id)


@router.post("/products/{product_id}/panels/feedback", response_model=None)
def rate(
    request: Request,
    caller: CallerDep,
    product_id: str,
    rating: Annotated[int | None, Form()] = None,
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Save the viewer's rating and comment; the panel again (htmx) or back to the product page."""
    try:
        caller.require("request")
        with caller.act() as mesh:
            mesh.rate(product_id, rating, comment if comment.strip() else None)
    except QuantaError as exc:
        if not is_htmx(request):
            raise
        return _panel(request, caller, product_id, error=exc, draft=comment)
    if not is_htmx(request):
        return RedirectResponse(f"/products/{quote(product_id, safe='')}#feedback-h", status_code=303)
    return _panel(request, caller, product_id, saved=True)


@router.post("/products/{product_id}/panels/feedback/{feedback_id}/delete", response_model=None)
def delete(request: Request, caller: CallerDep, product_id: str, feedback_id: int) -> Response:
    """Delete a feedback (its author or a moderator)."""
    caller.require("request")
    with caller.act() as mesh:
        removed = mesh.delete_feedback(product_id, feedback_id)
    if not is_htmx(request):
        return RedirectResponse(f"/products/{quote(product_id, safe='')}#feedback-h", status_code=303)
    return _panel(request, caller, product_id, deleted=removed)


def _panel(request: Request, caller: Caller, product_id: str, **context: Any) -> HTMLResponse:
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        found = mesh.product_feedback(product_id)
    return render(request, "_panel_feedback.html", viewer, f=found, product_id=product_id, **context)


# --- the KPI dashboard ----------------------------------------------------------------------------


@router.get("/kpis", response_class=HTMLResponse)
def kpi_page(
    request: Request, caller: CallerDep, since: Annotated[int, Query(ge=1, le=3650)] = 30
) -> HTMLResponse:
    """Platform KPIs with charts (admins and stewards; domain owners see their domains)."""
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        found = mesh.kpis(since)
    from quanta.mesh import say_hours

    return render(
        request,
        "kpis.html",
        viewer,
        say_hours=say_hours,
        k=found,
        tiles=tiles(found),
        charts=charts(found),
        periods=sorted({*PERIODS, since}),
        most_rows=MOST_ROWS,
        since=since,
    )


def tiles(k: Kpis) -> list[Tile]:
    """The headline numbers."""
    from quanta.mesh import say_hours

    p, pub, inc, fb = k.products, k.publishes, k.incidents, k.feedback
    rate = "-" if pub.failure_rate is None else f"{pub.failure_rate:.0%}"
    stars = "-" if fb is None or fb.average is None else f"{fb.average:.1f} ★"
    return [
        Tile("Products", str(p.total), ", ".join(f"{n} {s}" for s, n in p.by_status.items()) or "none yet"),
        Tile("Reused across domains", f"{k.reused}", f"of {p.total} products"),
        Tile(
            "Made from blueprints",
            str(sum(n for name, n in p.by_blueprint.items() if name != "none")),
            ", ".join(f"{n} {name}" for name, n in p.by_blueprint.items() if name != "none") or "none yet",
        ),
        Tile(
            "Lead time to first publish",
            say_hours(k.median_lead_time_hours),
            "median, registration ► publish",
        ),
        Tile(
            "Time to first query",
            say_hours(k.median_hours_to_first_query),
            f"median of {_n(k.new_consumers, 'new consumer')}",
        ),
        Tile("Failed builds", rate, f"{pub.failed + pub.crashed} of {pub.attempts} in {k.days} days"),
        Tile(
            "Time to recover", say_hours(inc.median_hours_to_recover), f"{_n(inc.open_now, 'incident')} open"
        ),
        Tile("Queries", f"{sum(d.total for d in k.queries):,}", f"in {k.days} days"),
        Tile(
            "Consumer rating",
            stars,
            f"{_n(fb.ratings if fb else 0, 'rating')}, {_n(fb.comments if fb else 0, 'comment')}",
        ),
    ]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def charts(k: Kpis) -> list[Chart]:
    """Each KPI with a distribution as an SVG chart plus its table."""
    from quanta.mesh import say_hours

    by_domain = [Bar(d, n, str(n)) for d, n in k.products.by_domain.items()]
    used = [u for u in k.use if u.consumers or u.queries][:MOST_BARS]
    lead = sorted((t for t in k.lead_times if t.hours is not None), key=lambda t: -(t.hours or 0))[:MOST_BARS]
    rated = [r for r in (k.feedback.products if k.feedback else []) if r.average is not None][:MOST_BARS]
    days = [(d.day, {"allowed": d.allowed, "denied": d.denied, "errors": d.errors}) for d in k.queries]
    total = sum(d.total for d in k.queries)
    return [
        _chart("kpi-domains", "Products by domain", by_domain, ["Domain", "Products"]),
        Chart(
            "kpi-queries",
            f"Queries per day, last {k.days} days",
            daily_chart("kpi-queries", "Queries per day", days, f"{total} audited queries in {k.days} days."),
            ["Day", "Allowed", "Denied", "Errors"],
            [[f"{d.day}", str(d.allowed), str(d.denied), str(d.errors)] for d in k.queries if d.total],
        ),
        _chart(
            "kpi-consumers",
            "Consumers per product",
            [Bar(u.product_id, u.consumers, f"{u.consumers} · {u.queries} queries") for u in used],
            ["Product", "Consumers · queries"],
        ),
        _chart(
            "kpi-lead",
            "Lead time from registration to first publish",
            [Bar(t.product_id, t.hours or 0, say_hours(t.hours)) for t in lead],
            ["Product", "Lead time"],
        ),
        _chart(
            "kpi-failing",
            f"Failed builds per product, last {k.days} days",
            [Bar(p, n, str(n)) for p, n in list(k.publishes.failing_products.items())[:MOST_BARS]],
            ["Product", "Failed builds"],
        ),
        _chart(
            "kpi-ratings",
            "Average consumer rating",
            [Bar(r.product_id, r.average or 0, f"{r.average:.1f} ★ ({r.count})") for r in rated],
            ["Product", "Average (ratings)"],
        ),
    ]


def _chart(chart_id: str, title: str, bars: list[Bar], columns: list[str]) -> Chart:
    summary = "; ".join(f"{b.label}: {b.text}" for b in bars) or "nothing to show yet"
    return Chart(
        chart_id, title, bar_chart(chart_id, title, bars, summary), columns, [[b.label, b.text] for b in bars]
    )
