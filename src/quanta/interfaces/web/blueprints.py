"""The Blueprints page of the marketplace: every blueprint products are made from, what it makes, its
questions, and the exact ``quanta new`` command to use it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from quanta.interfaces.api.deps import Caller, caller
from quanta.interfaces.web.pages import Viewer, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CallerDep = Annotated[Caller, Depends(caller)]


@router.get("/blueprints", response_class=HTMLResponse)
def blueprints_page(request: Request, caller: CallerDep) -> HTMLResponse:
    """Shipped blueprints first, then the workspace's community ones (``blueprints.yaml``)."""
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        entries = mesh.blueprint_entries()
    return render(request, "blueprints.html", viewer, entries=entries)
