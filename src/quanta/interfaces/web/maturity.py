"""The DATSIS maturity panel on the product page (an htmx fragment): the level, six bars, every
criterion with how to meet it, and a sparkline of the score's trend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from quanta.interfaces.api.deps import Caller, caller
from quanta.interfaces.web.pages import Viewer, WebRoute, render

if TYPE_CHECKING:
    from quanta.registry.stores.maturity_scores import MaturityRecord

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CallerDep = Annotated[Caller, Depends(caller)]
TREND_POINTS = 30
WIDTH, HEIGHT, PAD = 200, 40, 4
SPAN = 20


@router.get("/products/{product_id}/panels/maturity", response_class=HTMLResponse)
def maturity_panel(request: Request, caller: CallerDep, product_id: str) -> HTMLResponse:
    """The DATSIS score of the version consumers read, computed now (and stored when it changed), with
    its trend."""
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        maturity = mesh.maturity(product_id, served=True)
        history = mesh.maturity_history(product_id, TREND_POINTS)
    return render(
        request,
        "_panel_maturity.html",
        viewer,
        maturity=maturity,
        history=history,
        trend=sparkline(history),
    )


def sparkline(history: list[MaturityRecord]) -> Markup:
    """The overall scores, oldest first, as a small inline SVG line; the height spans the scores seen
    (at least 20 points), so that a change of a few points shows."""
    if not history:
        return Markup("")
    scores = [r.score for r in history]
    low = max(0, min(*scores, max(scores) - SPAN) - 2)
    high = min(100, max(*scores, low + SPAN) + 2)
    step = (WIDTH - 2 * PAD) / max(1, len(scores) - 1)
    points = [
        (PAD + i * step, HEIGHT - PAD - (HEIGHT - 2 * PAD) * (s - low) / (high - low))
        for i, s in enumerate(scores)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    label = f"Maturity score over the last {len(scores)} changes: {', '.join(map(str, scores))}"
    last_x, last_y = points[-1]
    return Markup(
        f'<svg class="sparkline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="mt-title" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="mt-title">{escape(label)}</title>'
        f'<polyline points="{line}" fill="none" class="trend-line"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3" class="trend-dot"/>'
        "</svg>"
    )
