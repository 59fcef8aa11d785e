"""What each MCP tool answers, as JSON-ready dictionaries, from the ``Mesh`` acting for the caller.

Pure translation: every answer is a facade method's result reshaped; every data read (samples and
queries) goes through the governed query stream. Text from product metadata is returned as values,
never interpreted.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from pydantic_core import to_jsonable_python

from quanta.errors import QuantaError
from quanta.mesh.answers import plain_json

if TYPE_CHECKING:
    from quanta.mesh import Direction, GovernedStream, Mesh

Answer = dict[str, object]
MAX_ROWS = 500
"""The most rows one ``query`` answer carries, whatever ``limit`` asks."""
MAX_BYTES = 256 * 1024
"""The most bytes of JSON rows one ``query`` answer carries."""
SAMPLE_ROWS = 5


def search(mesh: Mesh, query: str, filters: dict[str, str], limit: int, offset: int) -> Answer:
    """Search hits with facets; each hit with its stored maturity and, when readable, its health."""
    result = mesh.search(query, filters=filters, limit=limit, offset=offset)
    hits = []
    for hit in result.hits:
        hits.append({**asdict(hit), "maturity": _maturity_of(mesh, hit.product_id),
                     "health": _health_of(mesh, hit.product_id)})  # fmt: skip
    return to_jsonable_python({**asdict(result), "hits": hits})


def _maturity_of(mesh: Mesh, product_id: str) -> dict[str, object] | None:
    try:
        history = mesh.maturity_history(product_id, limit=1)
    except QuantaError:
        return None
    return {"level": history[-1].level, "score": history[-1].score} if history else None


def _health_of(mesh: Mesh, product_id: str) -> str | None:
    try:
        return mesh.product_health(product_id).status
    except QuantaError:  # not readable by the caller: its health is not theirs to see
        return None


def product(mesh: Mesh, product_id: str) -> Answer:
    """Purpose, owner, ports, schema (classifications and the caller's masks), freshness, maturity,
    the caller's access and sample rows read through the governed query path."""
    view = mesh.product(product_id)
    described = view.descriptor.get("description")
    access = mesh.explain_access(product_id)
    sample = None
    if access.allowed and access.published:
        sample = _read(mesh, f"select * from {product_id}", SAMPLE_ROWS)
    masked = (sample or {}).get("masked") or {}
    masks = masked.get(product_id, {}) if isinstance(masked, dict) else {}
    schema = [{**asdict(c), "mask": masks.get(c.name)} for c in mesh.product_columns(product_id)]
    answer = {
        "product": asdict(view.summary),
        "purpose": described.get("purpose") if isinstance(described, dict) else described,
        "description": described,
        "owner": view.summary.owner,
        "input_ports": view.descriptor.get("inputPorts") or [],
        "output_ports": view.descriptor.get("outputPorts") or [],
        "schema": schema,
        "freshness": _freshness_of(mesh, product_id),
        "maturity": _maturity_of(mesh, product_id),
        "access": _explained(access),
        "sample": sample,
    }
    return to_jsonable_python(answer)


def _freshness_of(mesh: Mesh, product_id: str) -> object:
    try:
        return asdict(mesh.product_health(product_id).freshness)
    except QuantaError:
        return None


def contract(mesh: Mesh, product_id: str) -> Answer:
    """The ODCS contract of each output port of the version consumers read."""
    return to_jsonable_python({"product_id": product_id, "contracts": mesh.product(product_id).contracts})


def lineage(mesh: Mesh, product_id: str, direction: Direction, depth: int | None, columns: bool) -> Answer:
    view = mesh.lineage(product_id, direction=direction, depth=depth, columns=columns)
    return to_jsonable_python(view)


def impact(mesh: Mesh, product_id: str, column: str | None, depth: int | None) -> Answer:
    found = mesh.impact(f"{product_id}.{column}" if column else product_id, depth=depth)
    return to_jsonable_python(found)


def my_access(mesh: Mesh) -> Answer:
    grants = mesh.my_access()
    return to_jsonable_python({"principal": mesh.principal().id, "grants": grants})


def request_access(
    mesh: Mesh,
    product_id: str,
    purpose: str,
    columns: list[str] | None,
    duration_days: int,
    accept_terms: bool = False,
    terms_digest: str | None = None,
) -> Answer:
    """The request as recorded (with the terms of use it accepted) and the caller's access after it."""
    from quanta.mesh import TermsNotAccepted

    try:
        request = mesh.request_access(
            product_id, purpose, columns=columns, days=duration_days,
            accept_terms=accept_terms, terms_digest=terms_digest,
        )  # fmt: skip
    except TermsNotAccepted as exc:
        raise exc.for_interface("mcp") from None
    mine = next((g for g in mesh.my_access() if g.id == request), None)
    explained = _explained(mesh.explain_access(product_id))
    return to_jsonable_python({"request_id": request, "request": mine, "access": explained})


def explain(mesh: Mesh, product_id: str) -> Answer:
    return _explained(mesh.explain_access(product_id))


def _explained(explanation: object) -> Answer:
    return to_jsonable_python(explanation)


def query(mesh: Mesh, sql: str, limit: int) -> Answer:
    """A governed query's columns, rows (capped), masks, row filters and audit entries."""
    return _read(mesh, sql, min(limit, MAX_ROWS))


def _read(mesh: Mesh, sql: str, cap: int) -> Answer:
    """At most ``cap`` rows and :data:`MAX_BYTES` of them, read from the governed stream (one more
    row is asked for, to tell a complete answer from a truncated one)."""
    with mesh.governed_stream(sql, limit=cap + 1) as stream:
        rows, truncated = _rows(stream, cap)
        answer: Answer = {
            "columns": stream.schema.names,
            "rows": rows,
            "row_count": len(rows),
            "truncated": truncated is not None,
            "truncation": truncated,
            "masked": stream.masked,
            "row_filters": stream.filtered,
            "products": stream.products,
            "audit_ids": stream.audit_ids,
        }
    # The signed receipt (audit entries, chain position, signature) exists once the stream has
    # ended; the agent verifies it with POST /api/v1/audit/verify-receipt or quanta audit verify-receipt.
    if stream.receipt is not None:
        answer["receipt"] = to_jsonable_python(stream.receipt)
    return answer


def _rows(stream: GovernedStream, cap: int) -> tuple[list[dict[str, object]], str | None]:
    rows: list[dict[str, object]] = []
    size = 0
    for batch in stream:
        for row in batch.to_pylist():
            if len(rows) >= cap:
                return rows, f"stopped at {cap} rows (the limit); aggregate, filter or ask for fewer rows"
            shown = {k: plain_json(v) for k, v in row.items()}
            size += len(json.dumps(shown, ensure_ascii=False))
            if size > MAX_BYTES:
                return rows, (
                    f"stopped at {len(rows)} rows: the answer would pass {MAX_BYTES:,} bytes; "
                    "select fewer or narrower columns"
                )
            rows.append(shown)
    return rows, None
