"""DataRow encoding: the Arrow-built rows (whole batches) and the value-by-value rows (small batches)
are byte for byte the same, in text and binary format, with NULLs, sliced batches and every type the
server sends; and a text DataRow holds what PostgreSQL's output functions would print.
"""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from quanta.interfaces.pgwire import rows
from quanta.interfaces.pgwire import types as t

COLUMNS = {
    "i8": pa.array([1, None, -3, 127], pa.int8()),
    "i16": pa.array([1, None, -300, 2], pa.int16()),
    "i32": pa.array([1, None, -(2**31), 2**31 - 1], pa.int32()),
    "i64": pa.array([1, None, -(2**63), 2**63 - 1], pa.int64()),
    "u8": pa.array([1, None, 255, 0], pa.uint8()),
    "u32": pa.array([1, None, 2**32 - 1, 0], pa.uint32()),
    "u64": pa.array([1, None, 2**64 - 1, 0], pa.uint64()),
    "f32": pa.array([1.5, None, -0.1, float("inf")], pa.float32()),
    "f64": pa.array([1e16, None, float("nan"), 1 / 3]),
    "dec": pa.array([Decimal("1.10"), None, Decimal("-12345.67"), Decimal("0.00")], pa.decimal128(15, 2)),
    "text": pa.array(["a", None, "", 'héllo, "world"\n']),
    "large_text": pa.array(["a", None, "", "x"], pa.large_string()),
    "bool": pa.array([True, None, False, True]),
    "date": pa.array([date(2000, 1, 1), None, date(1970, 1, 1), date(2024, 2, 29)]),
    "timestamp": pa.array([datetime(2020, 1, 1, 1, 2, 3, 400000), None, datetime(1999, 12, 31), None]),
    "timestamptz": pa.array(
        [datetime(2020, 1, 1, 1, 2, 3), None, datetime(1999, 12, 31, 1, 1, 1, 120), datetime(2000, 1, 1)],
        pa.timestamp("us", "UTC"),
    ),
    "time": pa.array([time(1, 2, 3), None, time(0, 0), time(23, 59, 59, 999)]),
    "bytea": pa.array([b"\x00\x01", None, b"", b"zz"]),
    "list": pa.array([[1, 2], None, [], [None, 3]]),
    "struct": pa.array([{"a": 1}, None, {"a": None}, {"a": 2}]),
    "interval": pa.array([timedelta(days=1, seconds=3), None, timedelta(0), timedelta(microseconds=-5)]),
    "all_null": pa.array([None, None, None, None], pa.int32()),
}


def batch(repeat: int) -> pa.RecordBatch:
    table = pa.Table.from_batches([pa.RecordBatch.from_pydict(COLUMNS)] * repeat)
    return table.combine_chunks().to_batches()[0]


@pytest.mark.parametrize("formats", [[], [1]], ids=["text", "binary"])
@pytest.mark.parametrize("repeat", [1, 200])
def test_arrow_and_value_by_value_rows_are_the_same_bytes(formats: list[int], repeat: int) -> None:
    whole = batch(repeat)
    described = rows.fields(whole.schema, formats)
    for part in (whole, whole.slice(1), whole.slice(3, 2)):  # slices start inside buffers
        for i in range(part.num_columns):  # a column at a time: a difference names its type
            one = pa.RecordBatch.from_arrays([part.column(i)], [part.schema.names[i]])
            assert rows._arrow_rows(one, [described[i]]) == rows._python_rows(one, [described[i]]), (
                part.schema.names[i]
            )
        assert rows._arrow_rows(part, described) == rows._python_rows(part, described)


