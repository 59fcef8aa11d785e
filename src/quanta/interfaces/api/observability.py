"""Observability: build runs, contract check results, freshness, product health, incidents and alert
deliveries. Health and incidents are shown for the products the caller may read; deliveries to admins.

While the app runs (``quanta serve``), a background thread sends the alert outbox.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query

from quanta.interfaces.api.deps import CallerDep, Limit, Offset
from quanta.interfaces.api.models import (
    ChecksOut,
    DeliveryPage,
    FreshnessOut,
    HealthPage,
    IncidentPage,
    RunPage,
    problem_responses,
)
from quanta.mesh import IncidentRecord, ProductHealth, answers
from quanta.mesh.answers import page


@asynccontextmanager
async def _deliver_alerts(app: FastAPI) -> AsyncIterator[None]:
    """Send the alert outbox in the background while the app runs."""
    stop = threading.Event()
    deliverer = app.state.mesh.alert_deliverer
    thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True, name="alert delivery")
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


router = APIRouter(
    responses=problem_responses(401, 403, 404, 422), tags=["observability"], lifespan=_deliver_alerts
)
IncidentStatus = Literal["open", "closed"]
IncidentKind = Literal["freshness", "contract", "build", "anomaly"]
DeliveryStatus = Literal["pending", "sending", "delivered", "failed"]


@router.get("/runs", response_model=RunPage)
def list_runs(
    caller: CallerDep,
    limit: Limit = 50,
    offset: Offset = 0,
    product: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, object]:
    """Build runs, newest first."""
    with caller.act() as mesh:
        return answers.runs_page(mesh, product, limit, offset)


@router.get("/products/{product_id}/checks", response_model=ChecksOut)
def latest_checks(caller: CallerDep, product_id: str) -> dict[str, object]:
    """The contract checks of the version consumers read now."""
    with caller.act() as mesh:
        return answers.checks(mesh, product_id)


@router.get("/products/{product_id}/freshness", response_model=FreshnessOut)
def freshness(caller: CallerDep, product_id: str) -> dict[str, object]:
    """When the current version was published, and how old that is."""
    with caller.act() as mesh:
        return answers.freshness(mesh, product_id)


@router.get("/products/{product_id}/health", response_model=ProductHealth)
def product_health(
    caller: CallerDep, product_id: str, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> ProductHealth:
    """Freshness against the contract's SLA, SLO attainment over ``days``, open and recent incidents,
    recent runs, volume and null-rate anomalies, and schema changes between publishes."""
    with caller.act() as mesh:
        return mesh.product_health(product_id, days=days)


@router.get("/health", response_model=HealthPage)
def health(caller: CallerDep, limit: Limit = 50, offset: Offset = 0) -> dict[str, object]:
    """The health of every product the caller may read, by product id."""
    with caller.act() as mesh:
        ids = mesh.readable_products()
        items = [mesh.product_health(pid) for pid in ids[offset : offset + limit]]
    return {"items": items, "total": len(ids), "limit": limit, "offset": offset}


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(
    caller: CallerDep,
    limit: Limit = 50,
    offset: Offset = 0,
    product: Annotated[str | None, Query(max_length=200)] = None,
    status: IncidentStatus | None = None,
    kind: IncidentKind | None = None,
) -> dict[str, object]:
    """Incidents of the products the caller may read, newest first."""
    with caller.act() as mesh:
        return answers.incidents_page(mesh, product, status, kind, limit, offset)


@router.get("/incidents/{incident_id}", response_model=IncidentRecord)
def get_incident(caller: CallerDep, incident_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> IncidentRecord:
    """One incident: what is wrong, since when, how often it was seen, and how it ended."""
    with caller.act() as mesh:
        return mesh.incident(incident_id)


@router.get("/alerts/deliveries", response_model=DeliveryPage)
def list_deliveries(
    caller: CallerDep,
    limit: Limit = 50,
    offset: Offset = 0,
    status: DeliveryStatus | None = None,
    sink: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """The alert outbox, newest first: each alert per sink with its attempts and last error
    (platform admins and governance stewards)."""
    caller.require("admin")
    with caller.act() as mesh:
        found = mesh.alert_deliveries(status, sink, limit=5000)
    return page(found, limit, offset)
