"""The marketplace: the home page with search and facets, and the product page."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from quanta.interfaces.api.deps import Caller, caller
from quanta.interfaces.web import deliveries, product_page
from quanta.interfaces.web.chart import quality_chart, quality_points
from quanta.interfaces.web.connect import connect_strings
from quanta.interfaces.web.pages import Viewer, WebRoute, metadata_only, render
from quanta.interfaces.web.results import attempt

if TYPE_CHECKING:
    from quanta.mesh import Freshness as HealthFreshness
    from quanta.mesh import Mesh, SearchResult

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CallerDep = Annotated[Caller, Depends(caller)]
PAGE = 20
PAGE_SECONDS = 5  # a rendered product page is shown at most this long after the clock moves on
FACETS = ("domain", "type", "status", "classification", "maturity")


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    url: str
    active: bool


@dataclass(frozen=True)
class Facet:
    name: str
    values: list[FacetValue]


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    caller: CallerDep,
    q: Annotated[str, Query(max_length=256)] = "",
    domain: Annotated[str, Query(max_length=100)] = "",
    type: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(max_length=40)] = "",
    classification: Annotated[str, Query(max_length=40)] = "",
    maturity: Annotated[str, Query(max_length=40)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Search the catalog: every word must match; facets narrow the hits."""
    chosen = {
        k: v
        for k, v in {
            "domain": domain,
            "type": type,
            "status": status,
            "classification": classification,
            "maturity": maturity,
        }.items()
        if v
    }
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        result = mesh.search(q.strip(), filters=chosen, limit=PAGE, offset=offset)
    return render(
        request,
        "home.html",
        viewer,
        q=q,
        result=result,
        chosen=chosen,
        facets=_facets(result, q, chosen),
        clear={name: _url(q, {k: v for k, v in chosen.items() if k != name}) for name in chosen},
        previous=_url(q, chosen, max(0, offset - PAGE)) if offset else None,
        # An estimated total may overshoot: a page that is not full is the last.
        next=_url(q, chosen, offset + PAGE)
        if offset + PAGE < result.total and len(result.hits) == PAGE
        else None,
        offset=offset,
        total=_total(result),
    )


def _total(result: SearchResult) -> str:
    """The number of matches as shown: ``87`` when counted, ``about 87,000`` when estimated."""
    return f"{result.total:,}" if result.total_exact else f"about {result.total:,}"


def _url(q: str, filters: dict[str, str], offset: int = 0) -> str:
    params = {"q": q, **filters, **({"offset": str(offset)} if offset else {})}
    return "/?" + urlencode({k: v for k, v in params.items() if v})


def _facets(result: SearchResult, q: str, chosen: dict[str, str]) -> list[Facet]:
    """Each facet's values as links that add the filter (or, when it is on, take it off)."""
    facets = []
    for name in FACETS:
        counts = result.facets.get(name) or {}
        values = []
        for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            active = chosen.get(name) == value
            wanted = {k: v for k, v in chosen.items() if k != name}
            if not active:
                wanted[name] = value
            values.append(FacetValue(value, count, _url(q, wanted), active))
        if values:
            facets.append(Facet(name, values))
    return facets


@router.get("/products/{product_id}", response_class=HTMLResponse)
def product(
    request: Request,
    caller: CallerDep,
    product_id: str,
    delivery: Annotated[int | None, Query(description="A delivery subscription just made.")] = None,
) -> HTMLResponse:
    """Everything a consumer needs to judge a product, and its data as the viewer may see it.

    The page is rendered once per catalog change for each viewer and address (its query included),
    and again every ``PAGE_SECONDS`` (its freshness badge and measured freshness follow the clock).
    """
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        key = ("product page", product_id, viewer.id, viewer.signed_in, str(request.url), _bucket())
        body = mesh.current(key, lambda: _product_page(request, mesh, viewer, product_id, delivery))
    return metadata_only(HTMLResponse(body))  # the sample rows (governed data) load as a panel of their own


def _bucket() -> int:
    return int(time.time() // PAGE_SECONDS)


def _product_page(
    request: Request, mesh: Mesh, viewer: Viewer, product_id: str, delivery: int | None
) -> bytes:
    view = mesh.product(product_id)
    publishes = mesh.publishes(product_id)
    details = _details(mesh, product_id, view.versions, viewer)
    measured = _measured_freshness(mesh, product_id)
    cols = product_page.columns(view.contracts)
    points = quality_points(publishes)
    page = render(
        request,
        "product.html",
        viewer,
        view=view,
        product=view.summary,
        d=view.descriptor,
        columns=cols,
        contracts=view.contracts,
        queries=product_page.within_grant(
            product_page.predefined_queries(product_id, view.descriptor, cols), details["access"].columns
        ),
        freshness=product_page.freshness(publishes, view.contracts, measured=measured),
        points=list(reversed(points)),
        chart=quality_chart(points),
        latest=publishes[-1] if publishes else None,
        connect=connect_strings(request, viewer.id, product_id, server_mode=viewer.server_mode),
        made=delivery,
        **details,
    )
    return bytes(page.body)


@router.get("/products/{product_id}/panels/sample", response_class=HTMLResponse)
def sample_panel(request: Request, caller: CallerDep, product_id: str) -> HTMLResponse:
    """Ten rows of the product as the viewer may see them (masked, filtered, audited), or why not."""
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        sample = attempt(mesh, f"select * from {product_id} limit 10", rows=10)
    return render(request, "_panel_sample.html", viewer, product_id=product_id, sample=sample)


def _details(mesh: Mesh, product_id: str, versions: list[Any], viewer: Viewer) -> dict[str, Any]:
    """The changelog, the viewer's access and own requests, whether they may decide requests, and
    their file deliveries of the product."""
    principal = mesh.principal()
    facts = mesh.product_facts(product_id)
    return {
        "changelog": product_page.changelog(mesh, product_id, versions),
        "access": mesh.access(principal, product_id),
        "my_requests": [g for g in mesh.access_requests(product_id) if g.principal == viewer.id],
        "may_approve": principal.can("approve_access", facts.domain),
        "deliveries": deliveries.for_product(mesh, product_id, viewer.id),
        "delivery_base": str(mesh.delivery_folder("inbox").parent),  # the viewer's own folder
    }


def _measured_freshness(mesh: Mesh, product_id: str) -> HealthFreshness | None:
    """The health monitor's freshness (on the SLA's column), for viewers who may read the product."""
    from quanta.errors import QuantaError

    try:
        return mesh.product_freshness(product_id)
    except QuantaError:  # no read access: the page judges by the publish time alone
        return None
