"""The catalog a principal's SQL tools see: ``pg_catalog`` and ``information_schema`` over an in-memory
DuckDB holding empty tables shaped like the products that principal may read.

DuckDB's own ``pg_catalog`` views answer most of what drivers ask; the views below fill what they lack
(the ``pg_class`` and ``pg_database`` columns psql's ``\\d`` and ``\\l`` read, PostgreSQL's type names,
descriptions as comments) and hide the engine's own schemas and databases. Queries naming those
relations are rewritten to these views, so a client never sees anything but the readable products.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from quanta.interfaces.pgwire.privileges import FUNCTIONS as PRIVILEGE_FUNCTIONS
from quanta.interfaces.pgwire.privileges import Privileges

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp

    from quanta.mesh import Mesh

SERVER_VERSION = "15.0 (Quanta)"
DEFAULTS = {
    "server_version": SERVER_VERSION,
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "TimeZone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "is_superuser": "off",
    "application_name": "",
}
"""The settings a session starts with (sent as ParameterStatus, answered by SHOW)."""
CATALOG_SETTINGS = {
    **DEFAULTS,
    "server_version_num": "150000",
    "max_identifier_length": "63",
    "search_path": '"$user", public',
    "default_transaction_read_only": "on",
    "transaction_read_only": "on",
}
"""What ``pg_settings`` and ``current_setting()`` answer: PostgreSQL's names, never the engine's own
settings (those name the server's folders)."""
CATALOG_SCHEMAS = {"pg_catalog", "information_schema"}
# sqlglot's name of a function ► PostgreSQL's column name
PG_NAMES = {"current_version": "version", "group_concat": "string_agg"}
_VISIBLE = (
    "(database_name = 'quanta' and schema_name <> 'main')"
    " or (database_name = 'system' and schema_name in ('pg_catalog', 'information_schema'))"
)
_PG_TYPES = {
    16: "'boolean'",
    17: "'bytea'",
    20: "'bigint'",
    21: "'smallint'",
    23: "'integer'",
    25: "'text'",
    114: "'json'",
    700: "'real'",
    701: "'double precision'",
    1043: "'character varying'",
    1082: "'date'",
    1083: "'time without time zone'",
    1114: "'timestamp without time zone'",
    1184: "'timestamp with time zone'",
    1186: "'interval'",
    1700: "'numeric' || case when typmod > 4 then '(' || ((typmod - 4) >> 16) || ','"
    " || ((typmod - 4) & 65535) || ')' else '' end",
    2950: "'uuid'",
}
_WHEN_TYPES = " ".join(f"when {oid} then {name}" for oid, name in _PG_TYPES.items())
_VIEWS = {
    "pg_namespace": f"""select oid, schema_name as nspname, 10 as nspowner, null as nspacl
        from duckdb_schemas() where {_VISIBLE}""",
    "pg_class": """select * replace (
            'd' as relreplident, 10 as relowner, 2 as relam, []::varchar[] as reloptions),
            false as relforcerowsecurity
        from pg_catalog.pg_class where relnamespace in (select oid from memory.main.pg_namespace)""",
    "pg_database": """select database_oid as oid, 'quanta' as datname, 10 as datdba, 6 as encoding,
            'c' as datlocprovider, true as datallowconn, false as datistemplate, -1 as datconnlimit,
            0 as dattablespace, 'C' as datcollate, 'C' as datctype, null as daticulocale,
            null as datacl
        from duckdb_databases() where database_name = 'quanta'""",
    "pg_attribute": """select * replace (
            atttypid::integer as atttypid, attnum::smallint as attnum, -1::smallint as attlen,
            case when atttypid = 1700 and atttypmod > 0
                then (((atttypmod // 1000) << 16) | (atttypmod % 1000)) + 4 else -1 end as atttypmod,
            'p' as attstorage, '' as attcompression, -1 as attstattarget)
        from pg_catalog.pg_attribute""",
    "pg_description": """select table_oid as objoid, 1259 as classoid, 0 as objsubid, comment as description
            from duckdb_tables() where database_name = 'quanta' and comment is not null
        union all
        select table_oid, 1259, column_index, comment from duckdb_columns()
            where database_name = 'quanta' and comment is not null""",
    "pg_constraint": """select * replace ([k + 1 for k in conkey] as conkey)
        from pg_catalog.pg_constraint where contype <> 'x'""",  # the engine's NOT NULL rows ('x' is
    # PostgreSQL's exclusion constraint; its NOT NULL lives in attnotnull), its keys counted from 0
    "pg_tables": """select schema_name as schemaname, table_name as tablename, 'quanta' as tableowner,
            null as tablespace, false as hasindexes, false as hasrules, false as hastriggers,
            false as rowsecurity
        from duckdb_tables() where database_name = 'quanta'""",
    "pg_views": """select * from pg_catalog.pg_views where false""",
    "pg_roles": """select 10 as oid, 'quanta' as rolname, false as rolsuper, false as rolinherit,
            false as rolcreaterole, false as rolcreatedb, true as rolcanlogin, false as rolreplication,
            -1 as rolconnlimit, null as rolvaliduntil, false as rolbypassrls, null as rolconfig""",
    "schemata": """select 'quanta' as catalog_name, nspname as schema_name, 'quanta' as schema_owner,
            null as default_character_set_catalog, null as default_character_set_schema,
            null as default_character_set_name, null as sql_path
        from memory.main.pg_namespace""",
    "tables": """select * replace ('quanta' as table_catalog)
        from information_schema.tables where table_catalog = 'quanta' and table_schema <> 'main'""",
    "columns": """select * replace ('quanta' as table_catalog)
        from information_schema.columns where table_catalog = 'quanta' and table_schema <> 'main'""",
    "views": """select * from information_schema.views where false""",
}
"""Relations that replace DuckDB's (``pg_catalog`` ones, and ``information_schema`` ones)."""
_EMPTY = {
    "pg_policy": "oid bigint, polname varchar, polrelid bigint, polcmd varchar, polpermissive boolean, "
    "polroles bigint[], polqual varchar, polwithcheck varchar",
    "pg_statistic_ext": "oid bigint, stxrelid bigint, stxname varchar, stxnamespace bigint, stxowner bigint, "
    "stxstattarget integer, stxkeys integer[], stxkind varchar[], stxexprs varchar",
    "pg_publication": "oid bigint, pubname varchar, pubowner bigint, puballtables boolean, "
    "pubinsert boolean, pubupdate boolean, pubdelete boolean, pubtruncate boolean, pubviaroot boolean",
    "pg_publication_rel": "oid bigint, prpubid bigint, prrelid bigint, prqual varchar, prattrs integer[]",
    "pg_publication_namespace": "oid bigint, pnpubid bigint, pnnspid bigint",
    "pg_inherits": "inhrelid bigint, inhparent bigint, inhseqno integer, inhdetachpending boolean",
    "pg_trigger": "oid bigint, tgrelid bigint, tgparentid bigint, tgname varchar, tgfoid bigint, "
    "tgenabled varchar, tgisinternal boolean",
    "pg_rewrite": "oid bigint, rulename varchar, ev_class bigint, ev_type varchar, is_instead boolean",
    "pg_foreign_table": "ftrelid bigint, ftserver bigint, ftoptions varchar[]",
    "pg_auth_members": "oid bigint, roleid bigint, member bigint, grantor bigint, admin_option boolean",
    "pg_collation": "oid bigint, collname varchar, collnamespace bigint, collowner bigint, "
    "collprovider varchar, collencoding integer, collcollate varchar, collctype varchar",
    "pg_sequence": "seqrelid bigint, seqtypid bigint, seqstart bigint, seqincrement bigint, seqmax bigint, "
    "seqmin bigint, seqcache bigint, seqcycle boolean",
    "pg_index": "indexrelid bigint, indrelid bigint, indnatts smallint, indnkeyatts smallint, "
    "indisunique boolean, indnullsnotdistinct boolean, indisprimary boolean, indisexclusion boolean, "
    "indimmediate boolean, indisclustered boolean, indisvalid boolean, indisready boolean, "
    "indislive boolean, indisreplident boolean, indkey smallint[], indcollation bigint[], indclass bigint[], "
    "indoption smallint[], indexprs varchar, indpred varchar",
    "pg_opclass": "oid bigint, opcmethod bigint, opcname varchar, opcnamespace bigint, opcowner bigint, "
    "opcfamily bigint, opcintype bigint, opcdefault boolean, opckeytype bigint",
    "pg_stat_user_tables": "relid bigint, schemaname varchar, relname varchar, n_live_tup bigint",
    "pg_matviews": "schemaname varchar, matviewname varchar, matviewowner varchar, definition varchar",
    "pg_partitioned_table": "partrelid bigint, partstrat varchar, partnatts integer",
    "pg_shdescription": "objoid bigint, classoid bigint, description varchar",
}
"""Relations psql's ``\\d+`` reads that have no rows here (no policies, statistics, publications…)."""
_PG_TYPE_COLUMNS = (
    "oid bigint, typname varchar, typnamespace bigint, typowner bigint, typlen smallint, typbyval boolean, "
    "typtype varchar, typcategory varchar, typispreferred boolean, typisdefined boolean, typdelim varchar, "
    "typrelid bigint, typsubscript varchar, typelem bigint, typarray bigint, typinput varchar, "
    "typoutput varchar, typreceive varchar, typsend varchar, typmodin varchar, typmodout varchar, "
    "typanalyze varchar, typalign varchar, typstorage varchar, typnotnull boolean, typbasetype bigint, "
    "typtypmod integer, typndims integer, typcollation bigint, typdefaultbin varchar, typdefault varchar, "
    "typacl varchar[]"
)
"""PostgreSQL's ``pg_type`` columns. DuckDB's own leaves most of them NULL (``typtypmod``, ``typbasetype``,
``typelem``…) where PostgreSQL never does: psqlODBC's ``SQLColumns`` reads ``typtypmod`` into a bound
integer without a NULL indicator and fails on a NULL."""
# name ► (category, by value, alignment, storage, input/output function prefix, preferred)
_TYPE_TRAITS = {
    "bool": ("B", True, "c", "p", "bool", True),
    "bytea": ("U", False, "i", "x", "bytea", False),
    "int8": ("N", True, "d", "p", "int8", False),
    "int2": ("N", True, "s", "p", "int2", False),
    "int4": ("N", True, "i", "p", "int4", False),
    "text": ("S", False, "i", "x", "text", True),
    "json": ("U", False, "i", "x", "json_", False),
    "float4": ("N", True, "i", "p", "float4", False),
    "float8": ("N", True, "d", "p", "float8", True),
    "varchar": ("S", False, "i", "x", "varchar", False),
    "date": ("D", True, "i", "p", "date_", False),
    "time": ("D", True, "d", "p", "time_", False),
    "timestamp": ("D", True, "d", "p", "timestamp_", False),
    "timestamptz": ("D", True, "d", "p", "timestamptz_", True),
    "interval": ("T", False, "d", "p", "interval_", True),
    "numeric": ("N", False, "i", "m", "numeric_", False),
    "uuid": ("U", False, "c", "p", "uuid_", False),
    "unknown": ("X", False, "c", "p", "unknown", False),
}


def pg_type_rows(namespace: int) -> list[tuple[object, ...]]:
    """``pg_type`` as PostgreSQL 15 has it for every type the server sends (arrays included)."""
    from quanta.interfaces.pgwire import types as t

    rows: list[tuple[object, ...]] = []
    for kind in [*t.BY_OID.values(), t.UNKNOWN]:
        element = t.BY_OID[kind.array_of] if kind.array_of is not None else None
        traits = _TYPE_TRAITS[(element or kind).name]
        category, by_value, align, storage, prefix, preferred = traits
        if element is not None:
            category, by_value, storage, prefix, preferred = "A", False, "x", "array_", False
        functions = tuple(f"{prefix}{end}" for end in ("in", "out", "recv", "send"))
        collation = 100 if (element or kind).name in ("text", "varchar") else 0
        rows.append((
            kind.oid, kind.name, namespace, 10, kind.size, by_value, "p" if kind is t.UNKNOWN else "b",
            category, preferred, True, ",", 0, "array_subscript_handler" if element else "-",
            element.oid if element else 0, t.ARRAYS.get(kind.oid, 0), *functions, "-", "-", "-",
            align, storage, False, 0, -1, 0, collation, None, None, None,
        ))  # fmt: skip
    return rows


_INFORMATION_SCHEMA = {"schemata", "tables", "columns", "views"}
_MACROS = {
    "format_type": f"(oid, typmod) as case oid {_WHEN_TYPES} else pg_catalog.format_type(oid, typmod) end",
    "col_description": """(relid, num) as (select description from memory.main.pg_description
        where objoid = relid and objsubid = num)""",
    "pg_get_statisticsobjdef_columns": "(id) as ''",
    "pg_relation_is_publishable": "(id) as false",
    "to_regtype": "(name) as (select oid from pg_catalog.pg_type where typname = name)",
    "to_regclass": "(name) as (select oid from memory.main.pg_class where relname = name)",
    "pg_get_serial_sequence": "(relation, column_name) as null::bigint",
    "array_upper": "(items, dimension) as len(items)",
    "array_lower": "(items, dimension) as case when len(items) > 0 then 1 end",
    "pg_table_size": "(id) as 0",
    "pg_total_relation_size": "(id) as 0",
    "pg_relation_size": "(id, fork := 'main') as 0",
    "pg_database_size": "(id) as 0",
    "pg_get_expr": "(expression, relation, pretty := false) as null::varchar",
    "pg_get_partkeydef": "(relation) as null::varchar",  # no product is partitioned
    "pg_stat_get_numscans": "(relation) as 0::bigint",
    "pg_get_keywords": """() as table select keyword_name as word,
        upper(keyword_category[1]) as catcode, true as barelabel,
        replace(keyword_category, '_', ' ') as catdesc, 'can be bare label' as baredesc
        from duckdb_keywords()""",  # the engine's parser is PostgreSQL's: its words, its categories
    "obj_description": """(relid, kind := 'pg_class') as (select description from memory.main.pg_description
        where objoid = relid and objsubid = 0)""",
}
"""PostgreSQL functions whose DuckDB versions answer otherwise (``int4`` for ``integer``, no comments)."""


_KEYWORD_ALIAS = re.compile(r"\bAS\s+(SELECT|INSERT|UPDATE|DELETE)\b(?=\s*(?:,|\)|$|FROM\b))", re.I | re.M)


def parse_catalog(sql: str) -> exp.Expr | None:
    """A catalog question parsed as PostgreSQL; columns aliased as a keyword (Metabase's ``... as select``,
    which sqlglot does not take) quoted first. None when it does not parse."""
    import sqlglot

    for text in (sql, _KEYWORD_ALIAS.sub(lambda m: f'AS "{m[1]}"', sql)):
        try:
            return sqlglot.parse_one(text, read="postgres")
        except sqlglot.errors.SqlglotError:
            continue
    return None


def catalog_sql(sql: str, principal: str) -> str:
    """PostgreSQL's SQL for DuckDB's catalog: ``current_user`` is the principal (DuckDB would say
    'duckdb') and unnamed columns are named as PostgreSQL names them (``count``, not ``count_star()``)."""
    from sqlglot import exp

    tree = parse_catalog(sql)
    if tree is None:
        return sql  # DuckDB gives the positioned error
    users = (exp.CurrentUser, exp.SessionUser) if hasattr(exp, "SessionUser") else (exp.CurrentUser,)
    if isinstance(tree, exp.Select):
        for i, projection in enumerate(tree.expressions):
            if isinstance(projection, users):  # named as PostgreSQL names it: current_user, session_user
                name = "current_user" if isinstance(projection, exp.CurrentUser) else "session_user"
                tree.expressions[i] = exp.alias_(exp.Literal.string(principal), name)
                continue
            function = projection  # pg_catalog.f(...) is named f, as f(...) is
            if isinstance(projection, exp.Dot) and isinstance(projection.expression, exp.Func):
                function = projection.expression
            if isinstance(function, exp.Func) and not isinstance(projection, exp.Alias):
                name = function.name if isinstance(function, exp.Anonymous) else function.sql_name()
                tree.expressions[i] = exp.alias_(projection, PG_NAMES.get(name.lower(), name.lower()))
    tree = tree.transform(lambda n: exp.Literal.string(principal) if isinstance(n, users) else n)
    # until nothing changes: a replaced node's children are not visited again in the same pass
    before, after = "", tree.sql(dialect="duckdb")
    for _ in range(8):
        if after == before:
            break
        tree = tree.transform(_duckdb_catalog_node)
        before, after = after, tree.sql(dialect="duckdb")
    return after


def _duckdb_catalog_node(node: exp.Expr) -> exp.Expr:
    """psql's and drivers' PostgreSQL-only syntax in DuckDB's terms: ``pg_catalog.f(...)`` calls,
    ``COLLATE pg_catalog.default`` and ``OPERATOR(pg_catalog.~)``."""
    from sqlglot import exp

    if isinstance(node, exp.Table):
        return _own_relation(node)
    if isinstance(node, exp.Column) and node.db.lower() in CATALOG_SCHEMAS:
        return exp.column(node.name, node.table, quoted=node.this.quoted)  # its table is named so
    if isinstance(node, exp.Anonymous | exp.CurrentSchema | exp.CurrentSchemas):
        return _duckdb_function(node)
    qualified = isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier)
    if qualified and isinstance(node.expression, exp.Func) and node.this.name.lower() == "pg_catalog":
        return node.expression
    if isinstance(node, exp.Collate):
        return node.this
    target = (
        node.to.sql(dialect="postgres").lower().removeprefix("pg_catalog.")
        if isinstance(node, exp.Cast)
        else ""
    )
    if target == "name":  # PostgreSQL's identifier type
        return exp.Cast(this=node.this, to=exp.DataType.build("varchar"))
    if target == "regclass" and isinstance(node.this, exp.Literal) and node.this.is_string:
        return _relation_oid(node.this.name)
    if target.endswith("[]") and isinstance(node.this, exp.Literal) and node.this.name.startswith("{"):
        return exp.Cast(this=_array_literal(node.this.name), to=node.args["to"])  # '{a,b}'::text[]
    if target.startswith(("regclass", "regtype", "regproc", "regnamespace", "regrole", "oid")):
        return node.this  # DuckDB's catalog has oids, but no reg* types: compare them as they are
    if isinstance(node, exp.Cast) and node.to.sql(dialect="postgres").lower().startswith("pg_catalog."):
        return exp.Cast(this=node.this, to=exp.DataType.build(target, dialect="postgres"))
    if isinstance(node, exp.Operator):
        operator = str(node.args.get("operator", "")).rpartition(".")[2]
        left, right = node.this, node.expression
        built = {
            "~": lambda: exp.RegexpLike(this=left, expression=right),
            "!~": lambda: exp.Not(this=exp.RegexpLike(this=left, expression=right)),
            "~*": lambda: exp.RegexpILike(this=left, expression=right),
            "~~": lambda: exp.Like(this=left, expression=right),
            "=": lambda: exp.EQ(this=left, expression=right),
            "<>": lambda: exp.NEQ(this=left, expression=right),
        }.get(operator)
        if built is not None:
            return built()
    return node


