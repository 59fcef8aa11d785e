"""Source readers on real files, a real SQLite database and a real PostgreSQL, read through DuckDB."""

from __future__ import annotations

import gzip
import importlib.util
import socket
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from quanta.build.sources import (
    READERS,
    DatabaseReader,
    FileReader,
    SourceError,
    SourceReader,
    cursor_filter,
    reader_for,
)
from quanta.engines.base import ArrowInput, FileScan
from quanta.engines.duckdb import DuckDBEngine
from quanta.errors import QuantaError
from quanta.spec.product import DatabaseSource, FileSource

ORDERS_CSV = """id,name,amount,order_date
1,Alice,10.50,1995-01-01
2,O'Brien,20.00,1995-06-30
3,Bob,30.25,1996-02-29
4,Carol,40.00,1997-12-31
"""
ROWS = [
    (1, "Alice", "10.50", "1995-01-01", "a:b"),
    (2, "O'Brien", "20.00", "1995-06-30", "100%"),
    (3, "Bob", "30.25", "1996-02-29", None),
    (4, "Carol", "40.00", "1997-12-31", "x"),
]
DDL = (
    "create table orders (id integer primary key, name varchar(40) not null, amount numeric(15,2),"
    " order_date date, note text)"
)


def file_source(path: str, **extra: Any) -> FileSource:
    return FileSource(type="file", path=path, **extra)


def db_source(url: str, **extra: Any) -> DatabaseSource:
    return DatabaseSource(type="database", url=url, **extra)


def query(sql: str, **inputs: Any) -> list[tuple[Any, ...]]:
    table = DuckDBEngine().query(sql, inputs)
    return [tuple(row.values()) for row in table.to_pylist()]


# ---------------------------------------------------------------- registry


def test_readers_are_registered_by_source_type() -> None:
    assert dict(READERS) == {"file": FileReader, "database": DatabaseReader}
    assert all(issubclass(reader, SourceReader) for reader in READERS.values())
    assert isinstance(reader_for(file_source("x.csv")), FileReader)
    assert isinstance(reader_for(db_source("sqlite:///x.db", table="t")), DatabaseReader)
    with pytest.raises(SourceError, match="unknown source type 'ftp'"):
        reader_for(FileSource.model_construct(type="ftp", path="x"))  # type: ignore[arg-type]


# ---------------------------------------------------------------- files


@pytest.fixture
def drops(tmp_path: Path) -> Path:
    """A workspace root with CSV, Parquet, JSON and gzipped CSV drops."""
    root = tmp_path / "ws"
    (root / "data/orders/old").mkdir(parents=True)
    lines = ORDERS_CSV.splitlines(keepends=True)
    (root / "data/orders/orders-2.csv").write_text(lines[0] + "".join(lines[3:]))
    (root / "data/orders/orders-1.csv").write_text("".join(lines[:3]))
    (root / "data/orders/old/orders-0.csv").write_text(lines[0] + "0,Zed,1.00,1990-01-01\n")
    (root / "data/orders/README.md").write_text("not data")
    (root / "data/parquet").mkdir()
    pq.write_table(pa.table({"id": [1, 2], "v": ["a", "b"]}), root / "data/parquet/part.PARQUET")
    (root / "data/json").mkdir()
    (root / "data/json/events.jsonl").write_text('{"id": 1}\n{"id": 2}\n')
    (root / "data/gz").mkdir()
    with gzip.open(root / "data/gz/orders.csv.gz", "wt") as handle:
        handle.write(ORDERS_CSV)
    return root


def test_glob_is_relative_to_root_sorted_and_absolute(
    drops: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # root given relative to the current folder still yields absolute paths
    scan = FileReader().read(file_source("data/orders/*.csv"), root=Path("ws"))
    assert scan == FileScan(
        files=[str(drops / "data/orders/orders-1.csv"), str(drops / "data/orders/orders-2.csv")], format="csv"
    )
    deep = FileReader().read(file_source("data/orders/**/*.csv"), root=drops)
    assert [Path(f).name for f in deep.files] == ["orders-0.csv", "orders-1.csv", "orders-2.csv"]
    absolute = FileReader().read(file_source(str(drops / "data/orders/orders-1.csv")), root=tmp_path)
    assert absolute.files == [str(drops / "data/orders/orders-1.csv")]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("data/orders/*.csv", "csv"),
        ("data/parquet/*", "parquet"),
        ("data/json/*.jsonl", "json"),
        ("data/gz/*.csv.gz", "csv"),
    ],
)
def test_format_is_inferred_from_the_extension(drops: Path, pattern: str, expected: str) -> None:
    scan = FileReader().read(file_source(pattern), root=drops)
    assert scan.format == expected
    assert query("select count(*) > 0 from raw", raw=scan) == [(True,)]


