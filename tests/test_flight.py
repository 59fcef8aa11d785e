"""The Arrow Flight SQL server driven by real clients: ADBC's Flight SQL driver through its DB-API
(queries, prepared statements with parameters, the catalog calls) and plain ``pyarrow.flight``
(handshake, raw commands, garbage), on the demo mesh with its governance: masks as in process,
denials with the CLI's hint, bad tokens refused, writes refused, and the server still answering.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from quanta.interfaces.flight import flight_sql_pb2 as sql
from quanta.interfaces.flight.commands import pack
from quanta.mesh import Mesh
from tests.conftest import mesh_as
from tests.test_pgwire import serving, token_for

dbapi = pytest.importorskip("adbc_driver_flightsql.dbapi")
adbc = pytest.importorskip("adbc_driver_manager")

PHONE = "25-989-741-2988"  # customer 1's phone in TPC-H: ana sees ****2988
MASKED = "select customer_id, name, phone from customers.customers order by customer_id limit 5"


@pytest.fixture(scope="module")
def root(granted_demo: Path) -> Path:
    return granted_demo


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[int]:
    """``quanta flight`` in local mode (loopback clients trusted as the user they name)."""
    yield from serving(root, command=("flight",))


@pytest.fixture(scope="module")
def token_server(root: Path) -> Iterator[int]:
    """``quanta flight --require-token``: every call carries an API token."""
    yield from serving(root, "--require-token", command=("flight",))


def connect(port: int, user: str | None = None, token: str | None = None, bearer: bool = False) -> object:
    kwargs: dict[str, str] = {}
    if bearer and token:
        kwargs["adbc.flight.sql.authorization_header"] = f"Bearer {token}"
    elif user is not None:
        kwargs.update(username=user, password=token or "local")
    return dbapi.connect(f"grpc://127.0.0.1:{port}", db_kwargs=kwargs, autocommit=True)


def fetch(port: int, query: str, *params: object, **who: str) -> pa.Table:
    with connect(port, **who) as conn, conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(query, params or None)
        return cur.fetch_arrow_table()


# --- ADBC ---------------------------------------------------------------------------------------------


def test_adbc_reads_what_the_governed_service_answers_masks_included(root: Path, token_server: int) -> None:
    token = token_for(root, "ana")
    table = fetch(token_server, MASKED, user="ana", token=token)
    expected = mesh_as(root, "ana").query(MASKED)
    assert table.to_pylist() == expected.to_pylist()
    assert table.schema.names == ["customer_id", "name", "phone"]
    assert table.column("phone")[0].as_py() == "****2988" and PHONE not in str(table.to_pylist())
    # the same token as a bearer header, without a handshake
    assert fetch(token_server, MASKED, token=token, bearer=True).to_pylist() == expected.to_pylist()


def test_a_large_result_streams_in_batches(root: Path, server: int) -> None:
    query = "select * from sales.lineitems"
    with connect(server) as conn, conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(query)
        reader = cur.fetch_record_batch()
        batches = list(reader)
    assert (
        sum(b.num_rows for b in batches)
        == Mesh.open(root).query(f"select count(*) from ({query})")[0][0].as_py()
    )


def test_prepared_statement_with_parameters(root: Path, server: int) -> None:
    query = "select customer_id, phone from customers.customers where customer_id = ?"
    with connect(server, user="ana") as conn, conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(query, (1,))
        assert cur.fetchall() == [(1, "****2988")]
        cur.execute(query, (2,))  # the same statement, other parameters
        assert cur.fetchall()[0][0] == 2
    numbered = fetch(server, "select order_id from sales.orders where order_id between $1 and $2", 1, 3)
    assert (
        numbered.column(0).to_pylist()
        == Mesh.open(root)
        .query("select order_id from sales.orders where order_id between 1 and 3")
        .column(0)
        .to_pylist()
    )
    quoted = fetch(server, "select count(*) as n from customers.customers where name = ?", "x' or '1'='1")
    assert quoted.column("n")[0].as_py() == 0  # a value stays a value


def test_catalog_lists_only_what_the_principal_may_read(root: Path, server: int) -> None:
    readable = {t.product_id for t in Mesh.open(root).readable_tables("ana")}
    with connect(server, user="ana") as conn:
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()  # type: ignore[attr-defined]
        schema = conn.adbc_get_table_schema("customers", db_schema_filter="customers")  # type: ignore[attr-defined]
        types = conn.adbc_get_table_types()  # type: ignore[attr-defined]
        info = conn.adbc_get_info()  # type: ignore[attr-defined]
    [catalog] = objects
    assert catalog["catalog_name"] == "quanta"
    listed = {
        f"{s['db_schema_name']}.{t['table_name']}"
        for s in catalog["catalog_db_schemas"]
        for t in s["db_schema_tables"] or []
    }
    assert listed == readable and "sales.orders" not in listed
    assert (
        schema.names[:3] == ["customer_id", "name", "address"]
        and schema.field("customer_id").type == pa.int64()
    )
    assert types == ["TABLE"]
    assert info["vendor_name"] == "Quanta"
    with connect(server) as conn:  # the admin sees every product
        every = conn.adbc_get_objects(depth="tables").read_all().to_pylist()  # type: ignore[attr-defined]
    assert "orders" in {
        t["table_name"] for s in every[0]["catalog_db_schemas"] for t in s["db_schema_tables"]
    }


def test_denied_product_gives_the_cli_hint(server: int) -> None:
    with pytest.raises(adbc.Error) as info:
        fetch(server, "select * from sales.orders", user="ana")
    message = str(info.value)
    assert "access denied to sales.orders" in message
    assert "quanta access request sales.orders --purpose" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("insert into sales.orders values (1)", "only read-only queries are allowed, not INSERT"),
        ("create table t as select 1", "only read-only queries are allowed"),
        ("copy (select 1) to '/tmp/x.csv'", "only read-only queries are allowed"),
        ("selec 1 from sales.orders", "SQL does not parse"),
        ("select * from nope.nothing", "unknown product 'nope.nothing'"),
        ("select 1; select 2", "run exactly one statement"),
    ],
)
def test_bad_queries_are_refused_clearly(server: int, query: str, expected: str) -> None:
    with pytest.raises(adbc.Error) as info:
        fetch(server, query)
    assert expected in str(info.value) and "Traceback" not in str(info.value)


def test_bad_tokens_are_unauthenticated(root: Path, token_server: int) -> None:
    cases = {
        "qt_nothing_here": "unknown or wrong API token",
        "not-a-token": "not a Quanta API token",
    }
    admin = Mesh.open(root)
    revoked, record = admin.create_token("flight-revoked", principal_id="ana")
    admin.revoke_token(record.id)
    cases[revoked] = "was revoked"
    for token, expected in cases.items():
        with pytest.raises(adbc.Error) as info:
            fetch(token_server, "select 1 as x from finance.revenue_by_nation", token=token, bearer=True)
        assert expected in str(info.value) and "UNAUTHENTICATED" in str(info.value)
    with pytest.raises(adbc.Error, match="this server needs an API token"):
        fetch(token_server, "select 1 as x from finance.revenue_by_nation")
    with pytest.raises(adbc.Error, match="that API token is ana's, not gina's"):
        fetch(token_server, MASKED, user="gina", token=token_for(root, "ana"))


def test_audit_entries_name_the_interface(root: Path, server: int) -> None:
    fetch(server, "select count(*) from finance.revenue_by_nation", user="ana")
    entry = [e for e in Mesh.open(root).audit_log(limit=20) if e.actor == "ana" and e.kind == "query"][-1]
    assert entry.details["interface"] == "flight"
    mesh_as(root, "ana").query("select count(*) from finance.revenue_by_nation")
    entry = [e for e in Mesh.open(root).audit_log(limit=20) if e.actor == "ana" and e.kind == "query"][-1]
    assert entry.details["interface"] == "python"


# --- pyarrow.flight -------------------------------------------------------------------------------------


def test_pyarrow_handshake_then_bearer(root: Path, token_server: int) -> None:
    client = fl.FlightClient(f"grpc://127.0.0.1:{token_server}")
    header = client.authenticate_basic_token("ana", token_for(root, "ana"))
    options = fl.FlightCallOptions(headers=[header])
    assert header[1].startswith(b"Bearer qt_")
    command = sql.CommandStatementQuery(query=MASKED)
    info = client.get_flight_info(fl.FlightDescriptor.for_command(pack(command)), options)
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.to_pylist() == mesh_as(root, "ana").query(MASKED).to_pylist()
    with pytest.raises(fl.FlightUnauthenticatedError, match="unknown or wrong API token"):
        client.authenticate_basic_token("ana", "qt_abc_def")
    primary = sql.CommandGetPrimaryKeys(db_schema="customers", table="customers")
    info = client.get_flight_info(fl.FlightDescriptor.for_command(pack(primary)), options)
    keys = client.do_get(info.endpoints[0].ticket, options).read_all().to_pylist()
    assert [(k["column_name"], k["key_sequence"]) for k in keys] == [("customer_id", 1)]
    client.close()


def test_garbage_and_unknown_commands_are_refused_and_the_server_keeps_serving(server: int) -> None:
    client = fl.FlightClient(f"grpc://127.0.0.1:{server}")
    for command, expected in [
        (b"\xff\x00garbage", "not a Flight SQL command"),
        (b"", "unsupported Flight SQL command"),
        (pack(sql.CommandGetXdbcTypeInfo()), "CommandGetXdbcTypeInfo is not supported"),
        (pack(sql.CommandStatementUpdate(query="delete from sales.orders")), "not supported"),
    ]:
        with pytest.raises(fl.FlightServerError, match=expected) as info:
            client.get_flight_info(fl.FlightDescriptor.for_command(command))
        assert "Traceback" not in str(info.value)
    with pytest.raises(fl.FlightServerError, match="unknown, used or expired ticket"):
        client.do_get(fl.Ticket(pack(sql.TicketStatementQuery(statement_handle=b"nope")))).read_all()
    with pytest.raises(fl.FlightServerError, match="unsupported action"):
        list(client.do_action(fl.Action("BeginTransaction", b"")))
    update = fl.FlightDescriptor.for_command(
        pack(sql.CommandStatementUpdate(query="delete from sales.orders"))
    )
    writer, _ = client.do_put(update, pa.schema([]))
    with pytest.raises(fl.FlightServerError, match="read-only"):
        writer.close()
    basic = base64.b64encode(b"ana:local").decode()
    with pytest.raises(fl.FlightUnauthenticatedError, match="unsupported authorization scheme"):
        client.get_flight_info(
            fl.FlightDescriptor.for_command(pack(sql.CommandGetCatalogs())),
            fl.FlightCallOptions(headers=[(b"authorization", f"Digest {basic}".encode())]),
        )
    command = sql.CommandStatementQuery(query="select count(*) as n from finance.revenue_by_nation")
    info = client.get_flight_info(fl.FlightDescriptor.for_command(pack(command)))
    assert client.do_get(info.endpoints[0].ticket).read_all().column("n")[0].as_py() > 0
    client.close()


def test_quanta_serve_also_serves_flight(root: Path) -> None:

    from tests.test_pgwire import free_port, listening

    port = free_port()
    for _ in serving(root, "--port", str(free_port()), "--flight-port", str(port), command=("serve",)):
        listening(port, seconds=30)  # the wire server listens first, then Flight
        assert fetch(port, "select count(*) as n from finance.revenue_by_nation").column("n")[0].as_py() > 0


def test_tls_when_a_certificate_is_configured(root: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess

    from adbc_driver_flightsql import DatabaseOptions

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    for port in serving(root, "--tls-cert", str(cert), "--tls-key", str(key), command=("flight",)):
        kwargs = {DatabaseOptions.TLS_ROOT_CERTS.value: cert.read_text()}
        with (
            dbapi.connect(f"grpc+tls://localhost:{port}", db_kwargs=kwargs, autocommit=True) as conn,
            conn.cursor() as cur,
        ):
            cur.execute("select count(*) as n from finance.revenue_by_nation")
            assert cur.fetchall()[0][0] > 0


# --- batches --------------------------------------------------------------------------------------------


def test_a_large_result_is_the_governed_answer_in_large_batches(root: Path, server: int) -> None:
    query = "select * from sales.lineitems order by order_id, line_number"
    with connect(server) as conn, conn.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(query)
        batches = list(cur.fetch_record_batch())
    assert pa.Table.from_batches(batches).equals(Mesh.open(root).governed_query(query).table)
    assert max(b.num_rows for b in batches) > 8192  # narrow rows: batches of about 8 MiB asked for


def test_batches_are_sized_by_the_column_types() -> None:
    from types import SimpleNamespace

    from quanta.query.cursor import BATCH_ROWS, MAX_BATCH_ROWS, batch_rows

    def relation(*types: str) -> object:
        return SimpleNamespace(types=[SimpleNamespace(id=t) for t in types])

    assert batch_rows(relation("bigint", "integer"), 8 << 20) == MAX_BATCH_ROWS
    lineitem = ["bigint"] * 3 + ["integer"] + ["decimal"] * 4 + ["varchar"] * 5 + ["date"] * 3
    assert BATCH_ROWS < batch_rows(relation(*lineitem), 8 << 20) < MAX_BATCH_ROWS
    assert batch_rows(relation(*["varchar"] * 1000), 8 << 20) == BATCH_ROWS  # wide rows: never fewer


def test_a_batch_over_the_message_limit_is_sent_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    from quanta.interfaces.flight import server as flight_server

    class Stream:
        closed = False

        def __iter__(self) -> Iterator[pa.RecordBatch]:
            yield pa.RecordBatch.from_pydict({"text": ["x" * 100] * 1000})
            yield pa.RecordBatch.from_pydict({"text": ["y"] * 10})

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr(flight_server, "MAX_MESSAGE_BYTES", 30_000)
    stream = Stream()
    sent = list(flight_server._batches(stream))  # type: ignore[arg-type]
    assert [b.num_rows for b in sent] == [250, 250, 250, 250, 10]
    assert all(b.nbytes <= 30_000 for b in sent[:4]) and stream.closed
