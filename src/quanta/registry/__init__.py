"""Versioned metadata: products, versions, contracts, ports and events (SQLAlchemy 2 + Alembic).

Names are imported on first use: the catalog's reads (:mod:`quanta.registry.catalog`) do without
SQLAlchemy, which :class:`Registry` loads."""

from typing import TYPE_CHECKING

from quanta.lazy import lazy_names

if TYPE_CHECKING:
    from quanta.registry.catalog import ProductSummary, SqliteCatalog, VersionInfo
    from quanta.registry.store import EventRecord, Registry
    from quanta.registry.stores.registrations import Registration, fingerprint

__all__ = [
    "EventRecord",
    "ProductSummary",
    "Registration",
    "Registry",
    "SqliteCatalog",
    "VersionInfo",
    "fingerprint",
]

__getattr__ = lazy_names(
    __name__,
    {
        "EventRecord": "quanta.registry.store",
        "ProductSummary": "quanta.registry.catalog",
        "Registration": "quanta.registry.stores.registrations",
        "Registry": "quanta.registry.store",
        "SqliteCatalog": "quanta.registry.catalog",
        "VersionInfo": "quanta.registry.catalog",
        "fingerprint": "quanta.registry.stores.registrations",
    },
)
