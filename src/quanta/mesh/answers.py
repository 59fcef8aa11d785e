"""The documents the REST API answers with, shaped once: the API's routes return them, and the SDK's
local mode returns them (as JSON values) without the web stack, so a notebook in process and a
client over HTTP read the same fields. Each takes the :class:`~quanta.mesh.Mesh` acting for the
caller."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.mesh import Mesh
    from quanta.query.governed import GovernedStream
    from quanta.registry.stores.publishing import PublishRecord


CHECK_FIELDS = ("name", "kind", "verdict", "measured", "threshold", "object", "column", "severity", "message")
"""What a contract check's answer says (the stored result may carry more, for the build's report)."""


def page(items: Sequence[object], limit: int, offset: int) -> dict[str, object]:
    """One page of ``items`` with the total, for every list endpoint."""
    return {"items": items[offset : offset + limit], "total": len(items), "limit": limit, "offset": offset}


def products_page(
    mesh: Mesh, limit: int, offset: int, filters: dict[str, str | None] | None = None
) -> dict[str, object]:
    """Registered products (every product is listed; reading its data is governed)."""
    chosen = filters or {}
    found = mesh.products(domain=chosen.get("domain"), type=chosen.get("type"), status=chosen.get("status"))
    return page([asdict(p) for p in found], limit, offset)


def search(mesh: Mesh, q: str, limit: int, offset: int, filters: dict[str, str]) -> dict[str, object]:
    found = mesh.search(q, filters=filters, limit=limit, offset=offset)
    # Fields are plain values, lists and dicts of them: a shallow copy is the document (asdict's deep
    # copy was half of a search answer's time).
    return {**vars(found), "hits": [dict(vars(hit)) for hit in found.hits]}


def product_detail(mesh: Mesh, product_id: str) -> dict[str, object]:
    """The descriptor and contracts of the version consumers read, every registered version with its
    outcome, and consumers."""
    view = mesh.product(product_id)
    return {
        "product": asdict(view.summary),
        "descriptor": view.descriptor,
        "contracts": view.contracts,
        "versions": [asdict(v) for v in view.versions],
        "consumers": view.consumers,
    }


def product_schema(mesh: Mesh, product_id: str) -> list[dict[str, object]]:
    return [asdict(c) for c in mesh.product_columns(product_id)]


def runs_page(mesh: Mesh, product: str | None, limit: int, offset: int) -> dict[str, object]:
    """Build runs, newest first."""
    return page([asdict(r) for r in mesh.runs(product, limit=1000)], limit, offset)


def checks(mesh: Mesh, product_id: str) -> dict[str, object]:
    """The contract checks of the version consumers read now."""
    last = _current(mesh, product_id)
    return {
        "product_id": product_id,
        "version": last.version,
        "run_id": last.run_id,
        "published_at": last.created_at,
        "summary": (last.checks or {}).get("summary") or {},
        "checks": [
            {field: check.get(field) for field in CHECK_FIELDS}
            for check in (last.checks or {}).get("checks") or []
        ],
    }


def freshness(mesh: Mesh, product_id: str) -> dict[str, object]:
    """When the current version was published, and how old that is."""
    last = _current(mesh, product_id)
    return {
        "product_id": product_id,
        "version": last.version,
        "published_at": last.created_at,
        "age_seconds": (datetime.now(UTC) - last.created_at).total_seconds(),
        "rows": last.rows,
    }


def incidents_page(
    mesh: Mesh, product: str | None, status: str | None, kind: str | None, limit: int, offset: int
) -> dict[str, object]:
    """Incidents of the products the caller may read, newest first."""
    return page(mesh.incidents(product, status, kind, limit=5000), limit, offset)


def access_request(
    mesh: Mesh,
    product_id: str,
    purpose: str,
    *,
    columns: list[str] | None,
    days: int,
    accept_terms: bool = False,
    terms_digest: str | None = None,
) -> dict[str, object]:
    """Ask for access; the request (or grant, when a policy approved it at once) as recorded."""
    request_id = mesh.request_access(
        product_id, purpose, columns=columns, days=days, accept_terms=accept_terms,
        terms_digest=terms_digest,
    )  # fmt: skip
    return asdict(next(g for g in mesh.access_requests(product_id) if g.id == request_id))


def _current(mesh: Mesh, product_id: str) -> PublishRecord:
    """The publish consumers read now (NotFoundError for an unknown product or one never published)."""
    mesh.product_facts(product_id)
    return mesh.resolve(product_id)[3]


def query_document(stream: GovernedStream) -> Iterator[bytes]:
    """The JSON document of a governed query (columns, masked, rows, row_count, receipt), a chunk per
    batch; the receipt comes last, once the last row has been read."""
    head = {"columns": stream.schema.names, "masked": stream.masked}
    yield (json.dumps(head, ensure_ascii=False)[:-1] + ',"rows":[').encode()
    rows = 0
    for batch in stream:
        lines = [
            json.dumps({k: plain_json(v) for k, v in row.items()}, ensure_ascii=False, allow_nan=False)
            for row in batch.to_pylist()
        ]
        if lines:
            yield (("," if rows else "") + ",".join(lines)).encode()
        rows += len(lines)
    receipt = json.dumps(stream.receipt, ensure_ascii=False)
    yield f'],"row_count":{rows},"receipt":{receipt}}}'.encode()


def plain_json(value: object) -> object:
    """A value as JSON has it: numbers, text, lists, objects; anything else as text (dates, decimals);
    NaN and infinities (which JSON lacks) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return str(value)


def json_values(answer: object) -> object:
    """An answer as the JSON an HTTP client would parse (dates as ISO 8601 text, dataclasses as objects)."""
    from pydantic_core import to_jsonable_python

    found: object = to_jsonable_python(answer)
    return found
