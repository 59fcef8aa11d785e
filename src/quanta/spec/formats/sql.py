"""SQL DDL: one CREATE TABLE per schema object, built as sqlglot expressions and rendered per dialect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quanta.errors import FormatError
from quanta.spec.contract import Contract, SchemaObject, SchemaProperty
from quanta.spec.formats import Exporter

if TYPE_CHECKING:
    from sqlglot import exp


@dataclass(frozen=True)
class Dialect:
    """What one SQL dialect can express in a CREATE TABLE."""

    name: str
    types: frozenset[str]  # sqlglot DataType names a physicalType may use as is
    nested: bool  # STRUCT and MAP columns (otherwise nested data is stored as JSON)
    constraints: bool  # PRIMARY KEY and UNIQUE
    inline_comments: bool  # COMMENT inside CREATE TABLE (otherwise COMMENT ON statements)
    json: str  # the type for objects, maps and arrays the dialect cannot nest


_SCALARS = frozenset({"BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL"})
_SCALARS |= {
    "CHAR",
    "VARCHAR",
    "NCHAR",
    "NVARCHAR",
    "TEXT",
    "DATE",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TIMESTAMPNTZ",
}
_SCALARS |= {"TIMESTAMPLTZ", "BINARY", "VARBINARY", "ARRAY"}
DIALECTS = {
    "duckdb": Dialect(
        "duckdb",
        _SCALARS
        | {"TIME", "TIMETZ", "JSON", "UUID", "INTERVAL", "STRUCT", "MAP"}
        | {"UTINYINT", "USMALLINT", "UINT", "UBIGINT"},
        nested=True,
        constraints=True,
        inline_comments=False,
        json="JSON",
    ),
    "postgres": Dialect(
        "postgres",
        _SCALARS | {"TIME", "TIMETZ", "JSON", "JSONB", "UUID", "INTERVAL", "MONEY", "INET"},
        nested=False,
        constraints=True,
        inline_comments=False,
        json="JSONB",
    ),
    # Spark's session catalog rejects PRIMARY KEY and UNIQUE ("does not support CONSTRAINT").
    "spark": Dialect(
        "spark",
        _SCALARS | {"STRUCT", "MAP"},
        nested=True,
        constraints=False,
        inline_comments=True,
        json="STRING",
    ),
}
_INTEGERS = {"i8": "TINYINT", "i16": "SMALLINT", "i32": "INT", "u8": "SMALLINT", "u16": "INT"}


class SqlDdlExporter(Exporter):
    """CREATE TABLE statements (with keys, NOT NULL and comments) for every schema object of a contract."""

    name = "sql"
    options = {"dialect": f"SQL dialect: {', '.join(DIALECTS)} (default: duckdb)"}

    def export_contract(self, contract: Contract, **options: Any) -> str:
        dialect = dialect_named(options.get("dialect") or "duckdb")
        tables = [o for o in contract.objects if o.properties]
        if not tables:
            raise FormatError(
                f"contract {contract.id!r} has no schema object with properties: there is no table to create",
                hint="add a schema object with properties, or export it as 'markdown' or 'odcs'",
            )
        header = f"-- {contract.name or contract.id} {contract.version} ({dialect.name})"
        skipped = [f"-- {o.name}: no properties, no table" for o in contract.objects if not o.properties]
        blocks = ["\n".join(_render(s, dialect) for s in statements(t, dialect)) for t in tables]
        return "\n\n".join(["\n".join([header, *skipped]), *blocks]) + "\n"


def dialect_named(name: str) -> Dialect:
    if name not in DIALECTS:
        raise FormatError(f"unknown SQL dialect {name!r}", hint=f"use one of: {', '.join(DIALECTS)}")
    return DIALECTS[name]


def _render(statement: exp.Expression, dialect: Dialect) -> str:
    # Every identifier quoted: PostgreSQL would fold 'UniqueID' to lower case and reject 'order'.
    return statement.sql(dialect=dialect.name, pretty=True, identify=True) + ";"


def statements(obj: SchemaObject, dialect: Dialect) -> list[exp.Expression]:
    """The CREATE TABLE for ``obj``, then any COMMENT ON statements the dialect needs."""
    from sqlglot import exp

    props = obj.properties or []
    keys = primary_key(props)
    columns: list[exp.Expression] = [_column(p, dialect, keys) for p in props]
    if keys and dialect.constraints:
        columns.append(exp.PrimaryKey(expressions=[exp.to_identifier(p.column) for p in keys]))
    table = _table(obj.table)
    properties = None
    if obj.description and dialect.inline_comments:
        comment = exp.SchemaCommentProperty(this=exp.Literal.string(obj.description))
        properties = exp.Properties(expressions=[comment])
    create = exp.Create(this=exp.Schema(this=table, expressions=columns), kind="TABLE", properties=properties)
    if dialect.inline_comments:
        return [create]
    comments: list[exp.Expression] = []
    if obj.description:
        comments.append(_comment_on(table.copy(), "TABLE", obj.description))
    for prop in props:
        if prop.description:
            column = exp.column(prop.column, table.name, table.args.get("db"), table.args.get("catalog"))
            comments.append(_comment_on(column, "COLUMN", prop.description))
    return [create, *comments]


def _table(name: str) -> exp.Table:
    """``schema.table`` (or ``catalog.schema.table``) is qualified; any other name is one identifier."""
    from sqlglot import exp

    parts = name.split(".")
    if 1 < len(parts) <= 3 and all(parts):
        return exp.table_(parts[-1], db=parts[-2], catalog=parts[0] if len(parts) == 3 else None)
    return exp.Table(this=exp.to_identifier(name))


def _comment_on(target: exp.Expression, kind: str, text: str) -> exp.Expression:
    from sqlglot import exp

    return exp.Comment(this=target, kind=kind, expression=exp.Literal.string(text))


def primary_key(props: list[SchemaProperty]) -> list[SchemaProperty]:
    """Primary key columns in primaryKeyPosition order (unpositioned ones last, in column order)."""
    keys = [p for p in props if p.primary_key]
    positions = [p.primary_key_position if (p.primary_key_position or 0) > 0 else None for p in keys]
    order = sorted(range(len(keys)), key=lambda i: (positions[i] is None, positions[i] or 0, i))
    return [keys[i] for i in order]


def _column(prop: SchemaProperty, dialect: Dialect, keys: list[SchemaProperty]) -> exp.Expression:
    from sqlglot import exp

    constraints = []
    if prop.required:
        constraints.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
    if prop.unique and dialect.constraints and not (len(keys) == 1 and keys[0] is prop):
        constraints.append(exp.ColumnConstraint(kind=exp.UniqueColumnConstraint()))
    if prop.description and dialect.inline_comments:
        comment = exp.CommentColumnConstraint(this=exp.Literal.string(prop.description))
        constraints.append(exp.ColumnConstraint(kind=comment))
    return exp.ColumnDef(
        this=exp.to_identifier(prop.column), kind=column_type(prop, dialect), constraints=constraints or None
    )


def column_type(prop: SchemaProperty, dialect: Dialect) -> exp.DataType:
    """The physicalType when the dialect can use it as is, else a type derived from the logicalType."""
    physical = _physical(prop.physical_type, dialect) if prop.physical_type else None
    return physical or _logical(prop, dialect)


def _physical(text: str, dialect: Dialect) -> exp.DataType | None:
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        parsed = exp.DataType.build(text, dialect=dialect.name)
    except (SqlglotError, ValueError):
        return None
    nodes = list(parsed.find_all(exp.DataType))
    if any(n.this.name not in dialect.types for n in nodes):
        return None
    if not all(_well_formed(n) for n in nodes):
        return None
    if any(
        not (isinstance(p.this, exp.Literal) and p.this.is_int) for p in parsed.find_all(exp.DataTypeParam)
    ):
        return None  # sizes must be plain numbers: DECIMAL(12, TRUE) would not create
    return parsed


def _well_formed(node: exp.DataType) -> bool:
    """Containers need typed members: 'STRUCT<a: INT>' read as DuckDB is a struct of untyped 'a'."""
    from sqlglot import exp

    containers = (exp.DataType.Type.STRUCT, exp.DataType.Type.ARRAY, exp.DataType.Type.MAP)
    if node.is_type(*containers) and not node.expressions:
        return False
    if node.is_type(exp.DataType.Type.STRUCT):
        return all(
            isinstance(f, exp.ColumnDef) and isinstance(f.args.get("kind"), exp.DataType)
            for f in node.expressions
        )
    if node.is_type(exp.DataType.Type.ARRAY, exp.DataType.Type.MAP):
        return all(isinstance(e, exp.DataType) for e in node.expressions)
    return True


def _logical(prop: SchemaProperty, dialect: Dialect) -> exp.DataType:
    from sqlglot import exp

    options = prop.logical_type_options or {}
    kind = prop.logical_type
    if kind == "string":
        length = options.get("maxLength")
        return exp.DataType.build(
            f"VARCHAR({length})" if isinstance(length, int) and length > 0 else "VARCHAR"
        )
    if kind == "integer":
        return exp.DataType.build(_INTEGERS.get(options.get("format", ""), "BIGINT"))
    if kind == "number":
        return exp.DataType.build("FLOAT" if options.get("format") == "f32" else "DOUBLE")
    if kind == "timestamp":
        return exp.DataType.build("TIMESTAMPTZ" if options.get("timezone") else "TIMESTAMP")
    if kind in ("boolean", "date", "time"):
        return exp.DataType.build(kind.upper())
    return _nested(prop, dialect)


def _nested(prop: SchemaProperty, dialect: Dialect) -> exp.DataType:
    from sqlglot import exp

    json = exp.DataType.build(dialect.json)
    kind = prop.logical_type
    if kind == "array" and prop.items is not None:
        element = column_type(prop.items, dialect)
        flat = not element.is_type(exp.DataType.Type.STRUCT, exp.DataType.Type.MAP, exp.DataType.Type.ARRAY)
        if dialect.nested or flat:
            return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[element], nested=True)
        return json
    if not dialect.nested:
        return json if kind in ("object", "array", "map") else exp.DataType.build("VARCHAR")
    if kind == "object" and prop.properties:
        fields = [
            exp.ColumnDef(this=exp.to_identifier(p.column), kind=column_type(p, dialect))
            for p in prop.properties
        ]
        return exp.DataType(this=exp.DataType.Type.STRUCT, expressions=fields, nested=True)
    if kind == "map" and prop.map:
        key, value = (SchemaProperty.model_validate(prop.map.get(k) or {}) for k in ("key", "value"))
        types = [column_type(key, dialect), column_type(value, dialect)]
        return exp.DataType(this=exp.DataType.Type.MAP, expressions=types, nested=True)
    if kind in ("object", "map", "array"):
        return json
    return exp.DataType.build("VARCHAR")  # no logicalType and no usable physicalType
