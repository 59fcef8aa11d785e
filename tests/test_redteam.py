"""Red team: escape attempts through the governed query service, each denied or answered masked, the
same on every interface: the corpus runs in process, through the REST API (a server-mode app with
each user's own API token), the PostgreSQL wire protocol server (psycopg) and the Arrow Flight SQL
server (ADBC).

On the demo mesh with its governance.yaml: ana (analyst, internal clearance, region EUROPE) holds a
column-scoped grant on customers.customers (customer_id, name, phone, market_segment: name is hashed,
phone shows its last 4 digits); carl has no grant; acme is a partner whose space holds only
finance.revenue_by_nation; gina is a governance steward cleared for everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from quanta.governance.model import GovernanceError
from quanta.mesh import Mesh
from quanta.query.products import QueryError
from tests.conftest import mesh_as, run_cli
from tests.test_pgwire import serving

Query = Callable[[str, str], pa.Table]
"""(user, sql) ► the governed answer, through one interface; a refusal raises."""

PHONE = "25-989-741-2988"  # customer 1's phone in TPC-H
NAME = "Customer#000000001"


@pytest.fixture(scope="module")
def root(granted_demo: Path) -> Path:
    return granted_demo


@pytest.fixture(scope="module")
def flight_port(root: Path) -> Iterator[int]:
    """``quanta flight`` in local mode: loopback clients are trusted as the user they name."""
    pytest.importorskip("adbc_driver_flightsql")
    yield from serving(root, command=("flight",))


@pytest.fixture(scope="module")
def pg_port(root: Path) -> Iterator[int]:
    """``quanta pgwire`` in local mode: loopback clients are trusted as the user they name."""
    yield from serving(root)


@pytest.fixture(scope="module")
def rest(root: Path) -> Iterator[Query]:
    """The REST API in server mode: each user calls with an API token of their own (read scope)."""
    from fastapi.testclient import TestClient

    from quanta.interfaces.api import create_app

    admin = Mesh.open(root)
    tokens = {
        user: admin.create_token(f"redteam-{user}", scopes=["read"], principal_id=user)[0]
        for user in ("ana", "carl", "sam", "acme", "gina")
    }
    client = TestClient(create_app(Mesh.open(root), server_mode=True), raise_server_exceptions=False)

    def query(user: str, sql: str) -> pa.Table:
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        answer = client.post("/api/v1/query", json={"sql": sql, "format": "arrow"}, headers=headers)
        if answer.status_code >= 400:
            raise RouteRefusal(str(answer.json().get("detail")))
        return pa.ipc.open_stream(answer.content).read_all()

    yield query


class RouteRefusal(Exception):
    """A refusal as a remote client sees it (an HTTP problem, a PostgreSQL ErrorResponse)."""


def _over_pgwire(port: int) -> Query:
    import psycopg

    def query(user: str, sql: str) -> pa.Table:
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user=user, dbname="quanta") as conn:
                cursor = conn.execute(sql)
                names = [c.name for c in cursor.description or []]
                return pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
        except psycopg.Error as exc:
            raise RouteRefusal(str(exc)) from None

    return query


def _in_process(root: Path) -> Query:
    return lambda user, sql: mesh_as(root, user).query(sql)


def _over_flight(port: int) -> Query:
    import adbc_driver_flightsql.dbapi as flight

    def query(user: str, sql: str) -> pa.Table:
        kwargs = {"username": user, "password": "local"}
        uri = f"grpc://127.0.0.1:{port}"
        with flight.connect(uri, db_kwargs=kwargs, autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetch_arrow_table()

    return query


@pytest.fixture(params=["in-process", "rest", "pgwire", "flight"])
def route(request: pytest.FixtureRequest, root: Path) -> Query:
    """The same corpus through each interface, with the same expectations."""
    if request.param == "flight":
        return _over_flight(request.getfixturevalue("flight_port"))
    if request.param == "pgwire":
        return _over_pgwire(request.getfixturevalue("pg_port"))
    if request.param == "rest":
        rest: Query = request.getfixturevalue("rest")
        return rest
    return _in_process(root)


def refused(query: Query, user: str, sql: str) -> str:
    """The refusal's message (an in-process error, or the Flight client's error)."""
    import adbc_driver_manager

    with pytest.raises((QueryError, GovernanceError, adbc_driver_manager.Error, RouteRefusal)) as info:
        query(user, sql)
    error = info.value
    return error.message if isinstance(error, QueryError | GovernanceError) else str(error)


def denied(root: Path, user: str, sql: str) -> str:
    return refused(_in_process(root), user, sql)


FILE_READERS = [
    "select * from read_csv('/etc/passwd')",
    "select * from read_csv_auto('/etc/passwd')",
    "select * from read_parquet('/tmp/x.parquet')",
    "select * from read_json('/etc/hostname')",
    "select * from read_json_auto('/etc/hostname')",
    "select * from read_ndjson('/etc/hostname')",
    "select * from read_text('/etc/passwd')",
    "select * from read_blob('/etc/passwd')",
    "select * from glob('/*')",
    "select * from parquet_metadata('/tmp/x.parquet')",
    "select * from parquet_schema('/tmp/x.parquet')",
    "select * from sniff_csv('/etc/passwd')",
    "select * from query('select 42')",
    "select * from query_table('customers')",
    "select * from 'data/drops/orders/orders.csv'",
    "select * from '/etc/passwd'",
    "select count(*) from finance.revenue_by_nation, read_csv('/etc/passwd')",
    "select (select count(*) from read_text('/etc/passwd'))",
    "with x as (select * from read_csv('/etc/passwd')) select * from x",
    "select * from finance.revenue_by_nation union all select * from read_csv('/etc/passwd')",
]
STATEMENTS = [
    "copy (select 1) to '/tmp/out.csv'",
    "copy (select * from finance.revenue_by_nation) to '/tmp/out.parquet'",
    "attach '/tmp/other.db' as other",
    "detach other",
    "install httpfs",
    "load httpfs",
    "pragma database_list",
    "set enable_external_access = true",
    "reset lock_configuration",
    "call pragma_version()",
    "export database '/tmp/dump'",
    "create table t as select 1",
    "create macro leak() as 1",
    "create view v as select 1",
    "insert into finance.revenue_by_nation values (1)",
    "delete from finance.revenue_by_nation",
    "update finance.revenue_by_nation set revenue = 0",
    "drop table finance.revenue_by_nation",
    "select 1; select 2",
    "describe finance.revenue_by_nation",
    "summarize finance.revenue_by_nation",
    "show tables",
    "explain select 1",
    "use memory",
    "checkpoint",
    "vacuum",
]
CATALOG = [
    "select * from information_schema.tables",
    "select * from information_schema.columns",
    "select * from duckdb_tables()",
    "select * from duckdb_columns()",
    "select * from duckdb_views()",
    "select * from duckdb_settings()",
    "select * from duckdb_extensions()",
    "select * from duckdb_secrets()",
    "select * from pragma_table_info('x')",
    "select * from pragma_database_size()",
    "select current_setting('allowed_directories')",
    "select * from pg_catalog.pg_tables",
    "select * from main.x",
    "select version()",
    "select current_database()",
    "select * from system.main.x",
    "select has_table_privilege('sales.orders', 'select')",
    "select customer_id from customers.customers where has_column_privilege('sales.orders', 'x', 'select')",
]


# A PostgreSQL client must be able to ask the catalog (BI tools and drivers do): over the wire these
# answer from ana's own catalog, which lists only what she may read and never a server path.
WIRE_CATALOG = {
    "select * from information_schema.tables",
    "select * from information_schema.columns",
    "select * from pg_catalog.pg_tables",
    "select version()",
    "select current_database()",
    "select current_setting('allowed_directories')",
    "select 1; select 2",
    "select has_table_privilege('sales.orders', 'select')",  # false: from ana's own catalog
}


@pytest.mark.parametrize("sql", FILE_READERS + STATEMENTS + CATALOG)
def test_escape_attempts_are_refused(request: pytest.FixtureRequest, route: Query, sql: str) -> None:
    if request.node.callspec.params["route"] == "pgwire" and sql in WIRE_CATALOG:
        answer = str(route("ana", sql).to_pylist())
        assert "/" not in answer and ".tmp" not in answer and ".quanta" not in answer
        assert "sales" not in answer and "lineitem" not in answer  # products ana may not read
        return
    message = refused(route, "ana", sql)
    assert "root:" not in message and ".quanta" not in message  # no file content, no storage paths


UNAUTHORIZED = [
    ("ana", "select * from sales.orders"),  # source-aligned: sales domain only
    ("ana", "select * from finance.revenue_by_nation join sales.orders on true"),
    ("ana", "select * from finance.revenue_by_nation where exists (select 1 from sales.orders)"),
    ("ana", "with o as (select * from sales.orders) select count(*) from o"),
    ("ana", "select nation from finance.revenue_by_nation union select status from sales.orders"),
    ("ana", 'select * from "sales.orders@1.0.0"'),
    ("ana", "select address from customers.customers"),  # outside her column-scoped grant
    ("ana", "select account_balance from customers.customers"),
    ("carl", "select * from customers.customers"),  # no grant
    ("sam", "select * from customers.customers"),  # other domain
    ("acme", "select * from customers.customers"),
    ("acme", "select * from marketing.customer_segments"),  # organisation-wide, but acme is a partner
    ("acme", "select * from finance.revenue_by_nation join marketing.customer_segments on true"),
    ("ana", "select * from nope.nothing"),
    ("ana", "select * from customers"),
]


@pytest.mark.parametrize(("user", "sql"), UNAUTHORIZED)
def test_unauthorized_reads_are_refused(route: Query, user: str, sql: str) -> None:
    refused(route, user, sql)


# Every way to get at customer 1's name and phone as ana: the clear values never come back.
MASK_BYPASSES = [
    "select name, phone from customers.customers where customer_id = 1",
    "select * from customers.customers where customer_id = 1",
    "select c.* from customers.customers c where c.customer_id = 1",
    "with c as (select * from customers.customers) select name, phone from c where customer_id = 1",
    "select * from (select name, phone, customer_id from customers.customers) where customer_id = 1",
    "select name from customers.customers where customer_id = 1 union select phone from customers.customers",
    "select upper(name), lower(phone) from customers.customers where customer_id = 1",
    "select cast(phone as varchar) || '', substr(name, 1, 30) from customers.customers where customer_id = 1",
    "select string_agg(phone, ','), string_agg(name, ',') from customers.customers",
    "select list(phone), list(name) from customers.customers",
    "select min(phone), max(phone), min(name), max(name) from customers.customers",
    "select to_json(c) from customers.customers c where customer_id = 1",
    "select first_value(phone) over (order by customer_id) from customers.customers",
    "select phone from customers.customers group by phone order by phone limit 5",
    "select regexp_extract(phone, '[0-9-]+') from customers.customers where customer_id = 1",
    'select name, phone from "customers.customers@1.0.0" where customer_id = 1',
    "select columns('.*') from customers.customers where customer_id = 1",
    "select * from customers.customers, lateral (select phone as p) where customer_id = 1",
]


@pytest.mark.parametrize("sql", MASK_BYPASSES)
def test_masks_hold_on_every_route(route: Query, sql: str) -> None:
    table = route("ana", sql)
    text = str(table.to_pylist())
    assert PHONE not in text and "989-741" not in text and NAME not in text
    assert table.num_rows > 0


def test_filtering_on_a_masked_column_finds_nothing_clear(root: Path) -> None:
    ana = mesh_as(root, "ana")
    assert (
        ana.query(f"select count(*) from customers.customers where phone = '{PHONE}'").column(0)[0].as_py()
        == 0
    )
    assert (
        ana.query("select count(*) from customers.customers where phone like '25-%'").column(0)[0].as_py()
        == 0
    )
    admin = Mesh.open(root)
    assert (
        admin.query(f"select count(*) from customers.customers where phone = '{PHONE}'").column(0)[0].as_py()
        == 1
    )


def test_error_messages_show_masked_values_only(root: Path) -> None:
    message = denied(
        root, "ana", "select cast(phone as integer) from customers.customers where customer_id = 1"
    )
    assert "****" in message and "2988" in message and PHONE not in message
    message = denied(root, "ana", "select cast(name as integer) from customers.customers")
    assert NAME not in message
    message = denied(root, "ana", "select * from read_parquet('x')")
    assert ".quanta" not in message


@pytest.mark.parametrize(
    "sql",
    [
        "select * from finance.revenue_by_nation",
        "select * from finance.revenue_by_nation where region <> 'EUROPE'",
        "select * from finance.revenue_by_nation where region <> 'EUROPE' or true",
        "select * from finance.revenue_by_nation union all select * from finance.revenue_by_nation",
        "with r as (select * from finance.revenue_by_nation) select * from r",
    ],
)
def test_row_filters_hold(root: Path, route: Query, sql: str) -> None:
    regions = {r["region"] for r in route("ana", sql).to_pylist()}
    assert regions <= {"EUROPE"}
    assert {r["region"] for r in Mesh.open(root).query(sql).to_pylist()} != {"EUROPE"} or "<>" in sql


def test_partner_sees_only_the_shared_product_and_fails_closed_without_a_region(root: Path) -> None:
    acme = mesh_as(root, "acme")
    assert acme.query("select count(*) from finance.revenue_by_nation").column(0)[0].as_py() == 0
    with pytest.raises(QueryError):
        acme.query("select * from finance.revenue_by_nation", as_principal="gina")
    with pytest.raises(Exception, match="may not read the audit log"):
        acme.audit_log()


def test_impersonation_is_for_admins_and_is_audited(root: Path) -> None:
    with pytest.raises(QueryError, match="may not query as someone else"):
        mesh_as(root, "ana").query("select 1 as x from finance.revenue_by_nation", as_principal="gina")
    admin = Mesh.open(root)
    as_ana = admin.query("select phone from customers.customers where customer_id = 1", as_principal="ana")
    assert as_ana.column(0)[0].as_py() == "****2988"
    last = admin.audit_log(limit=1)[0]
    assert (last.actor, last.details["as"], last.decision) == ("local-admin", "ana", "allow")
    assert last.details["masked"] == {"phone": "last4"}  # the masks on the columns the query read


def test_unknown_principal_is_a_clear_error(root: Path) -> None:
    result = run_cli("query", "select 1", cwd=root, env={"QUANTA_USER": "mallory"})
    assert result.returncode == 1 and "unknown principal 'mallory'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cli_refuses_and_masks_the_same(root: Path) -> None:
    env = {"QUANTA_USER": "ana"}
    refused = run_cli("query", "select * from read_csv('/etc/passwd')", cwd=root, env=env)
    assert refused.returncode == 1 and "not allowed" in refused.stderr and "root:" not in refused.stdout
    shown = run_cli("query", "select phone from customers.customers limit 1", "--json", cwd=root, env=env)
    assert shown.returncode == 0 and "****" in shown.stdout


def test_the_service_views_cannot_be_named_directly(root: Path) -> None:
    ana = mesh_as(root, "ana")
    ana.query("select count(*) from customers.customers")
    [view] = [v for v in ana._governed.queries._views]  # the view ana's reads go through
    for sql in (f"select * from {view}", f'select * from "{view}"', f"select * from main.{view}"):
        with pytest.raises(QueryError):
            ana.query(sql)
    admin = Mesh.open(root)
    with pytest.raises(QueryError):
        admin.query(f"select * from {view}")
