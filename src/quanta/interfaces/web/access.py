"""Access: ask for a product with a purpose and a duration, follow one's own requests, and decide
the requests waiting in one's approvals inbox (owners of the product's domain, platform admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from quanta.errors import QuantaError
from quanta.interfaces.api.deps import Caller, caller
from quanta.interfaces.web.pages import Viewer, WebRoute, render
from quanta.mesh import TermsNotAccepted
from quanta.mesh import terms_digest as terms_id

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CallerDep = Annotated[Caller, Depends(caller)]


@router.get("/access", response_class=HTMLResponse)
def access_page(
    request: Request,
    caller: CallerDep,
    product: Annotated[str, Query(max_length=200)] = "",
    sent: Annotated[int | None, Query()] = None,
    decided: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    """The request form (for ``product``), the viewer's requests and their approvals inbox."""
    return _page(request, caller, {"product": product}, sent=sent, decided=decided)


def _page(
    request: Request,
    caller: Caller,
    form: dict[str, str],
    error: QuantaError | None = None,
    **context: object,
) -> HTMLResponse:
    product = form.get("product", "")
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        principal = mesh.principal()
        products = mesh.products()
        visible = mesh.access_requests()
        known = {p.id for p in products}
        contracts = mesh.product(product).contracts if product in known else {}
        terms = mesh.access_terms(product) if product in known else []
    columns = [
        str(p.get("name"))
        for c in contracts.values()
        for obj in c.get("schema") or []
        for p in obj.get("properties") or []
    ]
    mine = sorted((g for g in visible if g.principal == viewer.id), key=lambda g: -g.id)
    inbox = sorted(
        (
            g
            for g in visible
            if g.status == "requested" and principal.can("approve_access", g.product_id.partition(".")[0])
        ),
        key=lambda g: g.id,
    )
    return render(
        request,
        "access.html",
        viewer,
        status=error.status if error else 200,
        products=products,
        form=form,
        columns=columns,
        terms=terms,
        terms_digest=terms_id(terms) if terms else None,
        mine=mine,
        inbox=inbox,
        error=error,
        grants={g.id: g for g in visible},
        **context,
    )


@router.post("/access/requests", response_model=None)
def request_access(
    request: Request,
    caller: CallerDep,
    *,
    product: Annotated[str, Form(min_length=1, max_length=200)],
    purpose: Annotated[str, Form(max_length=2000)],
    days: Annotated[int, Form(ge=1, le=365)] = 90,
    columns: Annotated[str, Form(max_length=4000)] = "",
    accept_terms: Annotated[bool, Form()] = False,
    terms_digest: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse | HTMLResponse:
    """Send a request (the access policies approve it, refuse it, or pass it to the product's owners);
    back to the access page, which shows it and which policy decided."""
    wanted = [c.strip() for c in columns.replace("\n", ",").split(",") if c.strip()]
    try:
        caller.require("request")  # a signed-in token's scopes hold here as in the API
        with caller.act() as mesh:
            request_id = mesh.request_access(
                product, purpose, columns=wanted or None, days=days, accept_terms=accept_terms,
                terms_digest=terms_digest or None,
            )  # fmt: skip
    except QuantaError as exc:  # the form again, as filled in, with what to correct
        if isinstance(exc, TermsNotAccepted):
            exc.for_interface("web")
        form = {"product": product, "purpose": purpose, "days": str(days), "columns": columns}
        return _page(request, caller, form, exc)
    return RedirectResponse(f"/access?sent={request_id}#mine", status_code=303)


@router.post("/access/requests/{request_id}/decide")
def decide(
    caller: CallerDep,
    request_id: int,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """Approve or reject a pending request."""
    caller.require("write")
    with caller.act() as mesh:
        mesh.decide_access(request_id, decision == "approve", reason.strip() or None)
    return RedirectResponse(f"/access?decided={request_id}#inbox", status_code=303)
