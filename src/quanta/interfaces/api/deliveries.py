"""File deliveries: a subscription that has every new version of a product written as Parquet or CSV
files, with a manifest, into a folder of the caller's on the server (docs/changes.md).

While the app runs (``quanta serve``), a background thread makes the deliveries that are due, beside
the alert deliverer: each version's delivery is claimed in the registry's outbox, so with several
workers one of them writes it.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, FastAPI, Path, Response

from quanta.interfaces.api.deps import CallerDep
from quanta.interfaces.api.models import FileDeliveryIn, FileDeliveryOut, problem_responses

if TYPE_CHECKING:
    from quanta.mesh import DeliverySubscriptionRecord, Mesh


@asynccontextmanager
async def _deliver_files(app: FastAPI) -> AsyncIterator[None]:
    """Make due file deliveries in the background while the app runs."""
    mesh: Mesh = app.state.mesh
    stop = threading.Event()
    thread = threading.Thread(target=mesh.run_deliveries, args=(stop,), daemon=True, name="file delivery")
    thread.start()
    yield
    stop.set()
    mesh.stop_deliveries()
    thread.join(timeout=10)


router = APIRouter(
    responses=problem_responses(400, 401, 403, 404, 422), tags=["deliveries"], lifespan=_deliver_files
)
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The delivery subscription's id.")]


@router.post("/products/{product_id}/deliveries", response_model=FileDeliveryOut, status_code=201)
def create_delivery(caller: CallerDep, product_id: str, body: FileDeliveryIn) -> dict[str, object]:
    """Subscribe to file deliveries of a product: its current version is written at once (by the
    server's background deliverer, within seconds), then every version it publishes, as the caller
    reads it (grants, masks, row filters) and under the egress policies. The same folder again changes
    the format and mode. Needs the ``request`` scope and read access to the product."""
    caller.require("request")
    with caller.act() as mesh:
        folder = mesh.delivery_folder(body.folder)
        subscription = mesh.subscribe_delivery(product_id, folder, format=body.format, mode=body.mode)
        mesh.deliver_soon()
        return _out(mesh, [subscription])[0]


@router.get("/deliveries", response_model=list[FileDeliveryOut])
def list_deliveries(caller: CallerDep) -> list[dict[str, object]]:
    """The caller's delivery subscriptions (every one, for platform admins), each with the newest
    version queued and how its delivery went."""
    with caller.act() as mesh:
        return _out(mesh, mesh.delivery_subscriptions())


@router.get("/deliveries/{subscription_id}", response_model=FileDeliveryOut)
def get_delivery(caller: CallerDep, subscription_id: SubscriptionId) -> dict[str, object]:
    """One of the caller's delivery subscriptions (another principal's is not found)."""
    with caller.act() as mesh:
        return _out(mesh, [mesh.delivery_subscription(subscription_id)])[0]


@router.delete("/deliveries/{subscription_id}", status_code=204)
def delete_delivery(caller: CallerDep, subscription_id: SubscriptionId) -> Response:
    """Stop a delivery subscription: versions still queued for it are dropped; files already
    delivered stay in the folder."""
    caller.require("request")
    with caller.act() as mesh:
        mesh.unsubscribe_delivery(subscription_id)
    return Response(status_code=204)


def _out(mesh: Mesh, subscriptions: list[DeliverySubscriptionRecord]) -> list[dict[str, object]]:
    latest = mesh.delivery_status(subscriptions)
    found = []
    for subscription in subscriptions:
        answer = asdict(subscription)
        record = latest.get(subscription.id)
        answer["latest"] = None
        if record is not None:
            answer["latest"] = {
                "version": record.payload.get("version"),
                "status": record.status,
                "attempts": record.attempts,
                "last_error": record.last_error,
                "delivered_at": record.delivered_at,
            }
        found.append(answer)
    return found