def test_explicit_format_and_options_win(drops: Path) -> None:
    (drops / "data/orders/orders.txt").write_text("id|name\n1|x\n")
    source = file_source("data/orders/*.txt", format="csv", options={"delim": "|", "header": True})
    scan = FileReader().read(source, root=drops)
    assert (scan.format, scan.options) == ("csv", {"delim": "|", "header": True})
    assert query("select id, name from raw", raw=scan) == [(1, "x")]


def test_mixed_or_unknown_extensions_need_an_explicit_format(drops: Path) -> None:
    with pytest.raises(
        SourceError, match=r"cannot tell the format .* \(README.md, orders-1.csv, orders-2.csv\)"
    ):
        FileReader().read(file_source("data/orders/*"), root=drops)
    with pytest.raises(SourceError, match="cannot tell the format") as caught:
        FileReader().read(file_source("data/orders/*.md"), root=drops)
    assert caught.value.hint and "format: csv" in caught.value.hint


def test_cursor_filters_rows_through_duckdb(drops: Path) -> None:
    source = file_source("data/orders/*.csv", cursor="order_date")
    assert FileReader().read(source, root=drops).where is None  # no cursor value yet: everything
    after = FileReader().read(source, root=drops, since=date(1995, 6, 30))
    assert after.where == "\"order_date\" > CAST('1995-06-30' AS DATE)"
    assert query("select id from raw order by id", raw=after) == [(3,), (4,)]
    as_text = FileReader().read(source, root=drops, since="1996-02-29")
    assert query("select id from raw", raw=as_text) == [(4,)]
    by_number = FileReader().read(file_source("data/orders/*.csv", cursor="amount"), root=drops, since=20)
    assert query("select id from raw order by id", raw=by_number) == [(3,), (4,)]
    untracked = FileReader().read(file_source("data/orders/*.csv"), root=drops, since=date(2000, 1, 1))
    assert untracked.where is None  # a source without a cursor is always read whole


def test_cursor_literal_is_quoted_safely(drops: Path) -> None:
    source = file_source("data/orders/*.csv", cursor="name")
    hostile = FileReader().read(source, root=drops, since="x' or 1=1 --")
    assert hostile.where == "\"name\" > 'x'' or 1=1 --'"
    assert query("select count(*) from raw", raw=hostile) == [(0,)]
    quote = FileReader().read(source, root=drops, since="O'Brien")
    assert query("select name from raw", raw=quote) == []  # 'O''Brien' sorts after every other name
    assert cursor_filter('odd"name', 1.5) == '"odd""name" > 1.5'
    assert (
        cursor_filter("ts", datetime(2020, 1, 2, 3, 4)) == "\"ts\" > CAST('2020-01-02 03:04:00' AS TIMESTAMP)"
    )
    assert cursor_filter("amount", Decimal("1.50")) == '"amount" > 1.50'
    for bad in ([1], float("nan"), object()):
        with pytest.raises(SourceError, match="cannot compare cursor 'x'"):
            cursor_filter("x", bad)


def test_no_matching_files_names_pattern_and_folder(drops: Path) -> None:
    with pytest.raises(SourceError) as caught:
        FileReader().read(file_source("data/orders/*.parquet"), root=drops)
    error = caught.value
    assert isinstance(error, QuantaError)
    assert error.message == f"no files match 'data/orders/*.parquet' (searched {drops / 'data/orders'})"
    listing = "README.md, old, orders-1.csv, orders-2.csv"
    assert error.hint == f"{drops / 'data/orders'} holds: {listing}; fix the pattern or add the files"
    with pytest.raises(SourceError, match=r"no files match 'data/drops/orders/\*.csv'") as missing:
        FileReader().read(file_source("data/drops/orders/*.csv"), root=drops)
    advice = f"create it or fix the path (relative to the workspace root {drops.resolve()})"
    assert missing.value.hint == f"{drops / 'data/drops/orders'} does not exist: {advice}"
    (drops / "empty").mkdir()
    with pytest.raises(SourceError) as empty:
        FileReader().read(file_source("empty/x.csv"), root=drops)
    assert empty.value.hint == f"{drops / 'empty'} is empty; fix the pattern or add the files"


