"""PostgreSQL's privilege functions (``has_table_privilege``, ``has_any_column_privilege``,
``has_column_privilege``, ``has_schema_privilege``, ``has_database_privilege``) answered as the
principal holds them.

What a principal may read comes from ``Mesh.readable_tables`` (the same facade that builds its catalog):
SELECT on a product it may read (under a column-scoped grant, on the table, whose ``select *`` gives the
granted columns, and on those columns only), USAGE on a schema holding one, SELECT on the catalog's own
relations, CONNECT on the database. Nothing else: Quanta over the wire is read-only,
so INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, CREATE and TEMPORARY are never held, and no
privilege is held WITH GRANT OPTION. A relation, schema or column the principal may not see is answered
false (PostgreSQL would say it does not exist; either way nothing is disclosed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb

    from quanta.mesh.governance import ReadableTable

_KINDS = {
    "table": {"select", "insert", "update", "delete", "truncate", "references", "trigger", "maintain"},
    "column": {"select", "insert", "update", "references"},
    "schema": {"usage", "create"},
    "database": {"connect", "create", "temporary", "temp"},
}
"""The privilege types each function accepts (PostgreSQL 15; MAINTAIN is 17's)."""
_HELD = {"select", "usage", "connect"}
_CATALOG_SCHEMAS = ("pg_catalog", "information_schema")
_DATABASE = "quanta"


class PrivilegeError(ValueError):
    """A privilege type the function does not know (PostgreSQL: ``unrecognized privilege type``)."""


@dataclass
class Privileges:
    """What ``principal`` holds, and the relations and columns its catalog names (by oid too)."""

    principal: str
    readable: dict[tuple[str, str], frozenset[str] | None] = field(default_factory=dict)
    """(schema, table) ► the columns it may read, None for all."""
    columns: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """(schema, table) ► its column names in order (attnum 1, 2…)."""
    relations: dict[int, tuple[str, str]] = field(default_factory=dict)
    """pg_class oid ► (schema, relation), the catalog's relations included."""
    catalog: set[tuple[str, str]] = field(default_factory=set)
    """The catalog's own relations (pg_catalog.pg_class, information_schema.tables…)."""
    namespaces: dict[int, str] = field(default_factory=dict)
    """pg_namespace oid ► schema."""

    @classmethod
    def of(
        cls, principal: str, tables: list[ReadableTable], connection: duckdb.DuckDBPyConnection
    ) -> Privileges:
        """The privileges of ``principal``, over the catalog ``connection`` built for it."""
        held = cls(principal)
        for table in tables:
            held.readable[(table.schema, table.product_id.partition(".")[2])] = table.columns
        for schema, name, column in connection.execute(
            "select schema_name, table_name, column_name from duckdb_columns()"
            " where database_name = 'quanta' order by schema_name, table_name, column_index"
        ).fetchall():
            held.columns.setdefault((schema, name), []).append(column)
        for oid, schema, name in connection.execute(
            "select c.oid, n.nspname, c.relname from memory.main.pg_class c"
            " join memory.main.pg_namespace n on n.oid = c.relnamespace"
        ).fetchall():
            held.relations[int(oid)] = (schema, name)
            if schema in _CATALOG_SCHEMAS:
                held.catalog.add((schema, name))
        for oid, schema in connection.execute("select oid, nspname from memory.main.pg_namespace").fetchall():
            held.namespaces[int(oid)] = schema
        return held

    # --- the functions ---------------------------------------------------------------------------------

    def table(self, user: str | None, relation: str | None, privilege: str | None) -> bool | None:
        if relation is None or privilege is None:
            return None
        wanted = _wanted(privilege, "table")
        found = self._relation(relation)
        if not self._is_principal(user) or found is None or "select" not in wanted:
            return False
        return found in self.catalog or found in self.readable

    def any_column(self, user: str | None, relation: str | None, privilege: str | None) -> bool | None:
        if relation is None or privilege is None:
            return None
        wanted = _wanted(privilege, "column")
        found = self._relation(relation)
        if not self._is_principal(user) or found is None or "select" not in wanted:
            return False
        return found in self.catalog or found in self.readable

    def column(
        self, user: str | None, relation: str | None, column: str | None, privilege: str | None
    ) -> bool | None:
        if relation is None or column is None or privilege is None:
            return None
        wanted = _wanted(privilege, "column")
        found = self._relation(relation)
        if not self._is_principal(user) or found is None or "select" not in wanted:
            return False
        if found in self.catalog:
            return True
        names = self.columns.get(found, [])
        if column.lstrip("-").isdigit():  # an attnum
            number = int(column)
            column = names[number - 1] if 0 < number <= len(names) else ""
        if found not in self.readable or column not in names:
            return False
        allowed = self.readable[found]
        return allowed is None or column in allowed

    def schema(self, user: str | None, schema: str | None, privilege: str | None) -> bool | None:
        if schema is None or privilege is None:
            return None
        wanted = _wanted(privilege, "schema")
        if not self._is_principal(user) or "usage" not in wanted:
            return False
        name = self._schema(schema)
        return name in _CATALOG_SCHEMAS or any(s == name for s, _ in self.readable)

    def database(self, user: str | None, database: str | None, privilege: str | None) -> bool | None:
        if database is None or privilege is None:
            return None
        wanted = _wanted(privilege, "database")
        known = database.isdigit() or _identifiers(database) == [_DATABASE]
        return self._is_principal(user) and known and "connect" in wanted

    # --- names -----------------------------------------------------------------------------------------

    def _is_principal(self, user: str | None) -> bool:
        """The principal itself (``current_user``; the role ``pg_roles`` lists, by name or oid); a
        question about another role or PUBLIC is answered false."""
        return user is None or user in (self.principal, _DATABASE, "10")

    def _relation(self, relation: str) -> tuple[str, str] | None:
        """A relation named as ``regclass`` input (``"schema"."table"``, ``schema.table``, an oid), as
        (schema, relation); None when the principal's catalog has no such relation. An unqualified name
        is looked up on the search path: only ``pg_catalog`` of it exists."""
        if relation.strip().isdigit():
            return self.relations.get(int(relation))
        names = _identifiers(relation)
        if len(names) == 3 and names[0] == _DATABASE:
            names = names[1:]
        if len(names) == 1:
            names = ["pg_catalog", names[0]]
        if len(names) != 2:
            return None
        found = (names[0], names[1])
        return found if found in self.catalog or found in self.readable else None

    def _schema(self, schema: str) -> str:
        if schema.strip().isdigit():  # a pg_namespace oid
            return self.namespaces.get(int(schema), "")
        return schema

    def register(self, connection: duckdb.DuckDBPyConnection) -> None:
        """The functions, as PostgreSQL's names and overloads (with and without the user) in
        ``memory.main`` (where :func:`catalog_sql` sends calls of them)."""
        import duckdb.func

        functions: list[tuple[str, Callable[..., bool | None], int]] = [
            ("table", self.table, 3),
            ("any_column", self.any_column, 3),
            ("column", self.column, 4),
            ("schema", self.schema, 3),
            ("database", self.database, 3),
        ]
        for name, function, arguments in functions:
            connection.create_function(
                f"quanta_{name}_privilege",
                function,
                ["VARCHAR"] * arguments,
                "BOOLEAN",
                null_handling=duckdb.func.SPECIAL,
                side_effects=False,
            )
            without = [f"a{i}" for i in range(1, arguments)]
            given = ["u", *without]
            cast = ", ".join(f"{a}::varchar" for a in without)
            connection.execute(
                f"create macro memory.main.has_{name}_privilege({', '.join(without)})"
                f" as quanta_{name}_privilege(null, {cast}),"
                f" ({', '.join(given)}) as quanta_{name}_privilege(u::varchar, {cast})"
            )


FUNCTIONS = {f"has_{name}_privilege" for name in ("table", "any_column", "column", "schema", "database")}
"""The functions :class:`Privileges` answers (calls of them go to ``memory.main``)."""


def _wanted(privilege: str, kind: str) -> set[str]:
    """The privilege types named (``'SELECT, INSERT'``); one WITH GRANT OPTION is never held."""
    wanted = set()
    for item in privilege.split(","):
        word = " ".join(item.lower().split())
        granting = word.endswith(" with grant option")
        word = word.removesuffix(" with grant option")
        if word not in _KINDS[kind]:
            raise PrivilegeError(f'unrecognized privilege type: "{item.strip()}"')
        if not granting and word in _HELD:
            wanted.add(word)
    return wanted


def _identifiers(text: str) -> list[str]:
    """``"Sales".orders`` as ``["Sales", "orders"]``: quoted parts as written (``""`` for a quote),
    the others lower-cased, as PostgreSQL reads a qualified name."""
    names: list[str] = []
    current, quoted, was_quoted, i = "", False, False, 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == '"' and text[i + 1 : i + 2] == '"':
                current += '"'
                i += 1
            elif char == '"':
                quoted = False
            else:
                current += char
        elif char == '"':
            quoted = was_quoted = True
        elif char == ".":
            names.append(current if was_quoted else current.strip().lower())
            current, was_quoted = "", False
        else:
            current += char
        i += 1
    names.append(current if was_quoted else current.strip().lower())
    return names
