"""The engine interface: one base class with capability flags; one small module per engine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from quanta.errors import EngineError
from quanta.storage.scan import Column, ColumnStats, TableScan

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ArrowInput", "Column", "ColumnStats", "Engine", "FileScan", "Input", "Session", "TableScan"]


@dataclass(frozen=True)
class FileScan:
    """Raw files of an external source (CSV, Parquet, JSON), optionally only rows past a cursor."""

    files: list[str]
    format: str
    options: dict[str, Any] = field(default_factory=dict)
    where: str | None = None
    types: dict[str, str] = field(default_factory=dict)
    """Column ► SQL type to read it as instead of the inferred one (for JSON: every column)."""


@dataclass(frozen=True)
class ArrowInput:
    """Rows already in memory or streaming (database sources, Python transforms)."""

    data: pa.Table | pa.RecordBatchReader


Input = TableScan | FileScan | ArrowInput


@dataclass
class Session:
    """Inputs bound by name for one transform or query."""

    inputs: dict[str, Input] = field(default_factory=dict)


class Engine(ABC):
    """Runs SQL over named inputs and returns Arrow. Capability flags say what else it can do."""

    name: ClassVar[str]
    dialect: ClassVar[str]
    SUPPORTS_PYTHON_TRANSFORMS: ClassVar[bool] = False
    SUPPORTS_LOCKDOWN: ClassVar[bool] = False
    SUPPORTS_FIELD_ID_SCAN: ClassVar[bool] = False
    SUPPORTS_DATABASE_FILES: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def query(self, sql: str, inputs: dict[str, Input]) -> pa.Table:
        """Run one read-only SQL statement over ``inputs`` (referenced by name) and return the result."""

    def first_row(self, sql: str, inputs: dict[str, Input]) -> tuple[Any, ...]:
        """The first row of ``sql``'s result as Python values: what aggregates (counts, bounds) need."""
        return first_row_of(self.query(sql, inputs))

    @abstractmethod
    def stream(self, sql: str, inputs: dict[str, Input], batch_rows: int = 256_000) -> pa.RecordBatchReader:
        """Like :meth:`query`, streaming record batches (of at most ``batch_rows``) computed while
        they are read, for large results."""

    @abstractmethod
    def describe(self, sql: str, inputs: dict[str, Input]) -> list[tuple[str, str]]:
        """Column names and SQL types ``sql`` would return, without running it."""

    @abstractmethod
    def write_parquet(
        self, sql: str, inputs: dict[str, Input], columns: list[Column], directory: str
    ) -> list[str]:
        """Run ``sql``, cast its result to ``columns`` (tagged with their Iceberg field ids) and write
        Parquet files into ``directory``; returns the files written."""

    @contextmanager
    def python_inputs(self, inputs: dict[str, Input]) -> Iterator[dict[str, Any]]:
        """The inputs as objects a Python transform takes (engines with ``SUPPORTS_PYTHON_TRANSFORMS``)."""
        raise EngineError(
            f"the {self.name} engine cannot run Python transforms", hint="use build.engine: duckdb"
        )
        yield {}  # pragma: no cover - makes this a generator

    def file_stats(self, scan: FileScan) -> dict[str, ColumnStats]:
        """Column statistics of plain Parquet files from their footers, without a scan; empty when this
        engine cannot read footers (its checks then scan the data)."""
        return {}

    def read_table(self, database: str, schema: str | None, table: str) -> pa.Table:
        """All rows of a table in a database file (engines with ``SUPPORTS_DATABASE_FILES``)."""
        raise EngineError(
            f"the {self.name} engine cannot read database files", hint="test this contract with duckdb"
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def first_row_of(table: pa.Table) -> tuple[Any, ...]:
    """Row 0 of an Arrow table as Python values (IndexError when it has no rows)."""
    return tuple(table.column(i)[0].as_py() for i in range(table.num_columns))