# ---------------------------------------------------------------- databases: SQLite and PostgreSQL


def _fill(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(DDL))
        for row in ROWS:
            connection.execute(
                sa.text("insert into orders values (:id, :name, cast(:amount as numeric(15,2)), :d, :note)"),
                {
                    "id": row[0],
                    "name": row[1],
                    "amount": row[2],
                    "d": date.fromisoformat(row[3]),
                    "note": row[4],
                },
            )
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a real database holding the ``orders`` table, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")
    _fill(url)
    return url


def read(url: str, root: Path | None = None, since: object | None = None, **extra: Any) -> pa.Table:
    result = DatabaseReader().read(db_source(url, **extra), root=root or Path("/nonexistent"), since=since)
    assert isinstance(result, ArrowInput) and isinstance(result.data, pa.RecordBatchReader)
    return result.data.read_all()


def test_table_streams_with_an_explicit_schema(database: str) -> None:
    table = read(database, table="orders")
    assert table.schema == pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("amount", pa.decimal128(15, 2)),
            ("order_date", pa.date32()),
            ("note", pa.string()),
        ]
    )
    assert table.to_pylist()[1] == {
        "id": 2,
        "name": "O'Brien",
        "amount": Decimal("20.00"),
        "order_date": date(1995, 6, 30),
        "note": "100%",
    }


def test_query_types_come_from_the_database(database: str) -> None:
    sql = (
        "select id, name as customer, amount, order_date, amount * 2 as doubled, count(*) over () as n"
        " from orders where note like '%' or note = 'a:b' or note is null;"
    )
    table = read(database, query=sql)
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("customer").type == pa.string()
    assert table.schema.field("amount").type == pa.decimal128(15, 2)
    assert table.schema.field("order_date").type == pa.date32()
    assert table.schema.field("n").type == pa.int64()
    assert pa.types.is_floating(table.schema.field("doubled").type) or pa.types.is_decimal(
        table.schema.field("doubled").type
    )
    assert table.num_rows == 4 and table.column("n").to_pylist() == [4] * 4


@pytest.mark.parametrize("since", [date(1995, 6, 30), "1995-06-30"])
def test_cursor_filters_a_table_with_a_bound_parameter(database: str, since: object) -> None:
    table = read(database, table="orders", cursor="order_date", since=since)
    assert table.column("id").to_pylist() == [3, 4]
    assert read(database, table="orders", cursor="order_date").num_rows == 4  # no since: all rows


def test_cursor_filters_a_query(database: str) -> None:
    table = read(database, query="select id, name from orders", cursor="id", since=2)
    assert table.column("id").to_pylist() == [3, 4]
    hostile = read(database, table="orders", cursor="name", since="x' or '1'='1")
    assert hostile.num_rows == 0  # bound, never pasted into the SQL


def test_cursor_value_stored_as_text_is_parsed_for_the_column(database: str) -> None:
    assert read(database, table="orders", cursor="id", since="2").column("id").to_pylist() == [3, 4]
    assert read(database, table="orders", cursor="amount", since="20.00").column("id").to_pylist() == [3, 4]
    assert read(database, query="select * from orders", cursor="order_date", since="1997-01-01").num_rows == 1
    with pytest.raises(SourceError, match="cursor value 'yesterday' is not a valid DATE") as caught:
        read(database, table="orders", cursor="order_date", since="yesterday")
    assert caught.value.hint == "reset the cursor or fix its column"


def test_query_cursor_must_be_a_column_of_the_query(database: str) -> None:
    with pytest.raises(
        SourceError, match=r"cursor column 'nope' is not a column of query 'select id"
    ) as caught:
        read(database, query="select id, name from orders", cursor="nope", since=1)
    assert caught.value.hint == "columns: id, name"


def test_database_input_is_queried_by_duckdb(database: str) -> None:
    orders = DatabaseReader().read(db_source(database, table="orders"), root=Path("/"))
    assert query("select sum(amount), max(order_date) from o", o=orders) == [
        (Decimal("100.75"), date(1997, 12, 31))
    ]


def test_rows_stream_in_batches(database: str) -> None:
    class SmallBatches(DatabaseReader):
        batch_rows = 3

    result = SmallBatches().read(db_source(database, table="orders"), root=Path("/"))
    assert isinstance(result.data, pa.RecordBatchReader)
    assert [batch.num_rows for batch in result.data] == [3, 1]


