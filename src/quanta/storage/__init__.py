"""Tables as Apache Iceberg (PyIceberg ``SqlCatalog``); snapshots are product versions."""

from quanta.storage.types import StorageError
from quanta.storage.warehouse import ColumnStats, Quarantined, Snapshot, Warehouse

__all__ = ["ColumnStats", "Quarantined", "Snapshot", "StorageError", "Warehouse"]
