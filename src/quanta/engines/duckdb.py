"""DuckDB, in process: the default engine. Needs no extension (none can be installed offline)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from quanta import errors
from quanta.engines.base import (
    ArrowInput,
    Column,
    ColumnStats,
    Engine,
    FileScan,
    Input,
    TableScan,
    first_row_of,
)
from quanta.errors import EngineError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# DuckDB's exception class names ► ours (subclasses such as HTTPException match their base's entry).
_TRANSLATED: dict[str, type[EngineError]] = {
    "ConversionException": errors.EngineConversionError,
    "CatalogException": errors.EngineCatalogError,
    "IOException": errors.EngineIOError,
    "PermissionException": errors.EnginePermissionError,
    "InterruptException": errors.EngineInterrupted,
}
# Their messages' prefixes: all that is left of the type when the error crossed an Arrow stream.
_PREFIXES: dict[str, type[EngineError]] = {
    "Conversion Error": errors.EngineConversionError,
    "Catalog Error": errors.EngineCatalogError,
    "IO Error": errors.EngineIOError,
    "Permission Error": errors.EnginePermissionError,
    "INTERRUPT Error": errors.EngineInterrupted,
}
# The file lists of scans over stored tables: they name files under the warehouse.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_UNSTABLE_FUNCTIONS = """select lower(function_name) from duckdb_functions() group by 1
having bool_or(stability in ('VOLATILE', 'CONSISTENT_WITHIN_QUERY'))
   and not bool_or(stability = 'CONSISTENT')"""
_MACROS = """select lower(function_name), macro_definition from duckdb_functions()
where macro_definition is not null"""
_UNSTABLE_KEYWORDS = frozenset(
    {"current_timestamp", "current_time", "current_date", "localtime", "localtimestamp", "current_user",
     "session_user", "user", "current_role", "sample", "tablesample", "age", "reservoir_quantile"}
)  # fmt: skip
_PARQUET_SCAN = re.compile(r"read_parquet\(\[[^\]]*\][^)]*\)")


# Result types whose Python values are the same fetched directly as read through Arrow (a HUGEINT sum
# is an int one way and a Decimal the other; UUIDs, intervals, nanosecond timestamps differ too).
PLAIN_TYPES = frozenset(
    {"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
    | {"FLOAT", "DOUBLE", "DECIMAL", "VARCHAR", "DATE", "TIMESTAMP"}
)


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"
    SUPPORTS_PYTHON_TRANSFORMS: ClassVar[bool] = True
    SUPPORTS_LOCKDOWN: ClassVar[bool] = True
    SUPPORTS_FIELD_ID_SCAN: ClassVar[bool] = True
    SUPPORTS_DATABASE_FILES: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.threads = options.get("threads")
        self.memory_limit = options.get("memory_limit")
        self.temp_directory: str | None = options.get("temp_directory")
        """Where DuckDB spills what does not fit in ``memory_limit`` (its default: ``.tmp`` in the cwd)."""
        self.allowed_directories: list[str] | None = options.get("allowed_directories")
        """Lock down: no file access outside these directories, no extensions, configuration locked."""
        self.storage_paths: list[str] = [str(p) for p in options.get("storage_paths") or []]
        """Folders (the warehouse) whose paths error messages must not show; locked-down directories too."""
        self._database: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._unstable: frozenset[str] | None = None

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh connection (its own views and settings) to this engine's one in-memory database:
        opening a database costs tens of milliseconds, a cursor on it almost nothing."""
        with self._lock:
            if self._database is None:
                self._database = self._open()
            connection = self._database.cursor()
        if self.allowed_directories is None:  # a locked configuration refuses every SET
            connection.execute("set enable_progress_bar = false")  # never draw on the user's terminal
        return connection

    def close(self) -> None:
        self._local = threading.local()
        with self._lock:
            if self._database is not None:
                self._database.close()
                self._database = None

    def translate(self, error: Exception) -> EngineError:
        """``error`` (a ``duckdb.Error``, or the ``OSError`` a DuckDB Arrow stream raises) as the
        :class:`EngineError` subclass that says what kind of failure it is, its message without
        storage paths. The one place DuckDB's errors are read."""
        message = str(error).strip() or type(error).__name__
        kind = next(
            (_TRANSLATED[k.__name__] for k in type(error).__mro__ if k.__name__ in _TRANSLATED),
            _PREFIXES.get(message.partition(":")[0], EngineError),
        )
        if kind is EngineError and "Could not convert" in message:  # CSV reads say it as invalid input
            kind = errors.EngineConversionError
        hidden = [
            *self.storage_paths,
            *(self.allowed_directories or []),
            *filter(None, [self.temp_directory]),
        ]
        for path in sorted({p.rstrip("/") for p in hidden if p.rstrip("/")}, key=len, reverse=True):
            message = message.replace(path, "<storage>")
        return kind(_PARQUET_SCAN.sub("<product>", message))

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Inside, a ``duckdb.Error`` is raised as :meth:`translate` makes it."""
        import duckdb

        try:
            yield
        except duckdb.Error as exc:
            raise self.translate(exc) from exc

    def _open(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if self.threads:
            config["threads"] = int(self.threads)
        if self.memory_limit:
            config["memory_limit"] = str(self.memory_limit)
        if self.temp_directory:
            config["temp_directory"] = str(self.temp_directory)
        database = duckdb.connect(":memory:", config=config)
        if self.allowed_directories is not None:
            listed = ", ".join(_literal(d.rstrip("/") + "/") for d in self.allowed_directories)
            database.execute(f"set allowed_directories = [{listed}]")
            database.execute("set enable_external_access = false")
            database.execute("set lock_configuration = true")
        return database

    def bind(self, connection: duckdb.DuckDBPyConnection, inputs: dict[str, Input]) -> None:
        """Expose every input as a view named after it."""
        for name, item in inputs.items():
            if isinstance(item, ArrowInput):
                connection.register(name, item.data)
            elif isinstance(item, FileScan):
                connection.execute(f"create or replace temp view {_quote(name)} as {file_sql(item)}")
            else:
                connection.execute(f"create or replace temp view {_quote(name)} as {scan_sql(item)}")

    def query(self, sql: str, inputs: dict[str, Input]) -> pa.Table:
        with self.translated(), self.connect() as connection:
            self.bind(connection, inputs)
            return connection.sql(sql).to_arrow_table()

    def first_row(self, sql: str, inputs: dict[str, Input]) -> tuple[Any, ...]:
        """Like the base class, without importing pyarrow when every result column is a plain type."""
        with self.translated(), self.connect() as connection:
            self.bind(connection, inputs)
            relation = connection.sql(sql)
            if all(str(kind).split("(", maxsplit=1)[0] in PLAIN_TYPES for kind in relation.types):
                return tuple(relation.fetchall()[0])
            return first_row_of(relation.to_arrow_table())

    def query_on_thread_cursor(self, sql: str) -> pa.Table:
        """``sql`` (which reads no inputs) on this thread's long-lived cursor: for many small queries,
        where opening a cursor each time is a measurable share of the work."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.connect()
        with self.translated():
            return cursor.sql(sql).to_arrow_table()

    def execute(self, sql: str) -> None:
        """Run a statement for its effect on this engine's database (a view every cursor then sees)."""
        with self.translated(), self.connect() as connection:
            connection.execute(sql)

    def unstable_words(self) -> frozenset[str]:
        """Names in SQL whose value can change from one run of a statement to the next, lower case:
        the functions DuckDB itself says are volatile or fixed only within a query and have no
        overload it calls consistent (``now``, ``random``, ``nextval`` ...: a ``+`` or ``year`` whose
        time-zone overloads depend on the session's zone stays out, the zone being locked), ``age``
        (one argument: the age today), the macros that call one of them, and the keywords that read
        the clock, the session or a random sample. Asked of DuckDB's catalog once."""
        known = self._unstable
        if known is None:
            with self.connect() as connection:
                functions = connection.sql(_UNSTABLE_FUNCTIONS).fetchall()
                names = {str(name) for (name,) in functions} | _UNSTABLE_KEYWORDS
                for name, body in connection.sql(_MACROS).fetchall():
                    if {w.lower() for w in _WORD.findall(str(body))} & names:
                        names.add(str(name))
            known = self._unstable = frozenset(names)
        return known

    def describe(self, sql: str, inputs: dict[str, Input]) -> list[tuple[str, str]]:
        with self.translated(), self.connect() as connection:
            self.bind(connection, inputs)
            # DESCRIBE keeps the statement's own line numbers in errors (the relation API drops them).
            rows = connection.execute(f"describe {sql}").fetchall()
            return [(str(row[0]), str(row[1])) for row in rows]

    def write_parquet(
        self, sql: str, inputs: dict[str, Input], columns: list[Column], directory: str
    ) -> list[str]:
        from pathlib import Path

        Path(directory).mkdir(parents=True, exist_ok=True)
        casts = ", ".join(f"cast({_quote(c.name)} as {c.sql_type}) as {_quote(c.name)}" for c in columns)
        ids = ", ".join(f"{_quote(c.name)}: {c.field_id}" for c in columns)
        with self.translated(), self.connect() as connection:
            self.bind(connection, inputs)
            connection.execute(
                f"copy (select {casts} from ({sql}) as result) to {_literal(directory)} "
                f"(format parquet, per_thread_output true, overwrite_or_ignore true, field_ids {{{ids}}})"
            )
        return sorted(str(p) for p in Path(directory).glob("*.parquet"))

    def file_stats(self, scan: FileScan) -> dict[str, ColumnStats]:
        from quanta.engines.footers import file_stats

        return file_stats(scan, self)

    def read_table(self, database: str, schema: str | None, table: str) -> pa.Table:
        """All rows of a table in a DuckDB database file, opened read-only."""
        import duckdb

        name = f"{_quote(schema)}.{_quote(table)}" if schema else _quote(table)
        with self.translated(), duckdb.connect(database, read_only=True) as connection:
            return connection.sql(f"select * from {name}").to_arrow_table()

    def stream(self, sql: str, inputs: dict[str, Input], batch_rows: int = 256_000) -> pa.RecordBatchReader:
        import pyarrow as pa

        with self.translated():
            connection = self.connect()
            self.bind(connection, inputs)
            reader = connection.sql(sql).to_arrow_reader(batch_size=batch_rows)

        def batches() -> Iterator[pa.RecordBatch]:
            import duckdb

            try:  # most errors surface while the rows are computed, as the stream's OSError
                yield from reader
            except (OSError, duckdb.Error) as exc:
                raise self.translate(exc) from exc

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    @contextmanager
    def python_inputs(self, inputs: dict[str, Input]) -> Iterator[dict[str, Any]]:
        """The inputs as DuckDB relations, for a Python transform (valid inside the block)."""
        with self.connect() as connection:
            self.bind(connection, inputs)
            yield {name: connection.table(name) for name in inputs}


