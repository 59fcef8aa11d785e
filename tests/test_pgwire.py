"""The PostgreSQL wire protocol server driven by real clients: psql (simple query protocol) and psycopg 3
(extended protocol, parameters, binary results, server-side cursors), on the demo mesh with its
governance: masks, denials, read-only refusals and protocol garbage, each answered with the SQLSTATE a
PostgreSQL client expects and the connection still usable.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from quanta.mesh import Mesh
from tests.conftest import mesh_as

psycopg = pytest.importorskip("psycopg")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def root(granted_demo: Path) -> Path:
    return granted_demo


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[int]:
    """``quanta pgwire`` in local mode (loopback clients trusted as the user they name)."""
    yield from serving(root)


@pytest.fixture(scope="module")
def token_server(root: Path) -> Iterator[int]:
    """``quanta pgwire --require-token``: every client signs in with SCRAM-SHA-256, token as password."""
    yield from serving(root, "--require-token")


def serving(root: Path, *options: str, command: tuple[str, ...] = ("pgwire",)) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("QUANTA_DATABASE_URL", None)
    if command[0] == "serve":
        options = (*options, "--pg-port", str(port))
        port_option: tuple[str, ...] = ()
    else:
        port_option = ("--port", str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "quanta.interfaces.cli.main", *command, *port_option, *options],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    listening(port, lambda: process.poll() is None or (process.stdout.read() if process.stdout else "x"))
    yield port
    process.terminate()
    output = process.communicate(timeout=10)[0]
    assert "Traceback" not in output, output


def listening(port: int, alive: Callable[[], object] = lambda: True, seconds: float = 60) -> None:
    """Wait until something listens on ``port`` (``alive()`` answers False or what went wrong when the
    server died)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            state = alive()
            assert state is True, state
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port} after {seconds:.0f} s")


def connect(port: int, user: str = "local-admin") -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=port, user=user, dbname="quanta", autocommit=True)


def psql(
    port: int, *args: str, user: str = "local-admin", password: str | None = None, sslmode: str = "prefer"
) -> subprocess.CompletedProcess[str]:
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed (apt-get install postgresql-client)")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGSSLMODE": sslmode}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-X", "-w", "quanta", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def token_for(root: Path, user: str, scopes: list[str] | None = None) -> str:
    token, _ = Mesh.open(root).create_token(f"pg-{user}", principal_id=user, scopes=scopes)
    return token


# --- psql ---------------------------------------------------------------------------------------------


def test_psql_reads_what_the_governed_service_answers(root: Path, server: int) -> None:
    sql = "select order_id, total_price, order_date from sales.orders order by 1 limit 3"
    done = psql(server, "-A", "-c", sql)
    assert done.returncode == 0, done.stderr
    expected = Mesh.open(root).query(sql).to_pylist()
    assert done.stdout.splitlines()[0] == "order_id|total_price|order_date"
    assert done.stdout.splitlines()[1:4] == [
        f"{r['order_id']}|{r['total_price']}|{r['order_date']}" for r in expected
    ]
    assert done.stdout.splitlines()[4] == "(3 rows)"


def test_columns_are_named_as_postgresql_names_them(server: int) -> None:
    """An unnamed expression over products is named as PostgreSQL names it (psql's header says
    ``count``, not the engine's ``count_star()``), in the simple protocol, in a prepared statement's
    description and through a subquery; aliases, columns and ``*`` keep their names."""
    done = psql(server, "-A", "-c", "select count(*) from sales.orders")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["count", "15000"]
    cases = {
        "select status, count(*), sum(total_price), max(order_date), total_price::integer, 1, "
        "case when status = 'F' then 1 end from sales.orders group by status, total_price limit 1": [
            "status", "count", "sum", "max", "total_price", "?column?", "case"
        ],
        "select count(*) as n, min(order_id) as first from sales.orders": ["n", "first"],
        "select * from (select count(*), avg(total_price) from sales.orders) as q": ["count", "avg"],
        "select count(*) from sales.orders union all select count(*) from sales.orders": ["count"],
        "select * from sales.orders limit 1": [
            "order_id", "customer_id", "status", "total_price", "order_date", "priority", "clerk",
            "ship_priority", "comment",
        ],
    }  # fmt: skip
    with connect(server) as connection:
        for sql, names in cases.items():
            for prepare in (False, True):  # a prepared statement is described before it runs
                cursor = connection.execute(sql, prepare=prepare)
                assert cursor.description is not None
                assert [c.name for c in cursor.description] == names, (sql, prepare)


