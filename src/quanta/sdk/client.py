"""``connect()`` and the objects it returns. Data always comes back as Arrow (``to_pandas``/``to_polars``
convert it), and every read goes through the governed query service, locally or on the server."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


class Backend(Protocol):
    """Where a client's calls go: the in-process facade or the REST API."""

    def get(self, path: str, **params: Any) -> Any: ...
    def post(self, path: str, body: dict[str, Any]) -> Any: ...
    def arrow(self, sql: str, limit: int | None) -> pa.Table: ...
    def batches(self, sql: str, limit: int | None) -> Batches: ...


@dataclass
class Batches:
    """A query's record batches as they arrive, and how to stop it before the last one."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    close: Callable[[], None]


def connect(
    url: str | None = None,
    *,
    token: str | None = None,
    workspace: str | Path | None = None,
    transport: str = "auto",
) -> Client:
    """A client: in process over the workspace at ``workspace`` (or around the current folder), or
    remote over the Quanta server at ``url`` with an API token. Remote data travels over Arrow Flight
    SQL when the server serves it and the driver is installed (``transport='auto'``), or always over
    HTTP (``'http'``), or only over Flight (``'flight'``: an error when it cannot)."""
    if url is None:
        from quanta.sdk.local import LocalBackend

        return Client(LocalBackend(Path(workspace) if workspace else None))
    from quanta.sdk.remote import RemoteBackend

    return Client(RemoteBackend(url, token, transport))


@dataclass
class Client:
    """One interface to a mesh, the same in process and remote."""

    backend: Backend

    def search(self, query: str = "", *, limit: int = 20, **filters: str) -> list[dict[str, Any]]:
        """Products matching ``query`` (typos tolerated), best first; filters: domain, type, status,
        classification."""
        found = self.backend.get("/search", q=query, limit=limit, **filters)
        return list(found["hits"])

    def products(self, **filters: str) -> list[dict[str, Any]]:
        return list(self.backend.get("/products", limit=500, **filters)["items"])

    def product(self, product_id: str) -> Product:
        return Product(self, product_id, self.backend.get(f"/products/{product_id}"))

    def sql(self, query: str, *, limit: int | None = None) -> pa.Table:
        """Run SQL over products by id, governed: masks and row filters of whoever is connected."""
        return self.backend.arrow(query, limit)

    def query(self, query: str, *, limit: int | None = 1000) -> dict[str, Any]:
        """Run SQL over products, governed, as JSON: ``columns``, ``rows``, ``row_count``, ``masked``
        and the signed ``receipt`` of the read (check it with :meth:`verify_receipt`)."""
        result: dict[str, Any] = self.backend.post("/query", {"sql": query, "limit": limit})
        return result

    def verify_receipt(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """Whether a receipt is genuine and the audit log still holds its entries: ``valid``, and every
        reason it is not in ``problems``."""
        result: dict[str, Any] = self.backend.post("/audit/verify-receipt", receipt)
        return result

    def iter_batches(self, query: str, *, limit: int | None = None) -> Iterator[pa.RecordBatch]:
        """:meth:`sql` as a stream: record batches computed (and, remote, sent) as they are read, so
        memory holds one batch, not the result. Leaving the loop early stops the query."""
        return self.iter_batches_of(self.backend.batches(query, limit))

    def to_reader(self, query: str, *, limit: int | None = None) -> pa.RecordBatchReader:
        """The batches of :meth:`iter_batches` as a ``pyarrow.RecordBatchReader`` (for libraries that
        take one); read it to the end, or use :meth:`iter_batches` to stop early."""
        import pyarrow as pa

        found = self.backend.batches(query, limit)
        return pa.RecordBatchReader.from_batches(found.schema, self.iter_batches_of(found))

    @staticmethod
    def iter_batches_of(found: Batches) -> Iterator[pa.RecordBatch]:
        try:
            yield from found.batches
        finally:
            found.close()

    def runs(self, product_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        params = {"limit": limit, **({"product": product_id} if product_id else {})}
        return list(self.backend.get("/runs", **params)["items"])

    def checks(self, product_id: str) -> dict[str, Any]:
        """The contract checks of the version consumers read now."""
        result: dict[str, Any] = self.backend.get(f"/products/{product_id}/checks")
        return result

    def freshness(self, product_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.backend.get(f"/products/{product_id}/freshness")
        return result

    def health(self, product_id: str, *, days: int = 30) -> dict[str, Any]:
        """Freshness against the SLA, SLO attainment, incidents, anomalies and schema changes."""
        result: dict[str, Any] = self.backend.get(f"/products/{product_id}/health", days=days)
        return result

    def incidents(
        self, product_id: str | None = None, *, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Incidents (``status``: open or closed), newest first."""
        params = {"limit": limit, "product": product_id, "status": status}
        found = self.backend.get("/incidents", **{k: v for k, v in params.items() if v is not None})
        return list(found["items"])

    def lineage(self, product_id: str, *, columns: bool = False) -> dict[str, Any]:
        """Upstream and downstream products (and column lineage with ``columns=True``)."""
        result: dict[str, Any] = self.backend.get(f"/products/{product_id}/lineage", columns=columns)
        return result

    def impact(self, product_id: str, column: str | None = None) -> dict[str, Any]:
        """Every downstream product, column and consumer a change to the product (or column) touches."""
        params = {"column": column} if column else {}
        result: dict[str, Any] = self.backend.get(f"/products/{product_id}/impact", **params)
        return result

    def maturity(self, product_id: str) -> dict[str, Any]:
        """The DATSIS score: six dimensions, every criterion with its evidence and how to meet it."""
        result: dict[str, Any] = self.backend.get(f"/products/{product_id}/maturity")
        return result

    def request_access(
        self,
        product_id: str,
        purpose: str,
        *,
        days: int = 90,
        columns: list[str] | None = None,
        accept_terms: bool = False,
        terms_digest: str | None = None,
    ) -> dict[str, Any]:
        """Ask for access; the answer says whether a policy granted it at once (``status``,
        ``decided_by``) or which routed it to the owners (``policy``). Every term of use the product
        states must be accepted (``accept_terms``; ``terms_digest``: the id of the terms read)."""
        body = {"product_id": product_id, "purpose": purpose, "days": days, "columns": columns,
                "accept_terms": accept_terms, "terms_digest": terms_digest}  # fmt: skip
        result: dict[str, Any] = self.backend.post("/access-requests", body)
        return result


