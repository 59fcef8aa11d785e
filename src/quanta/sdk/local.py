"""The SDK in process: the REST API's answers (``quanta.mesh.answers``, the same documents its routes
return) and its errors (the QuantaError the server would turn into a problem document), without the
web stack."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.errors import NotFoundError

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.mesh import Mesh
    from quanta.sdk.client import Batches

Params = dict[str, Any]
Answer = Callable[["Mesh", re.Match[str], Params], object]


def _routes() -> dict[tuple[str, str], Answer]:
    """(method, path pattern) ► the answer; the patterns are the REST API's paths."""
    from quanta.mesh import answers

    def product(match: re.Match[str]) -> str:
        return match["id"]

    filters = ("domain", "type", "status", "classification", "maturity")
    return {
        ("GET", r"/search"): lambda m, _, p: answers.search(
            m,
            p.get("q", ""),
            int(p.get("limit", 20)),
            int(p.get("offset", 0)),
            {k: str(p[k]) for k in filters if p.get(k)},
        ),
        ("GET", r"/products"): lambda m, _, p: answers.products_page(
            m, int(p.get("limit", 50)), int(p.get("offset", 0)), {k: p.get(k) for k in filters[:3]}
        ),
        ("GET", r"/products/(?P<id>[^/]+)"): lambda m, r, _: answers.product_detail(m, product(r)),
        ("GET", r"/products/(?P<id>[^/]+)/schema"): lambda m, r, _: answers.product_schema(m, product(r)),
        ("GET", r"/products/(?P<id>[^/]+)/checks"): lambda m, r, _: answers.checks(m, product(r)),
        ("GET", r"/products/(?P<id>[^/]+)/freshness"): lambda m, r, _: answers.freshness(m, product(r)),
        ("GET", r"/products/(?P<id>[^/]+)/health"): lambda m, r, p: m.product_health(
            product(r), days=int(p.get("days", 30))
        ),
        ("GET", r"/products/(?P<id>[^/]+)/lineage"): lambda m, r, p: m.lineage(
            product(r), columns=bool(p.get("columns"))
        ),
        ("GET", r"/products/(?P<id>[^/]+)/impact"): lambda m, r, p: m.impact(
            f"{product(r)}.{p['column']}" if p.get("column") else product(r)
        ),
        ("GET", r"/products/(?P<id>[^/]+)/maturity"): lambda m, r, _: m.maturity(product(r)),
        ("GET", r"/runs"): lambda m, _, p: answers.runs_page(
            m, p.get("product"), int(p.get("limit", 50)), int(p.get("offset", 0))
        ),
        ("GET", r"/incidents"): lambda m, _, p: answers.incidents_page(
            m, p.get("product"), p.get("status"), p.get("kind"), int(p.get("limit", 50)), 0
        ),
        ("POST", r"/access-requests"): lambda m, _, p: answers.access_request(
            m,
            p["product_id"],
            p["purpose"],
            columns=p.get("columns"),
            days=int(p.get("days", 90)),
            accept_terms=bool(p.get("accept_terms")),
            terms_digest=p.get("terms_digest"),
        ),
        ("POST", r"/query"): lambda m, _, p: json.loads(
            b"".join(answers.query_document(m.governed_stream(p["sql"], limit=p.get("limit")).started()))
        ),
        ("POST", r"/audit/verify-receipt"): lambda m, _, p: m.verify_receipt(p),
    }


class LocalBackend:
    """Answers from the facade in this process, as the REST API would give them."""

    def __init__(self, workspace: Path | None) -> None:
        from quanta.mesh import Mesh

        self.mesh = Mesh.open(workspace)
        self._routes = [
            (method, re.compile(path + "$"), answer) for (method, path), answer in _routes().items()
        ]

    def get(self, path: str, **params: Any) -> Any:
        return self._answer("GET", path, params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._answer("POST", path, body)

    def _answer(self, method: str, path: str, params: Params) -> Any:
        from quanta.mesh.answers import json_values

        for verb, pattern, answer in self._routes:
            match = pattern.match(path)
            if verb == method and match:
                return json_values(answer(self.mesh, match, params))
        raise NotFoundError(f"{method} {path} is not something the SDK asks", hint="this is a bug in the SDK")

    def arrow(self, sql: str, limit: int | None) -> pa.Table:
        return self.mesh.query(sql, limit=limit)

    def batches(self, sql: str, limit: int | None) -> Batches:
        from quanta.sdk.client import Batches

        stream = self.mesh.governed_stream(sql, limit=limit).started()  # closed if it fails
        return Batches(stream.schema, iter(stream), stream.close)
