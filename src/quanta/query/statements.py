"""Which statements the governed query service accepts: one read-only query over products, without
table functions, catalog functions or anything that reaches outside the query's data (files,
settings, the catalog, other SQL); and what a statement names (products, columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.query.products import QueryError, parse_one_statement

if TYPE_CHECKING:
    from sqlglot import exp

# Functions that reach outside the query's data: files, settings, the catalog, other SQL.
_DENIED_FUNCTIONS = {
    "current_setting", "getenv", "query", "query_table", "glob", "read_text", "read_blob", "sniff_csv",
    "which_secret", "load_extension", "json_execute_serialized_sql", "json_serialize_sql",
    "current_database", "current_schema", "current_schemas", "current_catalog", "version",
    "pg_get_viewdef", "pg_get_constraintdef", "has_table_privilege", "has_schema_privilege",
    "has_column_privilege", "has_any_column_privilege", "has_database_privilege", "has_function_privilege",
    "has_sequence_privilege", "has_server_privilege", "has_tablespace_privilege", "has_language_privilege",
    "has_foreign_data_wrapper_privilege",
    "col_description", "obj_description", "shobj_description", "format_type", "pg_typeof",
    "current_version", "checkpoint", "force_checkpoint", "enable_logging", "disable_logging",
    "truncate_duckdb_logs",
}  # fmt: skip
_DENIED_PREFIXES = ("duckdb_", "pragma_", "read_", "parquet_", "iceberg_", "icu_", "test_", "pg_")
_CATALOG_SCHEMAS = {"information_schema", "pg_catalog", "main", "system", "temp", "memory"}


def parse_governed(sql: str) -> tuple[exp.Expr, list[exp.Table]]:
    """The one read-only query in ``sql`` and its product references; anything else is refused."""
    from sqlglot import exp

    tree = parse_one_statement(sql)
    if not isinstance(tree, exp.Query):
        raise QueryError(
            f"only read-only queries are allowed, not {tree.key.upper()}",
            hint="write a SELECT over data products",
        )
    for node in tree.walk():
        if isinstance(node, (exp.Command, exp.Pragma, exp.Set, exp.Copy, exp.Attach, exp.Install)):
            raise QueryError(f"{node.key.upper()} is not allowed in a query", hint="write a SELECT")
        if isinstance(node, (exp.Create, exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Merge)):
            raise QueryError(
                f"{node.key.upper()} is not allowed: queries are read-only", hint="write a SELECT"
            )
        if isinstance(node, exp.Func):
            _check_function(node)
    products: list[exp.Table] = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryError(
                f"table functions are not allowed: {table.this.sql(dialect='duckdb')[:60]}",
                hint="read data products by id, e.g. select * from sales.orders",
            )
        if table.args.get("catalog"):
            raise QueryError(
                f"unknown table {table.sql(dialect='duckdb')!r}", hint="query data products by id"
            )
        db = table.args.get("db")
        if not is_product_table(table, tree):
            continue
        if db is not None and db.name.lower() in _CATALOG_SCHEMAS:
            raise QueryError(
                f"the catalog ({db.name}) cannot be queried", hint="use quanta ls / quanta show to discover"
            )
        products.append(table)
    return tree, products


def is_product_table(table: exp.Table, tree: exp.Expr) -> bool:
    """Whether a table reference names a product (not a CTE of the query)."""
    from sqlglot import exp

    if table.args.get("db") is not None:
        return True
    return table.name.lower() not in {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _check_function(node: exp.Func) -> None:
    from sqlglot import exp

    name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
    if name in _DENIED_FUNCTIONS or name.startswith(_DENIED_PREFIXES):
        raise QueryError(f"function {name}() is not allowed in governed queries", hint="remove it")


def referenced_columns(tree: exp.Expr) -> set[str] | None:
    """Column names the query mentions anywhere (lower case), or None when it selects ``*`` (all)."""
    from sqlglot import exp

    for select in tree.find_all(exp.Select):
        for projection in select.expressions:
            if isinstance(projection, exp.Star) or (
                isinstance(projection, exp.Column) and projection.is_star
            ):
                return None
            if isinstance(projection, exp.Anonymous) and projection.name.lower() == "columns":
                return None
    return {column.name.lower() for column in tree.find_all(exp.Column)}


def product_text(table: exp.Table) -> str:
    db = table.args.get("db")
    return f"{db.name}.{table.name}" if db is not None else table.name