@dataclass
class Product:
    """A data product: its metadata now, its data on demand (governed)."""

    client: Client
    id: str
    detail: dict[str, Any] = field(repr=False)

    @property
    def descriptor(self) -> dict[str, Any]:
        return dict(self.detail["descriptor"])

    @property
    def contract(self) -> dict[str, Any]:
        """The ODCS contract of the (first) output port."""
        contracts = self.detail["contracts"]
        return dict(next(iter(contracts.values()))) if contracts else {}

    @property
    def schema(self) -> list[dict[str, Any]]:
        """Columns: name, type, description, classification, tags."""
        return list(self.client.backend.get(f"/products/{self.id}/schema"))

    @property
    def versions(self) -> list[str]:
        return [v["version"] for v in self.detail["versions"]]

    def to_arrow(self, *, limit: int | None = None, version: str | None = None) -> pa.Table:
        ref = f'"{self.id}@{version}"' if version else self.id
        return self.client.sql(f"select * from {ref}", limit=limit)

    def changes(self, since: str, until: str | None = None) -> pa.Table:
        """The rows inserted, deleted and updated between version ``since`` and ``until`` (default:
        the current version), as you may read them: ``_change``, ``_version``, then the columns."""
        return self.client.sql(f'select * from "{self.id}@{since}..{until or ""}"')

    def to_pandas(self, *, limit: int | None = None, version: str | None = None) -> Any:
        return self.to_arrow(limit=limit, version=version).to_pandas()

    def to_polars(self, *, limit: int | None = None, version: str | None = None) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow(limit=limit, version=version))

    def _repr_html_(self) -> str:
        """How Jupyter shows a product: what it is, who owns it, its columns."""
        product = self.detail["product"]
        purpose = (self.descriptor.get("description") or {}).get("purpose") or ""
        rows = "".join(
            f"<tr><td>{html.escape(c['name'])}</td><td>{html.escape(str(c['logical_type'] or ''))}</td>"
            f"<td>{html.escape(str(c['classification'] or ''))} {html.escape(' '.join(c['tags']))}</td>"
            f"<td>{html.escape(str(c['description'] or ''))}</td></tr>"
            for c in self.schema
        )
        return (
            # The version notebooks read; the latest registered one only before the first publish.
            f"<div><b>{html.escape(self.id)}</b> "
            f"{html.escape(product.get('served_version') or product['latest_version'])} · "
            f"{html.escape(str(product['type']))} · owner {html.escape(str(product['owner']))}"
            f"<p>{html.escape(purpose)}</p><table><tr><th>column</th><th>type</th><th>classification</th>"
            f"<th>description</th></tr>{rows}</table></div>"
        )