def _duckdb_function(node: exp.Func) -> exp.Expr:
    """PostgreSQL's functions whose DuckDB namesakes answer otherwise, or that DuckDB lacks."""
    from sqlglot import exp

    if isinstance(node, exp.CurrentSchema):  # the engine would say 'main'; PostgreSQL says NULL when no
        return exp.cast(exp.null(), "varchar")  # schema of the search path ("$user", public) exists
    if isinstance(node, exp.CurrentSchemas):
        implicit = node.this is not None and node.this.sql().lower() == "true"
        names = [exp.Literal.string("pg_catalog")] if implicit else []
        return exp.cast(exp.Array(expressions=names), "varchar[]")
    name = node.name.lower()
    if name == "json_build_object":
        return exp.Anonymous(this="json_object", expressions=node.expressions)
    if name in _MACROS or name in PRIVILEGE_FUNCTIONS:
        return exp.Anonymous(this=f"memory.main.{name}", expressions=node.expressions)
    if name == "current_setting" and node.expressions:
        wanted = exp.EQ(this=exp.column("name"), expression=node.expressions[0])
        return exp.select("setting").from_("memory.main.pg_settings").where(wanted).subquery()
    return node


_ELEMENT = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*?))\s*(?:,|$)')


def _array_literal(text: str) -> exp.Expr:
    """PostgreSQL's one-dimensional array text (``{a,"b c",NULL}``) as an array of its elements."""
    from sqlglot import exp

    inner = text.strip()[1:-1]
    elements: list[exp.Expr] = []
    for match in _ELEMENT.finditer(inner) if inner.strip() else ():
        quoted, bare = match.group(1), match.group(2)
        if quoted is not None:
            elements.append(exp.Literal.string(re.sub(r"\\(.)", r"\1", quoted)))
        else:
            elements.append(exp.null() if bare.upper() == "NULL" else exp.Literal.string(bare))
        if match.end() >= len(inner):
            break
    return exp.Array(expressions=elements)


