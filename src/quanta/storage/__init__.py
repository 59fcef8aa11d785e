"""Tables as Apache Iceberg (PyIceberg ``SqlCatalog``); snapshots are product versions."""

from quanta.storage.types import StorageError
from quanta.storage.warehouse import Quarantined, Snapshot, Warehouse

__all__ = ["Quarantined", "Snapshot", "StorageError", "Warehouse"]