def test_a_batch_too_large_for_one_buffer_is_encoded_in_halves(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = batch(200)
    described = rows.fields(whole.schema)
    expected = rows._arrow_rows(whole, described)
    monkeypatch.setattr(rows, "_BATCH_BYTES", 10_000)
    assert rows._arrow_rows(whole, described) == expected


def parse(data: bytes) -> list[list[bytes | None]]:
    """DataRow messages ► each row's fields."""
    out, pos = [], 0
    while pos < len(data):
        kind, length = struct.unpack_from("!ci", data, pos)
        assert kind == b"D"
        body = data[pos + 5 : pos + 1 + length]
        (count,) = struct.unpack_from("!h", body)
        fields, at = [], 2
        for _ in range(count):
            (size,) = struct.unpack_from("!i", body, at)
            at += 4
            fields.append(None if size < 0 else body[at : at + size])
            at += max(size, 0)
        assert at == len(body)
        out.append(fields)
        pos += 1 + length
    return out


def test_text_rows_hold_what_postgresql_prints() -> None:
    whole = batch(200)
    described = rows.fields(whole.schema)
    assert whole.num_rows >= rows.ARROW_ROWS  # the Arrow-built rows
    parsed = parse(rows.data_rows(whole, described))
    assert len(parsed) == whole.num_rows
    first, second, third = parsed[0], parsed[1], parsed[2]
    names = whole.schema.names
    assert dict(zip(names, first, strict=True)) | {"f64": None} == {
        "i8": b"1", "i16": b"1", "i32": b"1", "i64": b"1", "u8": b"1", "u32": b"1", "u64": b"1",
        "f32": b"1.5", "f64": None, "dec": b"1.10", "text": b"a", "large_text": b"a", "bool": b"t",
        "date": b"2000-01-01", "timestamp": b"2020-01-01 01:02:03.4",
        "timestamptz": b"2020-01-01 01:02:03+00", "time": b"01:02:03", "bytea": b"\\x0001",
        "list": b"{1,2}", "struct": b'{"a":1}', "interval": b"1 day 00:00:03", "all_null": None,
    }  # fmt: skip
    assert first[names.index("f64")] == b"1e+16"
    assert all(value is None for value in second)
    assert third[names.index("i32")] == str(-(2**31)).encode() and third[names.index("bool")] == b"f"
    assert third[names.index("timestamptz")] == b"1999-12-31 01:01:01.00012+00"


def test_binary_rows_hold_postgresql_send_formats() -> None:
    whole = batch(200)
    described = rows.fields(whole.schema, [1])
    names = whole.schema.names
    [first, second, third, *_] = parse(rows.data_rows(whole, described))
    assert first[names.index("i16")] == struct.pack("!h", 1)
    assert first[names.index("i64")] == struct.pack("!q", 1)
    assert first[names.index("f32")] == struct.pack("!f", 1.5)
    assert first[names.index("bool")] == b"\x01" and third[names.index("bool")] == b"\x00"
    assert first[names.index("date")] == struct.pack("!i", 0)  # days since 2000-01-01
    assert third[names.index("date")] == struct.pack("!i", -10_957)
    assert third[names.index("i32")] == struct.pack("!i", -(2**31))
    assert second[names.index("i64")] is None
    assert t.pg_type(whole.schema.field("u64").type) is t.NUMERIC


def test_rows_without_columns() -> None:
    empty = pa.RecordBatch.from_pydict({"a": [1, 2]}).select([])
    assert rows.data_rows(empty, []) == (b"D" + struct.pack("!ih", 6, 0)) * 2


def test_timestamps_with_time_zone_are_sent_in_utc() -> None:
    moment = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)
    column = pa.array([moment] * rows.ARROW_ROWS, pa.timestamp("us", "Europe/Paris"))
    one = pa.RecordBatch.from_arrays([column], ["at"])
    [first, *_] = parse(rows.data_rows(one, rows.fields(one.schema)))
    assert first == [b"2021-06-01 12:00:00+00"]


@pytest.mark.parametrize(
    "text",
    ["0.04", "0.40", "17.00", "-0.0001", "123456789.000001", "0", "0.00", "1E+5", "-12345.67", "1E-9",
     "10000", "99999999999999999999", "-0.00040"],
)  # fmt: skip
def test_binary_numeric_is_what_postgresql_sends(text: str) -> None:
    """numeric_send's layout, checked against psycopg's own encoder; a fraction keeps its leading zeros
    (0.04 was once sent as 0.4)."""
    numeric = pytest.importorskip("psycopg.types.numeric")
    value = Decimal(text)
    sent = t.binary_value(value, t.NUMERIC)
    assert sent == bytes(numeric.DecimalBinaryDumper(Decimal).dump(value))
    assert t.decode_parameter(sent, t.NUMERIC.oid, binary=True) == value