def test_missing_table_lists_the_tables(database: str) -> None:
    with pytest.raises(SourceError, match="table 'nope' not found in ") as caught:
        read(database, table="nope")
    assert caught.value.hint == "tables there: orders"


def test_bad_query_is_a_source_error(database: str) -> None:
    with pytest.raises(
        SourceError, match=r"cannot read query 'select \* from nope' from .*: .*nope"
    ) as caught:
        read(database, query="select * from nope")
    assert caught.value.hint and "single SELECT" in caught.value.hint
    with pytest.raises(SourceError, match=r"cannot read query 'selec 1' from .*syntax"):
        read(database, query="selec 1")


def test_cursor_must_be_a_column_of_the_table(database: str) -> None:
    with pytest.raises(
        SourceError, match="cursor column 'updated_at' is not a column of table 'orders'"
    ) as caught:
        read(database, table="orders", cursor="updated_at", since=1)
    assert caught.value.hint == "columns: id, name, amount, order_date, note"


# ---------------------------------------------------------------- SQLite specifics


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A workspace root with ``data/legacy.db``: every SQLite storage class, and values SQLite lets mix."""
    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    with sqlite3.connect(root / "data/legacy.db") as connection:
        connection.execute(
            "create table t (i INTEGER, r REAL, n NUMERIC, d DECIMAL(15,2), s VARCHAR(5), dt DATE,"
            " ts DATETIME, b BOOLEAN, blob BLOB, untyped)"
        )
        connection.execute(
            "insert into t values (1, 1.5, 3, 100, 'x', '1995-01-02', '2020-01-01 10:00:00', 1, x'00ff', 7)"
        )
        connection.execute("insert into t values (2, null, 2.5, 711.56, null, null, null, 0, null, 'seven')")
        connection.execute("create table bad_dates (d DATE)")
        connection.execute("insert into bad_dates values ('1995-01-02'), ('yesterday')")
    return root


def test_sqlite_declared_types_map_to_arrow(warehouse: Path) -> None:
    table = read("sqlite:///data/legacy.db", root=warehouse, table="t")
    assert table.schema == pa.schema(
        [
            ("i", pa.int64()),
            ("r", pa.float64()),
            ("n", pa.float64()),
            ("d", pa.decimal128(15, 2)),
            ("s", pa.string()),
            ("dt", pa.date32()),
            ("ts", pa.timestamp("us")),
            ("b", pa.bool_()),
            ("blob", pa.binary()),
            ("untyped", pa.string()),  # 7 and 'seven' in one column: text holds both
        ]
    )
    first, second = table.to_pylist()
    assert first["dt"] == date(1995, 1, 2) and first["ts"] == datetime(2020, 1, 1, 10)
    assert (first["d"], second["d"]) == (Decimal("100.00"), Decimal("711.56"))
    assert (first["untyped"], second["untyped"], first["blob"]) == ("7", "seven", b"\x00\xff")


def test_sqlite_dates_kept_as_text_compare_with_a_date_cursor(warehouse: Path) -> None:
    with sqlite3.connect(warehouse / "data/legacy.db") as connection:
        connection.execute("create table events (id INTEGER, day TEXT)")
        connection.execute("insert into events values (1, '1995-01-01'), (2, '1995-02-01')")
    table = read(
        "sqlite:///data/legacy.db", root=warehouse, table="events", cursor="day", since=date(1995, 1, 15)
    )
    assert table.to_pylist() == [{"id": 2, "day": "1995-02-01"}]


def test_relative_sqlite_url_is_resolved_against_root_not_cwd(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert read("sqlite:///data/legacy.db", root=warehouse, table="t").num_rows == 2
    assert read(f"sqlite:///{warehouse / 'data/legacy.db'}", root=Path("/"), table="t").num_rows == 2
    with pytest.raises(SourceError) as caught:
        read("sqlite:///legacy.db", root=warehouse, table="t")
    assert caught.value.message == (
        f"SQLite database {warehouse / 'legacy.db'} not found (from sqlite:///legacy.db)"
    )
    assert not (warehouse / "legacy.db").exists()  # reading never creates an empty database
    assert caught.value.hint and "relative to the workspace root" in caught.value.hint


def test_values_that_do_not_convert_name_the_column(warehouse: Path) -> None:
    with pytest.raises(
        SourceError, match=r"column 'd' of table 'bad_dates' of sqlite:///.*: .* date32"
    ) as caught:
        read("sqlite:///data/legacy.db", root=warehouse, table="bad_dates")
    assert caught.value.hint and "cast" in caught.value.hint


def test_a_file_that_is_not_a_database(warehouse: Path) -> None:
    (warehouse / "data/notes.db").write_text("hello, I am text " * 100)
    with pytest.raises(SourceError, match=r"cannot read table 't' from .*notes\.db: file is not a database"):
        read("sqlite:///data/notes.db", root=warehouse, table="t")


# ---------------------------------------------------------------- URLs and drivers


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_database_masks_the_password() -> None:
    url = f"postgresql+psycopg://reader:s3cret@127.0.0.1:{_closed_port()}/erp"
    with pytest.raises(SourceError) as caught:
        read(url, table="customer")
    error = caught.value
    assert "s3cret" not in error.message and "reader:***@127.0.0.1" in error.message
    assert error.message.startswith("cannot read table 'customer' from postgresql+psycopg://reader:***@")
    assert "Connection refused" in error.message and "\n" not in error.message
    assert error.hint == "check that the server is running and the URL is right"


PYMYSQL_INSTALLED = importlib.util.find_spec("pymysql") is not None


@pytest.mark.parametrize(
    ("url", "message", "hint"),
    [
        ("nonsense", "invalid database URL nonsense", "use a SQLAlchemy URL"),
        (
            "postgresql://u:pw@h:port/db",
            "invalid database URL postgresql://u:***@h:port/db",
            "SQLAlchemy URL",
        ),
        ("oracle+nosuchdriver://u:pw@h/db", "unknown database type 'oracle+nosuchdriver'", "dialect"),
        pytest.param(
            "mysql+pymysql://u:pw@h/db",
            "the driver for 'mysql+pymysql' is not installed (pymysql); needed by mysql+pymysql://u:***@h/db",
            "install it",
            marks=pytest.mark.skipif(PYMYSQL_INSTALLED, reason="PyMySQL is installed here"),
        ),
    ],
)
def test_bad_urls_and_missing_drivers(url: str, message: str, hint: str) -> None:
    with pytest.raises(SourceError) as caught:
        read(url, table="t")
    assert caught.value.message.startswith(message)
    assert ":pw@" not in caught.value.message
    assert caught.value.hint and hint in caught.value.hint


def test_a_source_without_table_or_query() -> None:
    source = DatabaseSource.model_construct(type="database", url="sqlite://", table=None, query=None)
    with pytest.raises(SourceError, match="names no table or query"):
        DatabaseReader().read(source, root=Path("/"))


# ---------------------------------------------------------------- PostgreSQL specifics


@pytest.fixture
def pg_types(pg_database_url: str) -> Iterator[str]:
    engine = sa.create_engine(pg_database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("create schema erp"))
        connection.execute(
            sa.text(
                "create table erp.events (id bigint, at timestamptz, local_at timestamp, ok boolean,"
                ' score double precision, ratio numeric, "Mixed Case" text, tags text[])'
            )
        )
        connection.execute(
            sa.text(
                "insert into erp.events values (1, '2020-01-01 10:00+02', '2020-01-01 10:00', true, 1.5,"
                " 0.125, 'M', array['a','b'])"
            )
        )
    engine.dispose()
    yield pg_database_url


@pytest.mark.postgres
def test_postgres_schema_qualified_table_and_types(pg_types: str) -> None:
    table = read(pg_types, table="erp.events")
    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("local_at").type == pa.timestamp("us")
    assert table.schema.field("ok").type == pa.bool_()
    assert table.schema.field("score").type == pa.float64()
    assert table.schema.field("ratio").type == pa.float64()  # numeric without precision
    assert table.schema.field("tags").type == pa.list_(pa.string())  # unknown to the mapping: inferred
    row = table.to_pylist()[0]
    assert row["at"].isoformat() == "2020-01-01T08:00:00+00:00" and row["Mixed Case"] == "M"


@pytest.mark.postgres
def test_postgres_query_with_casts_and_a_quoted_cursor(pg_types: str) -> None:
    sql = 'select id, at::date as day, "Mixed Case", 2::numeric(4,1) as two from erp.events'
    table = read(pg_types, query=sql, cursor="Mixed Case", since="A")
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("two").type == pa.decimal128(4, 1)
    assert table.to_pylist() == [{"id": 1, "day": date(2020, 1, 1), "Mixed Case": "M", "two": Decimal("2.0")}]
    assert read(pg_types, query=sql, cursor="Mixed Case", since="N").num_rows == 0
