"""Prometheus metrics at ``/metrics`` (text exposition format, or OpenMetrics when asked for).

Locally anyone may scrape; in server mode the scraper sends ``Authorization: Bearer <token>`` of a
principal with role ``platform_admin`` or ``governance_steward`` (the metrics name every product);
a token with only the ``metrics`` scope serves a scraper without giving it any data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from quanta.interfaces.api.deps import CallerDep
from quanta.interfaces.api.models import problem_responses
from quanta.observability.prometheus import enable_query_metrics

router = APIRouter(tags=["metrics"], responses=problem_responses(401, 403))

# An app that serves /metrics records the latency of the queries it runs from its first request on.
enable_query_metrics()


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus exposition"}},
)
def metrics(caller: CallerDep, accept: Annotated[str | None, Header()] = None) -> Response:
    """Builds, check failures, query latency, freshness lag, products and open incidents."""
    if caller.scopes is not None and "metrics" not in caller.scopes:
        caller.require("read")
    with caller.act() as mesh:
        body, content_type = mesh.platform_metrics(accept)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