def test_psql_session_statements_and_read_only_refusals(server: int) -> None:
    done = psql(
        server,
        "-c", "begin", "-c", "set search_path = sales", "-c", "show timezone", "-c", "commit",
        "-c", "insert into sales.orders values (1)",
        "-c", "create table x (a int)",
        "-c", "select 1 as still_here",
    )  # fmt: skip
    assert "BEGIN" in done.stdout and "SET" in done.stdout and "COMMIT" in done.stdout
    assert "UTC" in done.stdout
    assert "cannot execute INSERT in a read-only transaction" in done.stderr
    assert "cannot execute CREATE in a read-only transaction" in done.stderr
    assert "still_here" in done.stdout


def test_psql_meta_commands_list_domains_and_products(server: int) -> None:
    tables = psql(server, "-c", "\\dt")
    assert tables.returncode == 0, tables.stderr
    assert "sales     | orders" in tables.stdout and "(7 rows)" in tables.stdout
    schemas = psql(server, "-c", "\\dn")
    assert all(f" {domain} " in schemas.stdout for domain in ("sales", "finance", "supply"))


def test_psql_lists_only_readable_products(server: int) -> None:
    query = "select table_schema || '.' || table_name from information_schema.tables order by 1"
    admin = psql(server, "-A", "-t", "-c", query)
    carl = psql(server, "-A", "-t", "-c", query, user="carl")
    assert "sales.orders" in admin.stdout.split()
    assert "customers.customers" in admin.stdout.split()
    assert "customers.customers" not in carl.stdout.split()


# --- psycopg ------------------------------------------------------------------------------------------


def test_psycopg_parameters_types_and_binary(server: int) -> None:
    with connect(server) as conn:
        sql = (
            "select order_id, total_price, order_date from sales.orders"
            " where order_id = %s and order_date > %s"
        )
        cur = conn.execute(sql, (1, date(1990, 1, 1)))
        assert [c.type_code for c in cur.description] == [20, 1700, 1082]
        [row] = cur.fetchall()
        assert row[0] == 1 and isinstance(row[1], Decimal) and isinstance(row[2], date)
        assert conn.execute(sql, (1, date(2100, 1, 1))).fetchall() == []
        binary = conn.execute("select count(*) as n, max(order_date) as d from sales.orders", binary=True)
        assert binary.fetchone() == (15000, date(1998, 8, 2))


def test_psycopg_server_side_cursor(server: int) -> None:
    with connect(server) as conn, conn.transaction(), conn.cursor(name="orders") as cur:
        cur.execute("select order_id from sales.orders order by 1")
        assert cur.fetchmany(3) == [(1,), (2,), (3,)]
        assert cur.fetchmany(2) == [(4,), (5,)]


def test_a_bulk_read_is_what_the_governed_service_answers(root: Path, server: int) -> None:
    """Every row of lineitems (batches of 8,192 rows: DataRows built by Arrow), in text and in binary,
    as the governed service answers it in process."""
    sql = "select * from sales.lineitems order by order_id, line_number"
    expected = [tuple(r.values()) for r in Mesh.open(root).governed_query(sql).table.to_pylist()]
    with connect(server) as conn:
        assert conn.execute(sql).fetchall() == expected
        assert conn.execute(sql, binary=True).fetchall() == expected


# 3.6 billion rows: only a server that sends rows as the engine computes them answers this at all.
BILLIONS = "select a.order_id from sales.lineitems a cross join sales.lineitems b"


