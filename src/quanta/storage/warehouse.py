"""Every output port is an Apache Iceberg table, managed with PyIceberg's ``SqlCatalog``.

The catalog lives in the registry database; each domain has its own namespace and warehouse root
(``<root>/<domain>/...``). Write-audit-publish uses Iceberg branches: data is committed to a branch
``wap-<run>``, audited there, and only then made current. A table starts with an empty *genesis*
snapshot so that full refreshes can branch from "nothing" and incremental loads from "current".
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.storage.scan import Column, ColumnStats, TableScan
from quanta.storage.types import StorageError, can_widen, iceberg_type, sql_type

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import Table

    from quanta.spec.contract import SchemaObject

GENESIS = "quanta.genesis-snapshot"
PROPERTY_IDS = "quanta.property-ids"
STAGE_PREFIX = "wap-"
QUARANTINE_PREFIX = "quarantine-"


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    at: datetime
    properties: dict[str, str]


@dataclass(frozen=True)
class Quarantined:
    product_id: str
    port: str
    run_id: str
    snapshot_id: int
    at: datetime
    properties: dict[str, str]


class Warehouse:
    """Iceberg tables of the mesh: create, evolve, stage, publish, quarantine, scan."""

    def __init__(self, catalog_url: str, root: Path) -> None:
        self.catalog_url = catalog_url
        self.root = root
        self._lock = threading.Lock()
        self._cached_catalog: SqlCatalog | None = None

    def _catalog(self) -> SqlCatalog:
        from pyiceberg.catalog.sql import SqlCatalog
        from sqlalchemy.exc import OperationalError, ProgrammingError

        with self._lock:
            if self._cached_catalog is None:
                self.root.mkdir(parents=True, exist_ok=True)
                try:
                    catalog = SqlCatalog("quanta", uri=self.catalog_url, warehouse=self.root.as_uri())
                except (OperationalError, ProgrammingError):
                    # Another process created the catalog tables at the same moment: they exist now.
                    catalog = SqlCatalog("quanta", uri=self.catalog_url, warehouse=self.root.as_uri())
                self._cached_catalog = catalog
            return self._cached_catalog

    @staticmethod
    def identifier(product_id: str, port: str) -> tuple[str, str]:
        domain, _, name = product_id.partition(".")
        return domain, name if port == name else f"{name}__{port}"

    def location(self, product_id: str, port: str) -> Path:
        domain, _, name = product_id.partition(".")
        return self.root / domain / name / port

    def table(self, product_id: str, port: str) -> Table:
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self._catalog().load_table(self.identifier(product_id, port))
        except NoSuchTableError:
            raise StorageError(
                f"{product_id}: output port {port!r} has no table yet",
                hint=f"build it: quanta build {product_id}",
            ) from None

    def exists(self, product_id: str, port: str) -> bool:
        return bool(self._catalog().table_exists(self.identifier(product_id, port)))

    # --- schema ---------------------------------------------------------------------------------

    def ensure_table(self, product_id: str, port: str, obj: SchemaObject) -> list[str]:
        """Create the table from the contract, or evolve it by field id; returns the changes made."""
        if not self.exists(product_id, port):
            self._create(product_id, port, obj)
            return ["created"]
        return self._evolve(self.table(product_id, port), obj)

    def _ensure_namespace(self, catalog: SqlCatalog, namespace: str) -> None:
        """The domain's namespace, created once even when two builds of new products of one domain
        start together (threads here, or another process between pyiceberg's check and insert)."""
        from sqlalchemy.exc import IntegrityError

        with self._lock:
            try:
                catalog.create_namespace_if_not_exists(namespace)
            except IntegrityError:
                if not catalog.namespace_exists(namespace):
                    raise

    def _create(self, product_id: str, port: str, obj: SchemaObject) -> None:
        from pyiceberg.schema import Schema
        from pyiceberg.types import NestedField

        fields = [
            NestedField(i, prop.column, iceberg_type(prop), required=False, doc=prop.description)
            for i, prop in enumerate(obj.properties or [], start=1)
        ]
        if not fields:
            raise StorageError(f"{product_id}: contract object {obj.name!r} has no properties to store")
        ids = {prop.id: i for i, prop in enumerate(obj.properties or [], start=1) if prop.id}
        catalog = self._catalog()
        namespace, _ = self.identifier(product_id, port)
        self._ensure_namespace(catalog, namespace)
        table = catalog.create_table(
            self.identifier(product_id, port),
            schema=Schema(*fields),
            location=self.location(product_id, port).as_uri(),
            properties={PROPERTY_IDS: json.dumps(ids)},
        )
        table.append(table.schema().as_arrow().empty_table())
        table = self.table(product_id, port)
        genesis = table.current_snapshot()
        assert genesis is not None
        with table.transaction() as tx:
            tx.set_properties({GENESIS: str(genesis.snapshot_id)})

    def _evolve(self, table: Table, obj: SchemaObject) -> list[str]:
        """Add, rename (by the property's stable ``id``), widen; refuse anything else."""
        schema = table.schema()
        by_name = {f.name: f for f in schema.fields}
        ids: dict[str, int] = json.loads(table.properties.get(PROPERTY_IDS, "{}"))
        by_id = {f.field_id: f for f in schema.fields}
        changes: list[str] = []
        wanted: set[int] = set()
        with table.update_schema() as update:
            for prop in obj.properties or []:
                new_type = iceberg_type(prop)
                field = by_id.get(ids[prop.id]) if prop.id and prop.id in ids else by_name.get(prop.column)
                if field is None:
                    update.add_column(prop.column, new_type, doc=prop.description)
                    changes.append(f"added {prop.column}")
                    continue
                wanted.add(field.field_id)
                if field.name != prop.column:
                    update.rename_column(field.name, prop.column)
                    changes.append(f"renamed {field.name} ► {prop.column}")
                if field.field_type != new_type:
                    if not can_widen(field.field_type, new_type):
                        raise StorageError(
                            f"column {prop.column!r} would change type from {field.field_type} to "
                            f"{new_type}, which existing data cannot be read as",
                            hint="add a new column instead, or publish a new major version with a new port",
                        )
                    update.update_column(field.name, new_type)
                    changes.append(f"widened {prop.column} to {new_type}")
            for field in schema.fields:
                if field.field_id not in wanted and field.name not in {
                    p.column for p in obj.properties or []
                }:
                    update.delete_column(field.name)
                    changes.append(f"dropped {field.name}")
        return changes

    # --- write-audit-publish --------------------------------------------------------------------

    def data_dir(self, product_id: str, port: str, run_id: str) -> Path:
        return self.location(product_id, port) / "data" / run_id

    def field_ids(self, product_id: str, port: str) -> dict[str, int]:
        return {f.name: f.field_id for f in self.table(product_id, port).schema().fields}

    def stage(
        self,
        product_id: str,
        port: str,
        run_id: str,
        files: list[str],
        *,
        append: bool,
        properties: dict[str, str],
    ) -> int:
        """Commit ``files`` to branch ``wap-<run>`` (from current data when appending, else from empty)."""
        table = self.table(product_id, port)
        current = table.current_snapshot()
        base = current.snapshot_id if (append and current) else int(table.properties[GENESIS])
        branch = STAGE_PREFIX + run_id
        table.manage_snapshots().create_branch(base, branch).commit()
        table = self.table(product_id, port)
        if files:
            table.add_files(files, snapshot_properties=properties, branch=branch)
        else:
            table.append(
                table.schema().as_arrow().empty_table(), snapshot_properties=properties, branch=branch
            )
        return int(self.table(product_id, port).refs()[branch].snapshot_id)

    def publish(self, product_id: str, port: str, run_id: str, snapshot_id: int) -> None:
        """Make the audited snapshot current, then drop the staging branch."""
        self.set_current(product_id, port, snapshot_id)
        table = self.table(product_id, port)
        if STAGE_PREFIX + run_id in table.refs():
            table.manage_snapshots().remove_branch(STAGE_PREFIX + run_id).commit()

    def set_current(self, product_id: str, port: str, snapshot_id: int) -> None:
        table = self.table(product_id, port)
        current = table.current_snapshot()
        if current is None or current.snapshot_id != snapshot_id:
            table.manage_snapshots().set_current_snapshot(snapshot_id=snapshot_id).commit()

    def quarantine(self, product_id: str, port: str, run_id: str, snapshot_id: int) -> None:
        """Keep a failed snapshot under ``quarantine-<run>`` for inspection; the current data is untouched."""
        table = self.table(product_id, port)
        manage = table.manage_snapshots().create_branch(snapshot_id, QUARANTINE_PREFIX + run_id)
        if STAGE_PREFIX + run_id in table.refs():
            manage = manage.remove_branch(STAGE_PREFIX + run_id)
        manage.commit()

    def quarantined(self, product_id: str, port: str) -> list[Quarantined]:
        if not self.exists(product_id, port):
            return []
        table = self.table(product_id, port)
        out = []
        for name, ref in table.refs().items():
            if name.startswith(QUARANTINE_PREFIX):
                snap = self._snapshot(table, ref.snapshot_id)
                out.append(
                    Quarantined(
                        product_id,
                        port,
                        name.removeprefix(QUARANTINE_PREFIX),
                        ref.snapshot_id,
                        snap.at,
                        snap.properties,
                    )
                )
        return sorted(out, key=lambda q: q.at)

    def staged_runs(self, product_id: str, port: str) -> list[str]:
        """Runs with a ``wap-`` branch: builds in progress, or killed before they finished."""
        refs = self.table(product_id, port).refs()
        return sorted(name.removeprefix(STAGE_PREFIX) for name in refs if name.startswith(STAGE_PREFIX))

    def discard_stage(self, product_id: str, port: str, run_id: str) -> None:
        table = self.table(product_id, port)
        if STAGE_PREFIX + run_id in table.refs():
            table.manage_snapshots().remove_branch(STAGE_PREFIX + run_id).commit()

    # --- read -----------------------------------------------------------------------------------

    def current_snapshot(self, product_id: str, port: str) -> int | None:
        snap = self.table(product_id, port).current_snapshot()
        return snap.snapshot_id if snap else None

    def snapshot(self, product_id: str, port: str, snapshot_id: int) -> Snapshot:
        return self._snapshot(self.table(product_id, port), snapshot_id)

    @staticmethod
    def _snapshot(table: Table, snapshot_id: int) -> Snapshot:
        snap = table.snapshot_by_id(snapshot_id)
        if snap is None:
            raise StorageError(f"snapshot {snapshot_id} does not exist in {table.name()}")
        properties = {
            k: str(v) for k, v in (snap.summary.additional_properties if snap.summary else {}).items()
        }
        return Snapshot(snapshot_id, datetime.fromtimestamp(snap.timestamp_ms / 1000, UTC), properties)

    def scan(self, product_id: str, port: str, snapshot_id: int | None = None) -> TableScan:
        """Files of a snapshot (current by default) and its columns by field id, for the engine."""
        table = self.table(product_id, port)
        snap = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else table.current_snapshot()
        if snap is None:
            raise StorageError(f"{product_id}: snapshot {snapshot_id} not found", hint="see quanta versions")
        # Columns come from the snapshot's own schema, matched by field id: a version reads as it was
        # published (a column a later major version dropped is still there), and files written before
        # a rename still line up.
        schema = table.schemas().get(snap.schema_id, table.schema()) if snap.schema_id is not None else None
        columns = [
            Column(f.field_id, f.name, sql_type(f.field_type)) for f in (schema or table.schema()).fields
        ]
        files = [
            _local_path(task.file.file_path) for task in table.scan(snapshot_id=snap.snapshot_id).plan_files()
        ]
        return TableScan(files=files, columns=columns)

    def column_stats(self, product_id: str, port: str, snapshot_id: int) -> dict[str, ColumnStats]:
        """Null counts and bounds per column from the manifests: answers some checks without a scan."""
        from pyiceberg.conversions import from_bytes

        table = self.table(product_id, port)
        files = [task.file for task in table.scan(snapshot_id=snapshot_id).plan_files()]
        rows = sum(f.record_count for f in files)
        stats: dict[str, ColumnStats] = {}
        for field in table.schema().fields:
            fid = field.field_id
            nulls = [(f.null_value_counts or {}).get(fid) for f in files]
            lowers = [(f.lower_bounds or {}).get(fid) for f in files]
            uppers = [(f.upper_bounds or {}).get(fid) for f in files]
            known = all(n is not None for n in nulls)
            bounded = files and all(b is not None for b in lowers + uppers) and _comparable(field.field_type)
            kind: Any = field.field_type
            stats[field.name] = ColumnStats(
                rows,
                sum(n for n in nulls if n is not None) if known else None,
                min(_value(kind, from_bytes(kind, b)) for b in lowers if b is not None) if bounded else None,
                max(_value(kind, from_bytes(kind, b)) for b in uppers if b is not None) if bounded else None,
            )
        return stats

    def rows(self, product_id: str, port: str, snapshot_id: int) -> int:
        table = self.table(product_id, port)
        snap = table.snapshot_by_id(snapshot_id)
        summary: dict[str, Any] = dict(snap.summary.additional_properties) if snap and snap.summary else {}
        return int(summary.get("total-records", 0))


def _local_path(uri: str) -> str:
    return uri.removeprefix("file://")


def _comparable(kind: Any) -> bool:
    """Types whose manifest bounds are exact (string bounds may be truncated)."""
    from pyiceberg import types as t

    return isinstance(kind, (t.IntegerType, t.LongType, t.FloatType, t.DoubleType, t.DecimalType, t.DateType))


def _value(kind: Any, raw: Any) -> Any:
    from datetime import date, timedelta

    from pyiceberg import types as t

    if isinstance(kind, t.DateType) and isinstance(raw, int):
        return date(1970, 1, 1) + timedelta(days=raw)
    return raw
