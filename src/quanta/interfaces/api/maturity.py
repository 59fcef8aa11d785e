"""DATSIS maturity scores: each dimension and criterion, the level and its trend.

Scores are computed when asked (and stored when they changed); a caller sees the scores of the
products it may see: every product inside the mesh, only the shared ones for partners.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from quanta.interfaces.api.deps import CallerDep, Limit, Offset
from quanta.interfaces.api.models import MaturityHistoryPage, MaturityPage, problem_responses
from quanta.mesh import Maturity
from quanta.mesh.answers import page

router = APIRouter(responses=problem_responses(401, 403, 404, 422), tags=["maturity"])


@router.get("/maturity", response_model=MaturityPage)
def list_maturity(caller: CallerDep, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """The level and dimension scores of every product the caller may see, by product id."""
    with caller.act() as mesh:
        found, total = mesh.maturity_all(offset, limit)
    return {"items": [_summary(m) for m in found], "total": total, "limit": limit, "offset": offset}


@router.get("/products/{product_id}/maturity", response_model=Maturity)
def product_maturity(caller: CallerDep, product_id: str) -> Maturity:
    """The product's DATSIS score now: six dimensions from 0 to 100, every criterion met or not with
    its evidence and how to meet it, the level and what the next level needs."""
    with caller.act() as mesh:
        return mesh.maturity(product_id)


@router.get("/products/{product_id}/maturity/history", response_model=MaturityHistoryPage)
def maturity_history(
    caller: CallerDep, product_id: str, limit: Limit = 50, offset: Offset = 0
) -> dict[str, object]:
    """The stored scores of the product, newest first: one entry per change of score, level or
    criteria, after a publish or when someone looked."""
    with caller.act() as mesh:
        records = mesh.maturity_history(product_id, limit=1000)
    return page(list(reversed(records)), limit, offset)


def _summary(maturity: Maturity) -> dict[str, Any]:
    return {
        "product_id": maturity.product_id,
        "version": maturity.version,
        "score": maturity.score,
        "level": maturity.level,
        "rank": maturity.rank,
        "dimensions": {d.name: d.score for d in maturity.dimensions},
        "next_level": maturity.next_level,
    }