def test_rows_stream_to_a_server_side_cursor(server: int) -> None:
    started = time.monotonic()
    with connect(server) as conn, conn.transaction(), conn.cursor(name="huge") as cur:
        cur.execute(BILLIONS)
        assert len(cur.fetchmany(100)) == 100 and len(cur.fetchmany(20_000)) == 20_000
    assert time.monotonic() - started < 60  # and closing the cursor stopped the query


def test_fetch_all_sends_rows_as_the_engine_computes_them(server: int) -> None:
    """FETCH ALL over billions of rows: the first rows arrive at once (gathering them all first would
    never answer), and the cursor lives on after FETCH n for the next one."""
    started = time.monotonic()
    with connect(server) as conn:
        conn.execute("declare few cursor for select order_id from sales.orders order by 1")
        assert conn.execute("fetch 2 from few").fetchall() == [(1,), (2,)]
        assert conn.execute("move forward 3 from few").rowcount == 3
        assert conn.execute("fetch next from few").fetchall() == [(6,)]
        assert len(conn.execute("fetch all from few").fetchall()) == 15_000 - 6
        assert conn.execute("fetch all from few").fetchall() == []
        conn.execute(f"declare huge cursor for {BILLIONS}")
        cur = conn.cursor()
        for seen, _row in enumerate(cur.stream("fetch all from huge"), 1):
            if seen == 50_000:
                break
    assert time.monotonic() - started < 60  # and leaving the stream stopped the query


def test_cancel_interrupts_the_engine(server: int) -> None:
    import threading

    with connect(server) as conn:
        threading.Timer(1.5, conn.cancel).start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(
                "select sum(a.quantity * b.quantity) from sales.lineitems a cross join sales.lineitems b"
            )
        assert time.monotonic() - started < 30
        assert conn.execute("select count(*) from sales.orders").fetchone() == (15_000,)


def test_masks_are_applied_and_named_in_notices(server: int) -> None:
    notices: list[str] = []
    with connect(server, "ana") as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        rows = conn.execute(
            "select customer_id, phone from customers.customers order by 1 limit 1"
        ).fetchall()
    assert rows[0][1] != "25-989-741-2988" and str(rows[0][1]).endswith("2988")
    assert any("phone" in n and "masked" in n for n in notices), notices


@pytest.mark.parametrize(
    ("user", "sql", "state"),
    [
        ("carl", "select * from customers.customers", "42501"),
        ("local-admin", "select * from nope.nothing", "42P01"),
        ("local-admin", "select * from read_csv('/etc/passwd')", "42501"),
        ("local-admin", "select * from information_schema.tables, read_text('/etc/passwd')", "42501"),
        ("local-admin", "delete from sales.orders", "25006"),
        ("local-admin", "copy sales.orders from '/tmp/x.csv'", "25006"),
        ("local-admin", "selec 1", "42601"),
        ("local-admin", 'select "order_id from sales.orders', "42601"),
        ("local-admin", "select 'x", "42601"),
    ],
)
def test_errors_carry_sqlstates_and_the_connection_survives(
    server: int, user: str, sql: str, state: str
) -> None:
    with connect(server, user) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == state, info.value
        assert conn.execute("select 1").fetchone() == (1,)


def test_denied_product_gets_the_cli_hint(server: int) -> None:
    with connect(server, "carl") as conn, pytest.raises(psycopg.Error) as info:
        conn.execute("select * from customers.customers")
    assert "quanta access request customers.customers" in (info.value.diag.message_hint or "")


def test_unknown_principal_is_refused(server: int) -> None:
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        connect(server, "mallory")


def test_multiple_statements_in_a_prepared_statement_are_refused(server: int) -> None:
    with connect(server) as conn, pytest.raises(psycopg.Error) as info:
        conn.execute("select 1; delete from sales.orders", prepare=True)
    assert info.value.sqlstate == "42601"