def build_catalog(mesh: Mesh, principal: str) -> duckdb.DuckDBPyConnection:
    """Empty tables named and typed like the products ``principal`` may read, with their descriptions."""
    import duckdb

    connection = duckdb.connect(":memory:")
    connection.execute("attach ':memory:' as quanta")  # the products; memory.main holds the views
    connection.execute("use quanta")
    tables = mesh.readable_tables(principal, "duckdb")
    for table in tables:
        connection.execute(f'create schema if not exists "{table.schema}"')
        for statement in table.statements:
            connection.execute(statement)
    connection.execute(f"create or replace macro version() as 'PostgreSQL {SERVER_VERSION}'")
    connection.execute("create table memory.main.pg_settings (name varchar, setting varchar, source varchar)")
    connection.executemany(
        "insert into memory.main.pg_settings values (?, ?, 'default')", list(CATALOG_SETTINGS.items())
    )
    connection.execute(f"create table memory.main.pg_type ({_PG_TYPE_COLUMNS})")
    namespace = connection.execute(
        "select oid from duckdb_schemas() where database_name = 'system' and schema_name = 'pg_catalog'"
    ).fetchone()
    connection.executemany(
        "insert into memory.main.pg_type values (" + ", ".join("?" * _PG_TYPE_COLUMNS.count(",")) + ", ?)",
        pg_type_rows(namespace[0] if namespace else 0),
    )
    for name, body in _VIEWS.items():
        connection.execute(f"create view memory.main.{name} as {body}")
    for name, columns in _EMPTY.items():
        connection.execute(f"create table memory.main.{name} ({columns})")
    for name, body in _MACROS.items():
        connection.execute(f"create macro memory.main.{name}{body}")
    Privileges.of(principal, tables, connection).register(connection)
    # Functions psql and JDBC call that DuckDB's pg_catalog lacks
    connection.execute("create or replace macro pg_get_userbyid(id) as 'quanta'")
    connection.execute("create or replace macro pg_encoding_to_char(id) as 'UTF8'")
    connection.execute("create or replace macro pg_get_indexdef(a, b := 0, c := false) as ''")
    # Only metadata lives here, and this connection must never become a way around governance:
    # no files, no extensions, small and fixed resources.
    connection.execute("set enable_external_access = false")
    connection.execute("set memory_limit = '256MB'")
    connection.execute("set threads = 1")
    connection.execute("set lock_configuration = true")
    return connection


