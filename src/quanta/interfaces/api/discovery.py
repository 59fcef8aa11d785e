"""Discovery: products, versions, schemas, contracts, and governed queries over their data."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from quanta.interfaces.api.deps import CallerDep, Limit, Offset
from quanta.interfaces.api.models import (
    Endpoints,
    ProductDetail,
    ProductPage,
    QueryIn,
    QueryOut,
    VersionInfo,
    problem_responses,
)
from quanta.interfaces.api.streaming import ARROW_STREAM, streaming_response
from quanta.mesh import BlueprintEntry, ProductColumn, SearchResult, answers

router = APIRouter(responses=problem_responses(400, 401, 403, 404, 409, 413, 422), tags=["discovery"])


@router.get("/products", response_model=ProductPage)
def list_products(
    caller: CallerDep,
    limit: Limit = 50,
    offset: Offset = 0,
    domain: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, object]:
    """Registered products (every product is listed; reading its data is governed)."""
    with caller.act() as mesh:
        return answers.products_page(mesh, limit, offset, {"domain": domain, "type": type, "status": status})


@router.get("/blueprints", response_model=list[BlueprintEntry])
def blueprints(caller: CallerDep) -> list[dict[str, Any]]:
    """The blueprints products are made from (shipped, then the workspace's community ones): what each
    makes, its versions and questions, and the ``quanta new`` command."""
    with caller.act() as mesh:
        return [asdict(entry) for entry in mesh.blueprint_entries()]


@router.get("/endpoints", response_model=Endpoints)
def endpoints(request: Request, caller: CallerDep) -> dict[str, str | None]:
    """The protocols this server speaks and where, named with the host the caller reached."""
    from quanta.interfaces.web.connect import FLIGHT_ENDPOINT, PG_ENDPOINT, endpoint_port

    host = request.url.hostname or "localhost"
    base = str(request.base_url).rstrip("/")
    flight, postgres = endpoint_port(FLIGHT_ENDPOINT), endpoint_port(PG_ENDPOINT)
    return {
        "rest": f"{base}/api/v1",
        "mcp": f"{base}/mcp",
        "flight": f"grpc://{host}:{flight}" if flight else None,
        "postgres": f"{host}:{postgres}" if postgres else None,
    }


@router.get("/search", response_model=SearchResult)
def search(
    caller: CallerDep,
    q: Annotated[str, Query(max_length=500, description="Words; typos are tolerated; empty lists all.")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Offset = 0,
    domain: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    classification: Annotated[str | None, Query(max_length=40)] = None,
    maturity: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, object]:
    """Full-text search over names, descriptions, columns, tags, owners and glossary terms, with facets;
    exact name matches first; each hit says what matched. Past 1,000 matches ``total`` and the facet
    counts are estimates: ``total_exact`` and ``facets_exact`` are then false."""
    wanted = {
        "domain": domain,
        "type": type,
        "status": status,
        "classification": classification,
        "maturity": maturity,
    }
    filters = {k: v for k, v in wanted.items() if v}
    with caller.act() as mesh:
        return answers.search(mesh, q, limit, offset, filters)


@router.get("/products/{product_id}", response_model=ProductDetail)
def get_product(caller: CallerDep, product_id: str) -> dict[str, object]:
    """A product: the descriptor and contracts of the version consumers read (``served_version``),
    every registered version with its ``outcome``, and consumers."""
    with caller.act() as mesh:
        return answers.product_detail(mesh, product_id)


@router.get("/products/{product_id}/versions", response_model=list[VersionInfo])
def list_versions(caller: CallerDep, product_id: str) -> list[dict[str, object]]:
    with caller.act() as mesh:
        return [asdict(v) for v in mesh.product(product_id).versions]


@router.get("/products/{product_id}/contract", response_model=dict[str, dict[str, Any]])
def get_contract(
    caller: CallerDep, product_id: str, version: Annotated[str | None, Query(max_length=100)] = None
) -> dict[str, dict[str, Any]]:
    """The ODCS contract of each output port (latest version, or ``version``)."""
    with caller.act() as mesh:
        return mesh.product(f"{product_id}@{version}" if version else product_id).contracts


@router.get("/products/{product_id}/schema", response_model=list[ProductColumn])
def get_schema(caller: CallerDep, product_id: str) -> list[dict[str, object]]:
    """Every column of every output port, with its classification and tags."""
    with caller.act() as mesh:
        return answers.product_schema(mesh, product_id)


@router.post(
    "/query",
    response_model=QueryOut,
    responses={200: {"content": {ARROW_STREAM: {}}}},
)
def run_query(caller: CallerDep, body: QueryIn) -> Any:
    """Run SQL over products through the governed query service (access, masks, row filters, audit).
    The rows are streamed as the engine computes them (``limit: null`` for all of them); ``format:
    arrow`` returns an Arrow IPC stream instead of JSON. ``X-Quanta-Audit-Ids`` names the audit entries."""
    caller.require("read")
    with caller.act() as mesh:
        stream = mesh.governed_stream(body.sql, limit=body.limit).started()
    if body.format == "arrow":
        return streaming_response(stream, stream.encoded("arrow"), ARROW_STREAM)
    return streaming_response(stream, answers.query_document(stream), "application/json")


@router.get(
    "/products/{product_id}/changes",
    response_model=QueryOut,
    responses={200: {"content": {ARROW_STREAM: {}}}},
)
def get_changes(
    caller: CallerDep,
    product_id: str,
    since: Annotated[str, Query(max_length=100, description="The older version, e.g. 1.2.0.")],
    until: Annotated[
        str | None, Query(max_length=100, description="The newer version (default: the current one).")
    ] = None,
    format: Annotated[
        str, Query(pattern="^(json|arrow)$", description="json or arrow (IPC stream).")
    ] = "json",
) -> Any:
    """The rows inserted, deleted and updated between two versions, read through the governed query
    service as the caller may read them (``_change``, ``_version``, then the columns; docs/changes.md).
    Streamed like ``POST /query``."""
    caller.require("read")
    with caller.act() as mesh:
        stream = mesh.changes(product_id, since, until).started()
    if format == "arrow":
        return streaming_response(stream, stream.encoded("arrow"), ARROW_STREAM)
    return streaming_response(stream, answers.query_document(stream), "application/json")
