"""More real clients over the PostgreSQL wire protocol: psql's describe commands (``\\d TABLE``,
``\\d+``, ``\\l``), psqlODBC through pyodbc, SQLAlchemy's PostgreSQL dialect (``inspect()``) and pandas,
each against ``quanta pgwire`` on the granted demo, listing only what the principal may read."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quanta.mesh import Mesh
from tests.test_pgwire import psql, serving


@pytest.fixture(scope="module")
def server(granted_demo: Path) -> Iterator[int]:
    yield from serving(granted_demo)


def test_psql_describes_a_product_with_types_and_comments(server: int) -> None:
    described = psql(server, "-c", "\\d+ sales.orders")
    assert described.returncode == 0, described.stderr
    assert 'Table "sales.orders"' in described.stdout
    lines = {line.split("|")[0].strip(): line for line in described.stdout.splitlines() if "|" in line}
    assert "bigint" in lines["order_id"] and "not null" in lines["order_id"]
    assert "numeric(15,2)" in lines["total_price"]
    assert "Order identifier from the order management system." in lines["order_id"]
    plain = psql(server, "-c", "\\d sales.orders")
    assert plain.returncode == 0 and "order_date" in plain.stdout and "| date" in plain.stdout


@pytest.mark.parametrize("command", ["\\l", "\\l+", "\\dn", "\\dn+", "\\dt", "\\dt+", "\\d", "\\d+", "\\du"])
def test_psql_list_commands_answer(server: int, command: str) -> None:
    done = psql(server, "-c", command)
    assert done.returncode == 0, done.stderr
    assert "main" not in done.stdout.split() and "memory" not in done.stdout  # no engine schemas
    if command.startswith("\\l"):
        assert "quanta" in done.stdout


def test_psql_describes_only_readable_products(server: int) -> None:
    denied = psql(server, "-c", "\\d customers.customers", user="carl")
    assert "Did not find any relation" in denied.stderr + denied.stdout


def test_sqlalchemy_inspection_and_pandas(root_rows: list[dict[str, object]], server: int) -> None:
    pandas = pytest.importorskip("pandas")
    import sqlalchemy

    as_ana = sqlalchemy.create_engine(f"postgresql+psycopg://ana@127.0.0.1:{server}/quanta")
    assert "sales" not in sqlalchemy.inspect(as_ana).get_schema_names()  # ana may not read sales
    as_ana.dispose()
    engine = sqlalchemy.create_engine(f"postgresql+psycopg://local-admin@127.0.0.1:{server}/quanta")
    inspector = sqlalchemy.inspect(engine)
    schemas = inspector.get_schema_names()
    assert {"customers", "sales"} <= set(schemas) and "main" not in schemas
    assert "orders" in inspector.get_table_names("sales")
    columns = {c["name"]: c for c in inspector.get_columns("orders", "sales")}
    assert str(columns["order_id"]["type"]) == "BIGINT" and columns["order_id"]["nullable"] is False
    assert columns["order_id"]["comment"] == "Order identifier from the order management system."
    # What Apache Superset asks through the same inspector when a dataset is added (its
    # db_engine_specs read table metadata: comment, primary key, foreign keys, indexes, views)
    assert inspector.get_table_comment("orders", "sales") == {"text": "One row per order."}
    assert inspector.get_pk_constraint("orders", "sales")["constrained_columns"] == []
    assert inspector.get_foreign_keys("orders", "sales") == []
    assert inspector.get_indexes("orders", "sales") == []
    assert inspector.get_unique_constraints("orders", "sales") == []
    assert inspector.get_view_names("sales") == []
    frame = pandas.read_sql(
        sqlalchemy.text("select order_id, total_price from sales.orders where order_id = :id"),
        engine,
        params={"id": root_rows[0]["order_id"]},
        coerce_float=False,
    )
    assert frame.to_dict("records") == root_rows[:1]
    engine.dispose()


@pytest.fixture(scope="module")
def root_rows(granted_demo: Path) -> list[dict[str, object]]:
    sql = "select order_id, total_price from sales.orders order by 1 limit 1"
    return list(Mesh.open(granted_demo).query(sql).to_pylist())


def test_odbc_dsn_less_connection_parameters_and_tables(
    root_rows: list[dict[str, object]], server: int
) -> None:
    connection = odbc(server)
    cursor = connection.cursor()
    row = cursor.execute(
        "select order_id, total_price from sales.orders where order_id = ?", root_rows[0]["order_id"]
    ).fetchone()
    assert (row[0], row[1]) == tuple(root_rows[0].values())
    tables = {(t.table_schem, t.table_name) for t in cursor.tables(tableType="TABLE")}
    assert ("sales", "orders") in tables and ("customers", "customers") in tables
    assert not {schema for schema, _ in tables} & {"main", "information_schema", "pg_catalog"}
    connection.close()


def odbc(server: int, user: str = "local-admin") -> Any:
    pyodbc = pytest.importorskip("pyodbc")
    if "PostgreSQL Unicode" not in pyodbc.drivers():
        pytest.skip("psqlODBC is not installed (apt-get install odbc-postgresql unixodbc)")
    return pyodbc.connect(
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={server};Database=quanta;Uid={user};Pwd=;",
        timeout=10,
    )


def test_odbc_columns_with_types_sizes_and_nullability(server: int) -> None:
    """``SQLColumns`` (pyodbc ``cursor.columns()``): psqlODBC reads ``pg_type.typtypmod`` into an integer
    bound without a NULL indicator, so the catalog answers it as PostgreSQL does (-1, never NULL)."""
    import pyodbc

    connection = odbc(server)
    cursor = connection.cursor()
    columns = {c.column_name: c for c in cursor.columns(table="orders", schema="sales")}
    assert list(columns)[:5] == ["order_id", "customer_id", "status", "total_price", "order_date"]
    order_id, total, status, day = (columns[n] for n in ("order_id", "total_price", "status", "order_date"))
    assert (order_id.type_name, order_id.data_type, order_id.nullable) == ("int8", pyodbc.SQL_BIGINT, 0)
    assert (total.type_name, total.data_type) == ("numeric", pyodbc.SQL_NUMERIC)
    assert (total.column_size, total.decimal_digits) == (15, 2)  # numeric(15,2)
    assert status.type_name == "varchar" and status.data_type in (pyodbc.SQL_VARCHAR, pyodbc.SQL_WVARCHAR)
    assert (day.type_name, day.data_type) == ("date", pyodbc.SQL_TYPE_DATE)
    assert columns["clerk"].nullable == 1
    assert [c.ordinal_position for c in columns.values()] == list(range(1, len(columns) + 1))
    # one column by name; no schema (current_schema() is NULL, as PostgreSQL's without a public schema)
    only = [c.column_name for c in cursor.columns(table="orders", schema="sales", column="total_price")]
    assert only == ["total_price"]
    assert {c.table_schem for c in cursor.columns(table="orders")} == {"sales"}
    # the other catalog functions answer (empty where Quanta has no keys or indexes)
    assert cursor.primaryKeys("orders", schema="sales").fetchall() == []
    assert cursor.foreignKeys("orders", schema="sales").fetchall() == []
    assert cursor.statistics("orders", schema="sales").fetchall() == []
    assert {t.type_name for t in cursor.getTypeInfo()} >= {"int8", "numeric", "varchar", "date"}
    connection.close()


def test_odbc_columns_only_of_readable_products(server: int) -> None:
    connection = odbc(server, user="carl")
    cursor = connection.cursor()
    assert cursor.columns(table="customers", schema="customers").fetchall() == []
    assert "customers" not in {c.table_schem for c in cursor.columns()}
    connection.close()


# --- TLS ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(granted_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``quanta pgwire --tls-cert --tls-key`` with a self-signed certificate made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(folder / "server.key"), "-out", str(folder / "server.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    yield from serving(
        granted_demo, "--tls-cert", str(folder / "server.pem"), "--tls-key", str(folder / "server.key")
    )


def test_tls_with_psql_and_psycopg(tls_server: int) -> None:
    import psycopg

    done = psql(tls_server, "-A", "-t", "-c", "select count(*) as n from sales.orders", sslmode="require")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 0
    with psycopg.connect(
        host="127.0.0.1", port=tls_server, user="local-admin", dbname="quanta", sslmode="require"
    ) as connection:
        assert connection.pgconn.ssl_in_use
        assert connection.execute("select order_id from sales.orders order by 1 limit 1").fetchone() == (1,)


def test_tls_required_without_a_certificate_fails_cleanly(server: int) -> None:
    import psycopg

    with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
        psycopg.connect(host="127.0.0.1", port=server, user="local-admin", dbname="quanta", sslmode="require")
    done = psql(server, "-c", "select 1", sslmode="require")
    assert done.returncode != 0 and "does not support SSL" in done.stderr
    assert psql(server, "-c", "select 1").returncode == 0  # the server lives on


def test_engine_failures_carry_the_engines_sqlstate(server: int) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server, user="local-admin", dbname="quanta") as connection:
        with pytest.raises(psycopg.errors.InvalidCharacterValueForCast):  # EngineConversionError: 22018
            connection.execute("select cast(status as integer) from sales.orders").fetchall()
        connection.rollback()
        assert connection.execute("select 1").fetchone() == (1,)


METABASE = Path(__file__).parent / "clients" / "metabase_sync.sql"
DBEAVER = Path(__file__).parent / "clients" / "dbeaver_navigator.sql"


def recorded(path: Path) -> list[tuple[str, list[str]]]:
    """A client's recorded statements: blocks separated by lines holding only ``;``, without their
    ``--`` comment lines; each with the names its ``-- binds: a, b`` line gives its parameters."""
    blocks = []
    for block in path.read_text(encoding="utf-8").split("\n;\n"):
        lines = block.splitlines()
        binds = [x.removeprefix("-- binds:") for x in lines if x.startswith("-- binds:")]
        statement = "\n".join(x for x in lines if not x.startswith("--")).strip()
        blocks.append((statement, [name.strip() for x in binds for name in x.split(",")]))
    return blocks


def test_metabase_sync_queries_answer(server: int) -> None:
    """The exact statements Metabase's postgres driver sends to connect and sync (recorded in
    tests/clients/metabase_sync.sql) all answer, listing the readable products with descriptions."""
    import psycopg

    answers = []
    with psycopg.connect(host="127.0.0.1", port=server, user="ana", dbname="quanta", autocommit=True) as conn:
        for statement, _ in recorded(METABASE):
            cursor = conn.execute(statement)
            answers.append(cursor.fetchall() if cursor.description else cursor.statusmessage)
    schemas = {row[0] for row in answers[4]}
    assert "customers" in schemas and "sales" not in schemas and "main" not in schemas
    readable = {(row[1], row[2]) for row in answers[5]}  # what ana may read: no sales products
    assert ("customers", "customers") in readable and not {s for s, _ in readable} & {"sales", "main"}
    privileges = {(row[1], row[2]): row[3:] for row in answers[5]}  # update, select, insert, delete
    assert privileges[("customers", "customers")] == (False, True, False, False)
    assert answers[6] == []  # ana reads nothing in sales


def test_dbeaver_navigator_queries_answer(server: int) -> None:
    """The exact statements DBeaver's PostgreSQL plugin sends to connect, expand its navigator down to a
    table's columns, keys and indexes and view its data (recorded in tests/clients/dbeaver_navigator.sql),
    bound as DBeaver binds them: ana sees her domains, columns with types and descriptions, masked rows."""
    import psycopg

    answers: list[list[dict[str, Any]]] = []
    named: dict[str, dict[str, Any]] = {}  # the last answer listing schemas (or tables) by their name
    with psycopg.connect(host="127.0.0.1", port=server, user="ana", dbname="quanta", autocommit=True) as conn:
        cursor = psycopg.RawCursor(conn)  # DBeaver's "?" reach the server as $1, with a value bound
        for statement, binds in recorded(DBEAVER):
            values = {
                "database": "quanta",
                "setting": "standard_conforming_strings",
                "schema": named["nspname"]["customers"]["oid"] if binds == ["schema"] else None,
                "table": named["relname"]["customers"]["oid"] if binds == ["table"] else None,
            }
            cursor.execute(statement, [values[name] for name in binds])
            names = [column.name for column in cursor.description or []]
            answers.append([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
            for key in ("nspname", "relname"):
                if key in names and "oid" in names:
                    named[key] = {row[key]: row for row in answers[-1]}
    database, defaults, _, setting, keywords, _, enum, reltype, types, enums = answers[:10]
    assert [d["datname"] for d in database] == ["quanta"]
    assert defaults == [{"current_schema": None, "session_user": "ana"}]
    assert setting[0]["setting"] == "on"
    words = set(keywords[0]["string_agg"].split(","))  # never NULL: pgjdbc asserts it is not
    assert {"limit", "offset"} <= words and not {"select", "null"} & words  # SQL:2003's are left out
    assert enum == reltype == enums == []  # the probes answer (no rows): pg_enum and pg_class.reltype exist
    databases, schemas, tables, sizes, columns = answers[10:15]
    assert [d["datname"] for d in databases] == ["quanta"]
    namespaces = {row["nspname"]: row["oid"] for row in schemas}
    assert {"customers", "pg_catalog"} <= set(namespaces) and not {"sales", "main"} & set(namespaces)
    assert {t["typname"] for t in types} >= {"int8", "varchar", "numeric", "date"}
    assert {t["typnamespace"] for t in types} == {namespaces["pg_catalog"]}  # DBeaver finds their schema
    assert {(t["relname"], t["relkind"]) for t in tables} >= {("customers", "r")}
    assert named["relname"]["customers"]["description"] == "One row per customer."
    assert {(s["oid"], s["total_rel_size"]) for s in sizes} == {(t["oid"], 0) for t in tables}
    described = {c["attname"]: (c["atttypid"], c["description"]) for c in columns}
    assert described["customer_id"] == (20, "Customer identifier.")  # int8, as pg_type's rows name it
    assert described["name"] == (1043, "Full name of the customer.")
    # like PostgreSQL's pg_attribute, every column is listed; the data view reads only ana's granted ones
    assert {"customer_id", "name", "phone", "market_segment"} < set(described)
    keys, indexes, roles, data = answers[15:]
    attnums = {c["attname"]: c["attnum"] for c in columns}
    assert [(k["contype"], k["conkey"]) for k in keys] == [("p", [attnums["customer_id"]])]  # no NOT NULL
    assert indexes == [] and [r["rolname"] for r in roles] == ["quanta"]
    assert 0 < len(data) <= 200 and list(data[0]) == ["customer_id", "name", "phone", "market_segment"]
    assert all(len(row["name"]) == 64 and row["phone"].startswith("****") for row in data)  # masked


def test_privilege_functions_answer_what_the_principal_holds(server: int) -> None:
    """``has_table_privilege`` and friends: SELECT (USAGE on a schema, CONNECT on the database) only
    where the principal may read, on the columns of a column-scoped grant only; nothing that writes."""
    import psycopg

    def ask(user: str, sql: str) -> tuple[object, ...]:
        with psycopg.connect(host="127.0.0.1", port=server, user=user, dbname="quanta") as connection:
            row = connection.execute(sql).fetchone()
            assert row is not None
            return tuple(row)

    admin = ask(
        "local-admin",
        "select has_table_privilege('sales.orders', 'select'),"
        " pg_catalog.has_table_privilege(current_user, '\"sales\".\"orders\"', 'SELECT'),"
        " has_table_privilege('sales.orders', 'select with grant option'),"
        " has_table_privilege('sales.orders', 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'),"
        " has_table_privilege('sales.orders', 'insert, select'),"  # any of them
        " has_schema_privilege('sales', 'usage'), has_schema_privilege('sales', 'create'),"
        " has_column_privilege('sales.orders', 'order_id', 'select'),"
        " has_column_privilege('sales.orders', 'order_id', 'update'),"
        " has_any_column_privilege('sales.orders', 'select'),"
        " has_database_privilege('quanta', 'connect'), has_database_privilege('quanta', 'create'),"
        " has_table_privilege('pg_class', 'select'), has_table_privilege('sales.nothing', 'select'),"
        " has_table_privilege('someone-else', 'sales.orders', 'select')",
    )
    assert admin == (
        True,
        True,
        False,
        False,
        True,
        True,
        False,
        True,
        False,
        True,
        True,
        False,
        True,
        False,
        False,
    )
    assert admin[0] is True  # booleans, not 't'
    # ana: no sales at all; customers.customers under a grant of four columns
    ana = ask(
        "ana",
        "select has_table_privilege('sales.orders', 'select'), has_schema_privilege('sales', 'usage'),"
        " has_table_privilege('customers.customers', 'select'),"
        " has_schema_privilege('customers', 'usage'),"
        " has_column_privilege('customers.customers', 'phone', 'select'),"
        " has_column_privilege('customers.customers', 'address', 'select'),"
        " has_table_privilege('customers.customers', 'delete')",
    )
    assert ana == (False, False, True, True, True, False, False)
    # by oid and attnum, as drivers ask
    with psycopg.connect(host="127.0.0.1", port=server, user="ana", dbname="quanta") as connection:
        columns = dict(
            connection.execute(
                "select a.attname, has_column_privilege(c.oid, a.attnum, 'select') from pg_attribute a"
                " join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'customers' and c.relname = 'customers' and a.attnum > 0"
            ).fetchall()
        )
        assert {name for name, held in columns.items() if held} == {
            "customer_id",
            "name",
            "phone",
            "market_segment",
        }
        assert len(columns) > 4
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="unrecognized privilege type"):
            connection.execute("select has_table_privilege('customers.customers', 'frobnicate')")


def test_array_text_is_read_as_postgresql_reads_it(server: int) -> None:
    """``'{a,"b,c",NULL}'::text[]`` (pgjdbc's keyword filter, psql's, drivers'): PostgreSQL's array text."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server, user="ana", dbname="quanta") as connection:
        row = connection.execute("""select '{a,"b,c",NULL, d ,"e\\"f"}'::text[], '{}'::text[]""").fetchone()
    assert row == (["a", "b,c", None, "d", 'e"f'], [])


def test_privilege_names_are_read_as_postgresql_reads_them() -> None:
    from quanta.interfaces.pgwire.privileges import PrivilegeError, _identifiers, _wanted

    assert _identifiers('"Sales".Orders') == ["Sales", "orders"]
    assert _identifiers('quanta."a.b"."say ""hi"""') == ["quanta", "a.b", 'say "hi"']
    assert _identifiers(" sales . orders ") == ["sales", "orders"]
    assert _wanted("SELECT, insert", "table") == {"select"}
    assert _wanted("select WITH GRANT OPTION", "table") == set()
    with pytest.raises(PrivilegeError):
        _wanted("usage", "table")
