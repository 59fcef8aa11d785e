"""Product page fragments for health: incidents, anomalies and schema changes (loaded by htmx)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from quanta.interfaces.api.deps import Caller, caller
from quanta.interfaces.web.pages import Viewer, WebRoute, render
from quanta.mesh import in_words

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CallerDep = Annotated[Caller, Depends(caller)]
WIDTH, HEIGHT, PAD = 200, 40, 4


@router.get("/products/{product_id}/panels/health", response_class=HTMLResponse)
def health_panel(request: Request, caller: CallerDep, product_id: str) -> HTMLResponse:
    """Open incidents first, then freshness against the SLA, anomalies, schema changes, recent
    incidents and runs (for those who may read the product)."""
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        health = mesh.product_health(product_id)
    volume = volume_line(health.rows)
    since = _since(datetime.now(UTC))
    return render(
        request, "_panel_health.html", viewer, health=health, volume=volume, since=since, in_words=in_words
    )


def volume_line(rows: list[tuple[datetime, int]]) -> Markup:
    """Rows of each recent publish, oldest first, as a small inline SVG line (0 at the bottom)."""
    if len(rows) < 2:
        return Markup("")
    counts = [n for _, n in rows]
    top = max(counts) or 1
    step = (WIDTH - 2 * PAD) / (len(counts) - 1)
    points = [(PAD + i * step, HEIGHT - PAD - (HEIGHT - 2 * PAD) * n / top) for i, n in enumerate(counts)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    label = f"Rows of the last {len(counts)} publishes, oldest first: " + ", ".join(f"{n:,}" for n in counts)
    return Markup(
        f'<svg class="sparkline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="vol-title" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="vol-title">{escape(label)}</title>'
        f'<polyline points="{line}" fill="none" class="trend-line"/>'
        "</svg>"
    )


def _since(now: datetime) -> object:
    """``since(t)``: how long ago ``t`` was, in words, for the template."""
    return lambda then: in_words((now - then).total_seconds())
