"""File delivery from the product page: subscribe to have every new version written as files into a
folder of one's own on the server, see how the last delivery went, stop one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse

from quanta.interfaces.api.deps import Caller, caller
from quanta.interfaces.web.pages import WebRoute

if TYPE_CHECKING:
    from quanta.mesh import DeliveryRecord, DeliverySubscriptionRecord, Mesh

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CallerDep = Annotated[Caller, Depends(caller)]


@dataclass(frozen=True)
class DeliveryRow:
    """One of the viewer's delivery subscriptions of a product, as the product page lists it."""

    subscription: DeliverySubscriptionRecord
    latest: DeliveryRecord | None


def for_product(mesh: Mesh, product_id: str, viewer_id: str) -> list[DeliveryRow]:
    """The viewer's own delivery subscriptions of ``product_id``, with the newest delivery of each."""
    mine = [
        s for s in mesh.delivery_subscriptions() if s.product_id == product_id and s.principal == viewer_id
    ]
    latest = mesh.delivery_status(mine)
    return [DeliveryRow(s, latest.get(s.id)) for s in mine]


@router.post("/products/{product_id}/deliveries")
def create(
    caller: CallerDep,
    product_id: str,
    folder: Annotated[str, Form(min_length=1, max_length=300)],
    format: Annotated[str, Form(pattern="^(parquet|csv)$")] = "parquet",
    mode: Annotated[str, Form(pattern="^(full|changes)$")] = "full",
) -> RedirectResponse:
    """Subscribe (the server's background deliverer writes the current version within seconds)."""
    caller.require("request")
    with caller.act() as mesh:
        target = mesh.delivery_folder(folder)
        subscription = mesh.subscribe_delivery(product_id, target, format=format, mode=mode)
        mesh.deliver_soon()
    return RedirectResponse(
        f"/products/{product_id}?delivery={subscription.id}#deliveries-h", status_code=303
    )


@router.post("/deliveries/{subscription_id}/delete")
def delete(caller: CallerDep, subscription_id: int) -> RedirectResponse:
    """Stop one delivery subscription (files already delivered stay)."""
    caller.require("request")
    with caller.act() as mesh:
        subscription = mesh.unsubscribe_delivery(subscription_id)
    return RedirectResponse(f"/products/{subscription.product_id}#deliveries-h", status_code=303)