def _relation_oid(name: str) -> exp.Expr:
    """``'sales.orders'::regclass`` as the oid of that relation (``pg_class`` is 1259, as in PostgreSQL,
    the class of every description)."""
    import sqlglot

    if name.lower().removeprefix("pg_catalog.") == "pg_class":
        return sqlglot.exp.Literal.number(1259)
    schema, _, relation = name.rpartition(".")
    found = sqlglot.exp.select("c.oid").from_("memory.main.pg_class as c")
    found = found.join("memory.main.pg_namespace as n", on="n.oid = c.relnamespace")
    found = found.where(sqlglot.exp.column("relname", "c").eq(relation.strip('"')))
    if schema:
        found = found.where(sqlglot.exp.column("nspname", "n").eq(schema.strip('"')))
    return found.limit(1).subquery()


def _ours(name: str) -> bool:
    return name in _VIEWS or name in _EMPTY or name in ("pg_settings", "pg_type")


def _own_relation(table: exp.Table) -> exp.Expr:
    """``pg_class``, ``pg_catalog.pg_class``, ``information_schema.tables``… as the views that answer
    them (the engine's own would list its schemas, or its settings with the server's folders)."""
    from sqlglot import exp

    schema, name = table.db.lower(), table.name.lower()
    if schema == "pg_catalog" and isinstance(table.this, exp.Func):  # pg_catalog.unnest(...)
        return exp.Table(this=table.this, alias=table.args.get("alias"))
    if schema in CATALOG_SCHEMAS and not table.alias and not _ours(name):
        named = table.copy()  # ``pg_catalog.pg_type.oid`` becomes ``pg_type.oid``: name the table so
        named.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        return named
    if table.catalog or not _ours(name) or (schema == "information_schema") != (name in _INFORMATION_SCHEMA):
        return table
    if schema not in ("", "pg_catalog", "information_schema"):
        return table
    ours_now = table.copy()  # keeps joins nested under it: ``(pg_class c join pg_namespace n ...)``
    ours_now.set("db", exp.to_identifier("main"))
    ours_now.set("catalog", exp.to_identifier("memory"))
    if not table.alias:
        ours_now.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
    return ours_now
