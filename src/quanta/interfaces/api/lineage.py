"""Lineage: the product and column lineage graph and impact analysis."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from quanta.interfaces.api.deps import CallerDep
from quanta.interfaces.api.models import problem_responses
from quanta.observability.impact import Impact
from quanta.observability.lineage.view import Direction, LineageView

router = APIRouter(responses=problem_responses(401, 403, 404, 422), tags=["lineage"])
Depth = Annotated[int | None, Query(ge=1, le=50, description="How many hops to follow (default: all).")]
ProductId = Annotated[str, Path(description="A product id.", examples=["sales.orders"])]


@router.get("/products/{product_id}/lineage", response_model=LineageView)
def lineage(
    caller: CallerDep,
    product_id: ProductId,
    direction: Annotated[Direction, Query(description="upstream, downstream or both.")] = "both",
    depth: Depth = None,
    columns: Annotated[bool, Query(description="Include the column edges.")] = False,
) -> LineageView:
    """Products and sources upstream and downstream of a product, and (``columns=true``) which input
    columns each output column is computed from. Products the caller may not read are left out and
    counted in ``hidden``."""
    with caller.act() as mesh:
        return mesh.lineage(product_id, direction=direction, depth=depth, columns=columns)


@router.get("/products/{product_id}/impact", response_model=Impact)
def impact(
    caller: CallerDep,
    product_id: ProductId,
    column: Annotated[
        str | None, Query(max_length=200, description="A column of the product.", examples=["order_date"])
    ] = None,
    depth: Depth = None,
) -> Impact:
    """Every downstream product, column and consumer a change to the product (or to ``column``) would
    touch, each with its path. Products the caller may not read are counted in ``hidden``."""
    with caller.act() as mesh:
        return mesh.impact(f"{product_id}.{column}" if column else product_id, depth=depth)
