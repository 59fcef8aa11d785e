"""Observability: build runs, contract check results, freshness."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from quanta.interfaces.api.deps import Caller, CallerDep, Limit, Offset, page
from quanta.interfaces.api.models import ChecksOut, FreshnessOut, RunPage, problem_responses
from quanta.registry.publishing import PublishRecord

router = APIRouter(responses=problem_responses(401, 403, 404, 422), tags=["observability"])


@router.get("/runs", response_model=RunPage)
def list_runs(
    caller: CallerDep,
    limit: Limit = 50,
    offset: Offset = 0,
    product: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, object]:
    """Build runs, newest first."""
    with caller.act() as mesh:
        runs = [asdict(r) for r in mesh.runs(product, limit=1000)]
    return page(runs, limit, offset)


@router.get("/products/{product_id}/checks", response_model=ChecksOut)
def latest_checks(caller: CallerDep, product_id: str) -> dict[str, object]:
    """The contract checks of the version consumers read now."""
    last = _current(caller, product_id)
    return {
        "product_id": product_id,
        "version": last.version,
        "run_id": last.run_id,
        "published_at": last.created_at,
        "summary": (last.checks or {}).get("summary") or {},
        "checks": (last.checks or {}).get("checks") or [],
    }


@router.get("/products/{product_id}/freshness", response_model=FreshnessOut)
def freshness(caller: CallerDep, product_id: str) -> dict[str, object]:
    """When the current version was published, and how old that is."""
    last = _current(caller, product_id)
    return {
        "product_id": product_id,
        "version": last.version,
        "published_at": last.created_at,
        "age_seconds": (datetime.now(UTC) - last.created_at).total_seconds(),
        "rows": last.rows,
    }


def _current(caller: Caller, product_id: str) -> PublishRecord:
    """The publish consumers read now (404 for an unknown product or one never published)."""
    with caller.act() as mesh:
        mesh.product_facts(product_id)
        return mesh.resolve(product_id)[3]