def test_quanta_serve_serves_http_and_the_wire_protocol(root: Path) -> None:
    import httpx

    http_port = free_port()
    served = serving(root, "--port", str(http_port), "--scheduler", "0", command=("serve",))
    pg_port = next(served)
    try:
        with connect(pg_port) as conn:
            assert conn.execute("select count(*) from sales.orders").fetchone() == (15000,)
        deadline = time.monotonic() + 60
        while True:  # uvicorn may still be starting when the wire server already answers
            try:
                answer = httpx.get(f"http://127.0.0.1:{http_port}/api/v1/products", timeout=30)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        assert answer.status_code == 200
    finally:
        next(served, None)


# --- JDBC ---------------------------------------------------------------------------------------------

JDBC_JAR = Path("/usr/share/java/postgresql.jar")
PROBE = Path(__file__).parent / "clients" / "JdbcProbe.java"


def jdbc(port: int, user: str, password: str = "") -> list[str]:
    if shutil.which("java") is None or not JDBC_JAR.exists():
        pytest.skip("Java 17 and Debian's libpostgresql-jdbc-java are needed")
    done = subprocess.run(
        [
            "java",
            "-cp",
            str(JDBC_JAR),
            str(PROBE),
            f"jdbc:postgresql://127.0.0.1:{port}/quanta",
            user,
            password,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_jdbc_metadata_prepared_statements_and_denials(root: Path, server: int) -> None:
    lines = jdbc(server, "local-admin")
    assert lines[0] == "product PostgreSQL 15.0 (Quanta)"
    assert {"table sales.orders", "table finance.revenue_by_nation"} <= set(lines)
    assert "column order_id int8" in lines and "column order_date date" in lines
    rows = [line for line in lines if line.startswith("row ")]
    expected = Mesh.open(root).query("select total_price, order_date from sales.orders where order_id = 1")
    price, day = expected.to_pylist()[0].values()
    assert rows == [f"row {i} 1 {price} {day}" for i in range(6)]  # past the driver's prepareThreshold


def test_jdbc_as_a_principal_without_a_grant(root: Path, token_server: int) -> None:
    lines = jdbc(token_server, "carl", token_for(root, "carl"))
    assert "table customers.customers" not in lines
    assert "denied 42501" in lines


# --- server mode: SCRAM-SHA-256 with API tokens ------------------------------------------------------


def test_scram_sign_in_with_a_token(root: Path, token_server: int) -> None:
    token = token_for(root, "ana")
    done = psql(token_server, "-A", "-t", "-c", "select current_user", user="ana", password=token)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ana"
    with psycopg.connect(
        host="127.0.0.1", port=token_server, user="ana", password=token, dbname="quanta"
    ) as conn:
        sql = "select count(*) from customers.customers"
        assert conn.execute(sql).fetchone() == tuple(mesh_as(root, "ana").query(sql).to_pylist()[0].values())


@pytest.mark.parametrize("case", ["wrong", "other-user", "revoked", "no-read-scope", "no-password"])
def test_scram_refusals(root: Path, token_server: int, case: str) -> None:
    mesh = Mesh.open(root)
    token = token_for(root, "ana")
    user, password, message = "ana", token, "password authentication failed"
    if case == "wrong":
        password = token[:-3] + "xyz"
    elif case == "other-user":
        user = "carl"
    elif case == "revoked":
        mesh.revoke_token(token.split("_")[1])
    elif case == "no-read-scope":
        password, message = token_for(root, "ana", ["request"]), "without read"
    else:
        password, message = None, "no password supplied"
    done = psql(token_server, "-c", "select 1", user=user, password=password)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


# --- garbage on the wire ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x00\x00\x08\x00\x09\x00\x00",  # protocol 9.0
        b"\xff\xff\xff\xff",  # negative length
        b"\x00\x00\x00\x03",  # shorter than its header
        struct.pack("!ii", 100_000, 196608),  # oversized startup
        struct.pack("!ii", 12, 196608) + b"user",  # not NUL-terminated, then nothing
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
def test_garbage_gets_an_error_or_a_clean_close(server: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer == b"" or answer.startswith(b"E"), answer[:100]
    with connect(server) as conn:  # the server is still there
        assert conn.execute("select 1").fetchone() == (1,)
