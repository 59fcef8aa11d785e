"""Versioned metadata: products, versions, contracts, ports and events (SQLAlchemy 2 + Alembic)."""

from quanta.registry.store import EventRecord, ProductSummary, Registry, VersionInfo
from quanta.registry.stores.registrations import Registration, fingerprint

__all__ = ["EventRecord", "ProductSummary", "Registration", "Registry", "VersionInfo", "fingerprint"]
