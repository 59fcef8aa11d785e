"""What the platform remembers, as SQLAlchemy 2 tables. Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class Domain(Base):
    __tablename__ = "domains"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Team(Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    domain: Mapped[str | None] = mapped_column(ForeignKey("domains.name"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    domain: Mapped[str] = mapped_column(ForeignKey("domains.name"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(40), index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(ForeignKey("teams.name"))
    latest_version: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ProductVersion]] = relationship(
        back_populates="product", order_by="ProductVersion.id"
    )


class ProductVersion(Base):
    """An immutable snapshot of a product descriptor; a new version is a new row, never an update."""

    __tablename__ = "product_versions"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    descriptor: Mapped[dict[str, Any]]
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))

    product: Mapped[Product] = relationship(back_populates="versions")
    ports: Mapped[list[Port]] = relationship(back_populates="product_version", order_by="Port.id")


class ContractVersion(Base):
    """An immutable snapshot of an ODCS contract, keyed by its ``id`` and ``version``."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("contract_id", "version"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(100))
    api_version: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    document: Mapped[dict[str, Any]]
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Port(Base):
    __tablename__ = "ports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id"), index=True)
    direction: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    contract_pk: Mapped[int | None] = mapped_column(ForeignKey("contracts.pk"))
    upstream_product: Mapped[str | None] = mapped_column(String(200), index=True)
    spec: Mapped[dict[str, Any]]

    product_version: Mapped[ProductVersion] = relationship(back_populates="ports")
    contract: Mapped[ContractVersion | None] = relationship()


class Event(Base):
    """Append-only log of what happened: registrations now; builds, grants and alerts in later issues."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject_at", "subject", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Publish(Base):
    """A published data version: the snapshots that became current, and why they were trusted."""

    __tablename__ = "publishes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    snapshots: Mapped[dict[str, Any]]
    rows: Mapped[dict[str, Any]]
    inputs: Mapped[dict[str, Any]]
    cursors: Mapped[dict[str, Any]]
    checks: Mapped[dict[str, Any]]
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(200))


class BuildRun(Base):
    """One attempt to build a product: running, published, skipped, failed or crashed."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Lock(Base):
    """A lease: one build at a time per product, one scheduler firing per job."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class AuditEntry(Base):
    """One line of the tamper-evident audit log: each row's hash covers its content and the previous
    row's hash, so an edit, deletion or reordering breaks the chain from there on."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Grant(Base):
    """Access to a product (optionally some columns) for a principal, until it expires or is revoked;
    created by approving an access request."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(200), index=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    columns: Mapped[dict[str, Any]] = mapped_column(default=dict)
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    """requested, granted, rejected, revoked"""
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_days: Mapped[int] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    policy: Mapped[str | None] = mapped_column(String(500))
    """The access policies (``id@version``) that decided the request (approved, or routed to owners)."""
    policy_reason: Mapped[str | None] = mapped_column(Text)
    terms: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """The terms of use the requester accepted with the request (and their digest)."""


class ApiToken(Base):
    """A bearer token for a principal: only its SHA-256 is stored; scoped, expiring, revocable."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    principal: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scram_verifier: Mapped[str | None] = mapped_column(String(200))
    """SCRAM-SHA-256 verifier of the whole token, for the PostgreSQL wire protocol's sign-in."""
    scopes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Subscription(Base):
    """A principal following a product: its new versions, publishes, failures and breaking changes."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("principal", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(200), index=True)
    product_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CatalogChanges(Base):
    """One row: how many transactions have changed the catalog (products, versions, contracts, ports,
    publishes, runs, grants). Every server worker and CLI reads it to know whether what it remembers
    of the catalog is still current; reads, audit entries and observations do not count."""

    __tablename__ = "catalog_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    counter: Mapped[int] = mapped_column(Integer)
