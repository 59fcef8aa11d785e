"""Platform KPIs and consumer feedback (ratings and comments on products)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Response

from quanta.interfaces.api.deps import CallerDep
from quanta.interfaces.api.models import FeedbackIn, problem_responses
from quanta.observability.kpis import Kpis
from quanta.registry.stores.feedback import FeedbackRecord, ProductFeedback

router = APIRouter(responses=problem_responses(400, 401, 403, 404, 413, 422), tags=["kpis"])


@router.get("/kpis", response_model=Kpis)
def kpis(
    caller: CallerDep,
    since: Annotated[int, Query(ge=1, le=3650, description="Days the flow KPIs look back.")] = 30,
) -> dict[str, object]:
    """Platform KPIs: products, consumers, reuse, lead time, time to first query, failed publishes,
    incidents, query volume and feedback (platform admins and stewards; domain owners: their domains)."""
    with caller.act() as mesh:
        return asdict(mesh.kpis(since))


@router.get("/products/{product_id}/feedback", response_model=ProductFeedback)
def list_feedback(caller: CallerDep, product_id: str) -> dict[str, object]:
    """Ratings and comments on a product, newest first, and whether the caller may rate it."""
    with caller.act() as mesh:
        return asdict(mesh.product_feedback(product_id))


@router.post("/products/{product_id}/feedback", response_model=FeedbackRecord)
def rate(caller: CallerDep, product_id: str, body: FeedbackIn) -> dict[str, object]:
    """Rate a product and/or comment on it (one feedback per principal; posting again updates it)."""
    caller.require("request")
    with caller.act() as mesh:
        return asdict(mesh.rate(product_id, body.rating, body.comment))


@router.delete("/products/{product_id}/feedback/{feedback_id}", status_code=204)
def delete_feedback(caller: CallerDep, product_id: str, feedback_id: int) -> Response:
    """Delete a feedback: its author, or a moderator (the product's domain owners, stewards)."""
    caller.require("request")
    with caller.act() as mesh:
        mesh.delete_feedback(product_id, feedback_id)
    return Response(status_code=204)