def scan_sql(scan: TableScan) -> str:
    """``read_parquet`` over planned files, mapping columns by Iceberg field id (renames stay right)."""
    if not scan.files:
        columns = ", ".join(f"cast(null as {c.sql_type}) as {_quote(c.name)}" for c in scan.columns)
        return f"select {columns} where false"
    files = ", ".join(_literal(f) for f in scan.files)
    mapping = ", ".join(
        f"{c.field_id}: {{name: {_literal(c.name)}, type: {_literal(c.sql_type)}, default_value: NULL}}"
        for c in scan.columns
    )
    names = ", ".join(_quote(c.name) for c in scan.columns)
    return f"select {names} from read_parquet([{files}], schema = map {{{mapping}}})"


_READERS = {"csv": "read_csv", "parquet": "read_parquet", "json": "read_json_auto"}


def file_sql(scan: FileScan) -> str:
    """``read_csv``/``read_parquet``/``read_json`` over the source files, filtered past the cursor."""
    files = ", ".join(_literal(f) for f in scan.files)
    options = "".join(f", {key} = {_option(value)}" for key, value in sorted(scan.options.items()))
    if scan.types:  # read_csv takes the types of some columns, read_json those of every column
        typed = ", ".join(f"{_literal(name)}: {_literal(kind)}" for name, kind in scan.types.items())
        options += f", {'columns' if scan.format == 'json' else 'types'} = {{{typed}}}"
    where = f" where {scan.where}" if scan.where else ""
    return f"select * from {_READERS[scan.format]}([{files}]{options}){where}"


def _option(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return _literal(str(value))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
