"""Flight SQL's metadata answers (GetSqlInfo, GetCatalogs, GetDbSchemas, GetTables, GetTableTypes,
GetPrimaryKeys), each an Arrow table in the schema the specification fixes. One catalog, ``quanta``;
its schemas are domains and its tables the products the principal may read (``Mesh.readable_tables``,
through the wire server's per-principal catalog, so both servers list the same)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import pyarrow as pa

from quanta.errors import QuantaError
from quanta.interfaces.flight import flight_sql_pb2 as sql
from quanta.interfaces.flight.commands import serialized_schema
from quanta.interfaces.flight.errors import flight_error

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from quanta.interfaces.pgwire.backend import MeshBackend

CATALOG = "quanta"
TABLE_TYPE = "TABLE"

CATALOGS = pa.schema([pa.field("catalog_name", pa.utf8(), nullable=False)])
DB_SCHEMAS = pa.schema([("catalog_name", pa.utf8()), pa.field("db_schema_name", pa.utf8(), nullable=False)])
TABLES = pa.schema(
    [
        ("catalog_name", pa.utf8()),
        ("db_schema_name", pa.utf8()),
        pa.field("table_name", pa.utf8(), nullable=False),
        pa.field("table_type", pa.utf8(), nullable=False),
    ]
)
TABLES_WITH_SCHEMA = TABLES.append(pa.field("table_schema", pa.binary(), nullable=False))
TABLE_TYPES = pa.schema([pa.field("table_type", pa.utf8(), nullable=False)])
PRIMARY_KEYS = pa.schema(
    [
        ("catalog_name", pa.utf8()),
        ("db_schema_name", pa.utf8()),
        pa.field("table_name", pa.utf8(), nullable=False),
        pa.field("column_name", pa.utf8(), nullable=False),
        ("key_name", pa.utf8()),
        pa.field("key_sequence", pa.int32(), nullable=False),
    ]
)
_VALUE_TYPES = [
    pa.field("string_value", pa.utf8()),
    pa.field("bool_value", pa.bool_()),
    pa.field("bigint_value", pa.int64()),
    pa.field("int32_bitmask", pa.int32()),
    pa.field("string_list", pa.list_(pa.utf8())),
    pa.field("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
]
SQL_INFO = pa.schema(
    [
        pa.field("info_name", pa.uint32(), nullable=False),
        pa.field("value", pa.dense_union(_VALUE_TYPES), nullable=False),
    ]
)


def _quanta_version() -> str:
    try:
        return version("quanta")
    except PackageNotFoundError:
        return "unknown"


def sql_info() -> dict[int, str | bool | int]:
    """SqlInfo ids (FlightSql.proto's ``SqlInfo`` enum) ► this server's answers."""
    return {
        0: "Quanta",  # FLIGHT_SQL_SERVER_NAME
        1: _quanta_version(),  # FLIGHT_SQL_SERVER_VERSION
        2: pa.__version__,  # FLIGHT_SQL_SERVER_ARROW_VERSION
        3: True,  # FLIGHT_SQL_SERVER_READ_ONLY
        4: True,  # FLIGHT_SQL_SERVER_SQL
        5: False,  # FLIGHT_SQL_SERVER_SUBSTRAIT
        8: 0,  # FLIGHT_SQL_SERVER_TRANSACTION: none
        9: False,  # FLIGHT_SQL_SERVER_CANCEL
        500: False,  # SQL_DDL_CATALOG
        501: False,  # SQL_DDL_SCHEMA
        502: False,  # SQL_DDL_TABLE
        504: '"',  # SQL_IDENTIFIER_QUOTE_CHAR
        529: "domain",  # SQL_SCHEMA_TERM
        531: "catalog",  # SQL_CATALOG_TERM
    }


def sql_info_table(command: sql.CommandGetSqlInfo) -> pa.Table:
    """The requested SqlInfo (all of it when none is named; unknown ids are left out)."""
    known = sql_info()
    ids = [i for i in (list(command.info) or list(known)) if i in known]
    codes: list[int] = []
    offsets: list[int] = []
    children: list[list[object]] = [[] for _ in _VALUE_TYPES]
    for info in ids:
        value = known[info]
        code = 1 if isinstance(value, bool) else 3 if isinstance(value, int) else 0
        codes.append(code)
        offsets.append(len(children[code]))
        children[code].append(value)
    arrays = [pa.array(values, type=f.type) for values, f in zip(children, _VALUE_TYPES, strict=True)]
    union = pa.UnionArray.from_dense(
        pa.array(codes, pa.int8()),
        pa.array(offsets, pa.int32()),
        arrays,
        [f.name for f in _VALUE_TYPES],
        list(range(len(_VALUE_TYPES))),
    )
    return pa.Table.from_arrays([pa.array(ids, pa.uint32()), union], schema=SQL_INFO)


def _like(pattern: str | None) -> re.Pattern[str]:
    """A Flight SQL filter pattern (``%`` any run, ``_`` one character) as a regular expression."""
    if not pattern:
        return re.compile(".*", re.DOTALL)
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


class Catalog:
    """The metadata one principal may see."""

    def __init__(self, backend: MeshBackend, principal: str) -> None:
        self.backend = backend
        self.principal = principal

    def _rows(self, query: str) -> list[dict[str, object]]:
        try:
            answer = self.backend.catalog_query(self.principal, query, self.principal)
        except QuantaError as exc:
            raise flight_error(exc) from None
        return pa.Table.from_batches(list(answer.batches), answer.schema).to_pylist()

    def _tables(self, catalog: str | None, schemas: str | None, tables: str | None) -> list[tuple[str, str]]:
        if catalog not in (None, CATALOG):
            return []
        in_schema, named = _like(schemas), _like(tables)
        rows = self._rows(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog', 'main') order by 1, 2"
        )
        return [
            (str(r["table_schema"]), str(r["table_name"]))
            for r in rows
            if in_schema.fullmatch(str(r["table_schema"])) and named.fullmatch(str(r["table_name"]))
        ]

    def sql_info(self, command: sql.CommandGetSqlInfo) -> pa.Table:
        return sql_info_table(command)

    def catalogs(self, _: object = None) -> pa.Table:
        return pa.Table.from_pylist([{"catalog_name": CATALOG}], schema=CATALOGS)

    def db_schemas(self, command: sql.CommandGetDbSchemas) -> pa.Table:
        catalog = command.catalog if command.HasField("catalog") else None
        pattern = command.db_schema_filter_pattern if command.HasField("db_schema_filter_pattern") else None
        names = sorted({schema for schema, _ in self._tables(catalog, pattern, None)})
        rows = [{"catalog_name": CATALOG, "db_schema_name": name} for name in names]
        return pa.Table.from_pylist(rows, schema=DB_SCHEMAS)

    def tables(self, command: sql.CommandGetTables) -> pa.Table:
        found = self._tables(
            command.catalog if command.HasField("catalog") else None,
            command.db_schema_filter_pattern if command.HasField("db_schema_filter_pattern") else None,
            command.table_name_filter_pattern if command.HasField("table_name_filter_pattern") else None,
        )
        if command.table_types and TABLE_TYPE not in command.table_types:
            found = []
        rows: list[dict[str, object]] = [
            {"catalog_name": CATALOG, "db_schema_name": s, "table_name": t, "table_type": TABLE_TYPE}
            for s, t in found
        ]
        if not command.include_schema:
            return pa.Table.from_pylist(rows, schema=TABLES)
        for row in rows:
            row["table_schema"] = serialized_schema(
                self.table_schema(str(row["db_schema_name"]), str(row["table_name"]))
            )
        return pa.Table.from_pylist(rows, schema=TABLES_WITH_SCHEMA)

    def table_schema(self, schema: str, table: str) -> pa.Schema:
        """The Arrow schema of a readable product (its contract's columns and types)."""
        quoted = ".".join('"' + name.replace('"', '""') + '"' for name in (schema, table))
        try:
            answer = self.backend.catalog_query(
                self.principal, f"select * from {quoted} limit 0", self.principal
            )
        except QuantaError as exc:
            raise flight_error(exc) from None
        return answer.schema

    def table_types(self, _: object = None) -> pa.Table:
        return pa.Table.from_pylist([{"table_type": TABLE_TYPE}], schema=TABLE_TYPES)

    def primary_keys(self, command: sql.CommandGetPrimaryKeys) -> pa.Table:
        catalog = command.catalog if command.HasField("catalog") else None
        schema = command.db_schema if command.HasField("db_schema") else None
        readable = set(self._tables(catalog, None, None))
        rows = [
            {
                "catalog_name": CATALOG,
                "db_schema_name": r["table_schema"],
                "table_name": r["table_name"],
                "column_name": r["column_name"],
                "key_name": r["constraint_name"],
                "key_sequence": r["ordinal_position"],
            }
            for r in self._rows(
                "select k.table_schema, k.table_name, k.column_name, k.constraint_name, k.ordinal_position "
                "from information_schema.key_column_usage k join information_schema.table_constraints c "
                "using (constraint_schema, constraint_name) where c.constraint_type = 'PRIMARY KEY' "
                "order by 1, 2, 4, 5"
            )
            if (r["table_schema"], r["table_name"]) in readable
            and r["table_name"] == command.table
            and schema in (None, r["table_schema"])
        ]
        return pa.Table.from_pylist(rows, schema=PRIMARY_KEYS)


ANSWERS: dict[type[Message], str] = {
    sql.CommandGetSqlInfo: "sql_info",
    sql.CommandGetCatalogs: "catalogs",
    sql.CommandGetDbSchemas: "db_schemas",
    sql.CommandGetTables: "tables",
    sql.CommandGetTableTypes: "table_types",
    sql.CommandGetPrimaryKeys: "primary_keys",
}
"""Each metadata command ► the :class:`Catalog` method answering it."""
SCHEMAS: dict[type[Message], pa.Schema] = {
    sql.CommandGetSqlInfo: SQL_INFO,
    sql.CommandGetCatalogs: CATALOGS,
    sql.CommandGetDbSchemas: DB_SCHEMAS,
    sql.CommandGetTables: TABLES,
    sql.CommandGetTableTypes: TABLE_TYPES,
    sql.CommandGetPrimaryKeys: PRIMARY_KEYS,
}
"""Each metadata command ► its answer's schema (GetTables with ``include_schema``: TABLES_WITH_SCHEMA)."""
