"""Registry tables and queries for column lineage: which input column each output column of a product
version is computed from (recorded when the version is applied), and the facts the lineage graph
loads in a few queries: products, input ports, column edges, grants and who queried what."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from quanta.errors import NotFoundError
from quanta.registry.models import AuditEntry, Base, Grant, Port, Product, ProductVersion, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

_CHUNK = 500
"""Ids per ``IN (...)`` list: well under SQLite's and PostgreSQL's parameter limits."""


class LineageVersion(Base):
    """That the column lineage of a product version was computed, and how (sql, declared, none)."""

    __tablename__ = "lineage_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id"), unique=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    method: Mapped[str] = mapped_column(String(40))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ColumnLineage(Base):
    """One edge: output ``column`` of a product version computed from ``upstream_column`` of the
    input port ``port`` (another product's output, or a source when ``upstream_product`` is null)."""

    __tablename__ = "column_lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    column: Mapped[str] = mapped_column(String(200))
    port: Mapped[str] = mapped_column(String(200))
    upstream_product: Mapped[str | None] = mapped_column(String(200), index=True)
    upstream_column: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(20))
    transformation: Mapped[str] = mapped_column(String(20))
    masked: Mapped[bool] = mapped_column(Boolean, default=False)


class Edge(Protocol):
    """What :meth:`LineageStore.record_lineage` stores of each edge."""

    @property
    def column(self) -> str: ...
    @property
    def port(self) -> str: ...
    @property
    def upstream_product(self) -> str | None: ...
    @property
    def upstream_column(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def transformation(self) -> str: ...
    @property
    def masked(self) -> bool: ...


@dataclass(frozen=True)
class LineageRows:
    """Everything the lineage graph is built from, for the latest version of every product."""

    products: list[tuple[str, str, str, str | None, str, str | None, str]]
    """id, domain, name, type, status, owner, latest version"""
    descriptors: dict[str, dict[str, Any]]
    """product id ► latest descriptor (visibility, description)"""
    inputs: list[tuple[str, str, str | None, dict[str, Any]]]
    """product id, input port, upstream product (None: a source), port spec"""
    columns: list[tuple[str, str, str, str | None, str, str, str, bool]]
    """product id, column, port, upstream product, upstream column, origin, transformation, masked"""
    methods: dict[str, str]
    """product id ► how its column lineage was found (absent: not computed yet)"""


class LineageStore:
    """Mixin of :class:`Registry`: column lineage edges between products."""

    session: Callable[[], AbstractContextManager[Session]]
    engine: Engine

    def record_lineage(self, product_id: str, version: str, method: str, edges: Sequence[Edge]) -> None:
        """Store the column lineage of a registered version (replacing what was stored for it)."""
        with self.session() as s:
            pv = s.scalar(
                select(ProductVersion.id).where(
                    ProductVersion.product_id == product_id, ProductVersion.version == version
                )
            )
            if pv is None:
                raise NotFoundError(f"{product_id} has no registered version {version}", hint="quanta apply")
            s.execute(delete(ColumnLineage).where(ColumnLineage.product_version_id == pv))
            s.execute(delete(LineageVersion).where(LineageVersion.product_version_id == pv))
            s.add(LineageVersion(product_version_id=pv, product_id=product_id, method=method))
            s.add_all(
                ColumnLineage(
                    product_version_id=pv,
                    product_id=product_id,
                    column=e.column,
                    port=e.port,
                    upstream_product=e.upstream_product,
                    upstream_column=e.upstream_column,
                    origin=e.origin,
                    transformation=e.transformation,
                    masked=e.masked,
                )
                for e in edges
            )

    def recorded_lineage(self, product_ids: Iterable[str]) -> set[tuple[str, str]]:
        """The (product, version) pairs of ``product_ids`` whose column lineage is recorded."""
        ids = sorted(set(product_ids))
        found: set[tuple[str, str]] = set()
        with self.session() as s:
            for start in range(0, len(ids), _CHUNK):
                rows = s.execute(
                    select(ProductVersion.product_id, ProductVersion.version)
                    .join(LineageVersion, LineageVersion.product_version_id == ProductVersion.id)
                    .where(ProductVersion.product_id.in_(ids[start : start + _CHUNK]))
                )
                found |= {(pid, version) for pid, version in rows}
        return found

    def lineage_state(self) -> tuple[int, int]:
        """Changes whenever a version is registered or lineage recorded: the graph cache's key."""
        with self.session() as s:
            row = s.execute(
                select(
                    select(func.max(ProductVersion.id)).scalar_subquery(),
                    select(func.max(LineageVersion.id)).scalar_subquery(),
                )
            ).one()
            return int(row[0] or 0), int(row[1] or 0)

    def lineage_rows(self) -> LineageRows:
        """The latest version of every product: its facts, input ports and column edges."""
        latest = (ProductVersion.product_id == Product.id) & (
            ProductVersion.version == Product.latest_version
        )
        # Plain Core rows, not ORM loading: this reads every edge of the mesh when the graph is rebuilt.
        with self.engine.connect() as s:
            products = s.execute(
                select(
                    Product.id, Product.domain, Product.name, Product.type, Product.status,
                    Product.owner, Product.latest_version, ProductVersion.descriptor,
                ).join(ProductVersion, latest)
            ).all()  # fmt: skip
            inputs = s.execute(
                select(ProductVersion.product_id, Port.name, Port.upstream_product, Port.spec)
                .join(ProductVersion, ProductVersion.id == Port.product_version_id)
                .join(Product, latest).where(Port.direction == "input")
            ).all()  # fmt: skip
            columns = s.execute(
                select(ColumnLineage.product_id, ColumnLineage.column, ColumnLineage.port,
                       ColumnLineage.upstream_product, ColumnLineage.upstream_column, ColumnLineage.origin,
                       ColumnLineage.transformation, ColumnLineage.masked)
                .join(ProductVersion, ProductVersion.id == ColumnLineage.product_version_id)
                .join(Product, latest)
            ).all()  # fmt: skip
            methods = s.execute(
                select(LineageVersion.product_id, LineageVersion.method)
                .join(ProductVersion, ProductVersion.id == LineageVersion.product_version_id)
                .join(Product, latest)
            ).all()
        return LineageRows(
            [tuple(r[:7]) for r in products],
            {r[0]: r[7] for r in products},
            [(r[0], r[1], r[2], dict(r[3] or {})) for r in inputs],
            [tuple(r) for r in columns],  # type: ignore[misc]
            {r[0]: r[1] for r in methods},
        )

    def active_grantees(self, product_ids: Iterable[str], now: datetime) -> list[tuple[str, str]]:
        """(product, principal) of every grant in force on ``product_ids``."""
        found: list[tuple[str, str]] = []
        ids = sorted(set(product_ids))
        with self.session() as s:
            for start in range(0, len(ids), _CHUNK):
                rows = s.execute(
                    select(Grant.product_id, Grant.principal, Grant.expires_at).where(
                        Grant.product_id.in_(ids[start : start + _CHUNK]), Grant.status == "granted"
                    )
                )
                found += [(p, who) for p, who, until in rows if until is None or until > now]
        return found

    def queries_since(self, seq: int, limit: int = 50_000) -> list[tuple[int, str, str, datetime]]:
        """Allowed queries in the audit log after ``seq``: (seq, product, principal, at); the principal
        is who the query ran as (an admin querying as someone else counts as that someone)."""
        with self.session() as s:
            rows = s.execute(
                select(
                    AuditEntry.seq, AuditEntry.subject, AuditEntry.actor, AuditEntry.details, AuditEntry.at
                )
                .where(AuditEntry.seq > seq, AuditEntry.kind == "query", AuditEntry.decision == "allow")
                .order_by(AuditEntry.seq)
                .limit(limit)
            ).all()
        return [(r[0], r[1], str((r[3] or {}).get("as") or r[2]), r[4]) for r in rows]
