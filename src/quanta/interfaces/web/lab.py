"""The data lab: a SQL editor over the products the viewer may read, a results grid, the schema
browser, predefined queries, and CSV download (egress, so the export policies decide)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from quanta.errors import QuantaError
from quanta.interfaces.api.deps import Caller, caller
from quanta.interfaces.api.streaming import streaming_response
from quanta.interfaces.web import product_page
from quanta.interfaces.web.pages import Viewer, WebRoute, render
from quanta.interfaces.web.results import Grid, Refusal, attempt, refusal

if TYPE_CHECKING:
    from quanta.mesh import Mesh

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CallerDep = Annotated[Caller, Depends(caller)]
MAX_SQL = 20_000
MAX_BROWSED = 100  # products in the schema browser; search the marketplace for the rest
Sql = Annotated[str, Form(max_length=MAX_SQL)]


@dataclass(frozen=True)
class BrowsedProduct:
    """A product in the schema browser, with its columns and predefined queries."""

    id: str
    name: str
    columns: list[product_page.Column]
    queries: list[product_page.SavedQuery]


@router.get("/lab", response_class=HTMLResponse)
def lab(
    request: Request,
    caller: CallerDep,
    product: Annotated[str, Query(max_length=200)] = "",
    sql: Annotated[str, Query(max_length=MAX_SQL)] = "",
) -> HTMLResponse:
    """The lab; with ``sql`` (e.g. from a product's 'Open in data lab') the query runs at once."""
    with caller.act() as mesh:
        viewer = Viewer.of(mesh, request)
        browser = _schema_browser(mesh)
        result = attempt(mesh, sql) if sql.strip() else None
    if not sql.strip() and product:
        sql = f"select * from {product} limit 100"
    return _page(request, viewer, sql, product, browser, result)


@router.post("/lab/run", response_class=HTMLResponse)
def run(request: Request, caller: CallerDep, sql: Sql) -> HTMLResponse:
    """The results grid for ``sql`` (an htmx fragment)."""
    caller.require("read")
    with caller.act() as mesh:
        result = attempt(mesh, sql)
    return render(request, "_results.html", None, result=result, sql=sql)


@router.post("/lab/download", response_model=None)
def download(request: Request, caller: CallerDep, sql: Sql) -> StreamingResponse | HTMLResponse:
    """The result as a CSV file, streamed as it is computed, unless the egress policies refuse what
    would leave in clear."""
    with caller.act() as mesh:
        try:
            stream = mesh.export_stream(sql, "download").started()
        except QuantaError as exc:
            viewer = Viewer.of(mesh, request)
            browser = _schema_browser(mesh)
            return _page(request, viewer, sql, "", browser, refusal(exc, "Not downloaded"), status=exc.status)
    attachment = {"Content-Disposition": 'attachment; filename="quanta-result.csv"'}
    return streaming_response(stream, stream.encoded("csv"), "text/csv", attachment)


def _page(
    request: Request,
    viewer: Viewer,
    sql: str,
    product: str,
    browser: list[BrowsedProduct],
    result: Grid | Refusal | None,
    status: int = 200,
) -> HTMLResponse:
    chosen = [p for p in browser if p.id == product]
    predefined = [(p.id, q) for p in chosen or browser for q in (p.queries if chosen else p.queries[:1])]
    return render(
        request,
        "lab.html",
        viewer,
        status=status,
        sql=sql,
        product=product,
        browser=browser,
        predefined=predefined,
        result=result,
    )


def _schema_browser(mesh: Mesh) -> list[BrowsedProduct]:
    """The products the acting principal may read now, with their columns from the contracts."""
    principal = mesh.principal()
    found: list[BrowsedProduct] = []
    for summary in mesh.products():
        if len(found) >= MAX_BROWSED:
            break
        access = mesh.access(principal, summary.id)
        if not access.allowed:
            continue
        view = mesh.product(summary.id)
        cols = product_page.columns(view.contracts)
        if access.columns is not None:  # a column-scoped grant: the others do not exist for the viewer
            cols = [c for c in cols if c.name in access.columns]
        queries = product_page.within_grant(
            product_page.predefined_queries(summary.id, view.descriptor, cols), access.columns
        )
        found.append(BrowsedProduct(summary.id, summary.name, cols, queries))
    return found
