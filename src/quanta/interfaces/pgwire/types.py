"""Arrow types as PostgreSQL types: OIDs, sizes and typmods, text and binary encodings of values, and
parameters decoded from Bind messages.

Text encodings follow PostgreSQL's output functions (``t``/``f``, ISO dates, ``+00`` offsets, ``\\x``
hex for bytea, ``{...}`` arrays) so that drivers parse them as they would PostgreSQL's own.
"""

from __future__ import annotations

import json
import math
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

PG_EPOCH_DATE = date(2000, 1, 1)
PG_EPOCH = datetime(2000, 1, 1)  # PostgreSQL's epoch for timestamps, naive on purpose


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str
    size: int
    modifier: int = -1
    array_of: int | None = None


BOOL = PgType(16, "bool", 1)
BYTEA = PgType(17, "bytea", -1)
INT8 = PgType(20, "int8", 8)
INT2 = PgType(21, "int2", 2)
INT4 = PgType(23, "int4", 4)
TEXT = PgType(25, "text", -1)
JSON = PgType(114, "json", -1)
FLOAT4 = PgType(700, "float4", 4)
FLOAT8 = PgType(701, "float8", 8)
VARCHAR = PgType(1043, "varchar", -1)
DATE = PgType(1082, "date", 4)
TIME = PgType(1083, "time", 8)
TIMESTAMP = PgType(1114, "timestamp", 8)
TIMESTAMPTZ = PgType(1184, "timestamptz", 8)
INTERVAL = PgType(1186, "interval", 16)
NUMERIC = PgType(1700, "numeric", -1)
UUID = PgType(2950, "uuid", 16)
UNKNOWN = PgType(705, "unknown", -2)
SCALARS = [BOOL, BYTEA, INT8, INT2, INT4, TEXT, JSON, FLOAT4, FLOAT8, VARCHAR, DATE, TIME, TIMESTAMP]
SCALARS += [TIMESTAMPTZ, INTERVAL, NUMERIC, UUID]
# element OID ► array OID (pg_type.typarray)
ARRAYS = {16: 1000, 17: 1001, 20: 1016, 21: 1005, 23: 1007, 25: 1009, 114: 199, 700: 1021, 701: 1022}
ARRAYS |= {1043: 1015, 1082: 1182, 1083: 1183, 1114: 1115, 1184: 1185, 1186: 1187, 1700: 1231, 2950: 2951}
BY_OID = {t.oid: t for t in SCALARS}
BY_OID |= {a: PgType(a, f"_{BY_OID[e].name}", -1, array_of=e) for e, a in ARRAYS.items()}


def pg_type(arrow: pa.DataType) -> PgType:
    """The PostgreSQL type a column of this Arrow type is sent as."""
    import pyarrow as pa

    if pa.types.is_boolean(arrow):
        return BOOL
    if pa.types.is_int8(arrow) or pa.types.is_int16(arrow) or pa.types.is_uint8(arrow):
        return INT2
    if pa.types.is_int32(arrow) or pa.types.is_uint16(arrow):
        return INT4
    if pa.types.is_int64(arrow) or pa.types.is_uint32(arrow):
        return INT8
    if pa.types.is_uint64(arrow):
        return NUMERIC
    if pa.types.is_float16(arrow) or pa.types.is_float32(arrow):
        return FLOAT4
    if pa.types.is_float64(arrow):
        return FLOAT8
    if pa.types.is_decimal(arrow):
        # typmod: ((precision << 16) | scale) + VARHDRSZ
        return PgType(NUMERIC.oid, "numeric", -1, ((arrow.precision << 16) | arrow.scale) + 4)
    if pa.types.is_date(arrow):
        return DATE
    if pa.types.is_time(arrow):
        return TIME
    if pa.types.is_timestamp(arrow):
        return TIMESTAMPTZ if arrow.tz else TIMESTAMP
    if pa.types.is_interval(arrow) or pa.types.is_duration(arrow):
        return INTERVAL
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow) or pa.types.is_fixed_size_binary(arrow):
        return BYTEA
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow) or pa.types.is_fixed_size_list(arrow):
        element = pg_type(arrow.value_type)
        if element.array_of is None and element.oid in ARRAYS:
            return BY_OID[ARRAYS[element.oid]]
        return JSON
    if pa.types.is_struct(arrow) or pa.types.is_map(arrow):
        return JSON
    return TEXT


# --- text format ----------------------------------------------------------------------------------------


def text_value(value: object, kind: PgType) -> bytes:
    """One non-null value in PostgreSQL's text output format."""
    return _text(value, kind).encode()


def _text(value: object, kind: PgType) -> str:
    if kind.array_of is not None:
        element = BY_OID[kind.array_of]
        return "{" + ",".join(_array_element(v, element) for v in value) + "}"  # type: ignore[attr-defined]
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):
        text = value.isoformat(sep=" ")
        if value.tzinfo is not None:
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") + "+00"
        return text
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, timedelta):
        return _interval_text(0, value.days, value.seconds * 1_000_000 + value.microseconds)
    if kind.oid == INTERVAL.oid and hasattr(value, "months"):
        micros = value.nanoseconds // 1000  # type: ignore[attr-defined]
        return _interval_text(value.months, value.days, micros)  # type: ignore[attr-defined]
    if kind is JSON or isinstance(value, dict | list):
        return json.dumps(_jsonable(value), separators=(",", ":"), default=str)
    return str(value)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _array_element(value: object, element: PgType) -> str:
    if value is None:
        return "NULL"
    text = _text(value, element)
    if text == "" or any(c in text for c in '{},"\\ ') or text.upper() == "NULL":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _interval_text(months: int, days: int, micros: int) -> str:
    parts = []
    years, months = divmod(months, 12)
    if years:
        parts.append(f"{years} year{'s' if abs(years) != 1 else ''}")
    if months:
        parts.append(f"{months} mon{'s' if abs(months) != 1 else ''}")
    if days:
        parts.append(f"{days} day{'s' if abs(days) != 1 else ''}")
    if micros or not parts:
        sign = "-" if micros < 0 else ""
        seconds, fraction = divmod(abs(micros), 1_000_000)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        clock = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
        parts.append(clock + (f".{fraction:06d}".rstrip("0") if fraction else ""))
    return " ".join(parts)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Arrow maps come back as lists of (key, value) pairs
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _jsonable(v) for k, v in value}
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, date | time | datetime):
        return value.isoformat()
    return value


# --- binary format --------------------------------------------------------------------------------------


def binary_value(value: object, kind: PgType) -> bytes:
    """One non-null value in PostgreSQL's binary format (``typsend``)."""
    oid = kind.oid
    if kind.array_of is not None:
        return _binary_array(list(value), BY_OID[kind.array_of])  # type: ignore[call-overload]
    if oid == BOOL.oid:
        return b"\x01" if value else b"\x00"
    if oid in (INT2.oid, INT4.oid, INT8.oid):
        return struct.pack({2: "!h", 4: "!i", 8: "!q"}[kind.size], int(value))  # type: ignore[call-overload]
    if oid == FLOAT4.oid:
        return struct.pack("!f", float(value))  # type: ignore[arg-type]
    if oid == FLOAT8.oid:
        return struct.pack("!d", float(value))  # type: ignore[arg-type]
    if oid == NUMERIC.oid:
        return _binary_numeric(Decimal(str(value)))
    if oid == DATE.oid:
        return struct.pack("!i", (value - PG_EPOCH_DATE).days)  # type: ignore[operator]
    if oid == TIME.oid:
        t: time = value  # type: ignore[assignment]
        return struct.pack("!q", ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond)
    if oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid):
        moment: datetime = value  # type: ignore[assignment]
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        delta = moment - PG_EPOCH
        return struct.pack("!q", (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
    if oid == INTERVAL.oid:
        if isinstance(value, timedelta):
            micros = value.seconds * 1_000_000 + value.microseconds
            return struct.pack("!qii", micros, value.days, 0)
        return struct.pack("!qii", value.nanoseconds // 1000, value.days, value.months)  # type: ignore[attr-defined]
    if oid == BYTEA.oid:
        return bytes(value)  # type: ignore[call-overload]
    if oid == UUID.oid:
        return uuid.UUID(str(value)).bytes
    return text_value(value, kind)


def _binary_array(values: list[object], element: PgType) -> bytes:
    has_null = any(v is None for v in values)
    out = [struct.pack("!iiiii", 1, int(has_null), element.oid, len(values), 1)]
    for v in values:
        if v is None:
            out.append(struct.pack("!i", -1))
        else:
            encoded = binary_value(v, element)
            out.append(struct.pack("!i", len(encoded)) + encoded)
    return b"".join(out)


def _binary_numeric(value: Decimal) -> bytes:
    """numeric_send: base-10000 digits, weight of the first, sign and display scale."""
    if value.is_nan():
        return struct.pack("!hhHh", 0, 0, 0xC000, 0)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    text = "".join(map(str, digits))
    if exponent < 0:  # the fraction keeps its leading zeros (0.04: "04", not "4")
        text = text.rjust(1 - exponent, "0")
        integer, fraction = text[:exponent], text[exponent:]
    else:
        integer, fraction = text + "0" * exponent, ""
    # pad the integer part to a multiple of 4 on the left, the fraction on the right
    integer = integer.lstrip("0")
    integer = "0" * (-len(integer) % 4) + integer
    fraction = fraction + "0" * (-len(fraction) % 4)
    groups = [int(integer[i : i + 4]) for i in range(0, len(integer), 4)]
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    weight = len(integer) // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    header = struct.pack("!hhHH", len(groups), weight, 0x4000 if sign else 0, scale)
    return header + b"".join(struct.pack("!H", g) for g in groups)


# --- parameters -----------------------------------------------------------------------------------------


def decode_parameter(raw: bytes, oid: int, binary: bool) -> object:
    """A Bind parameter as a Python value (then written into the SQL as a typed literal)."""
    if not binary:
        return _from_text(raw.decode(), oid)
    if oid == BOOL.oid:
        return raw != b"\x00"
    if oid in (INT2.oid, INT4.oid, INT8.oid):
        return int.from_bytes(raw, "big", signed=True)
    if oid == FLOAT4.oid:
        return struct.unpack("!f", raw)[0]
    if oid == FLOAT8.oid:
        return struct.unpack("!d", raw)[0]
    if oid == DATE.oid:
        return PG_EPOCH_DATE + timedelta(days=struct.unpack("!i", raw)[0])
    if oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid):
        moment = PG_EPOCH + timedelta(microseconds=struct.unpack("!q", raw)[0])
        return moment.replace(tzinfo=UTC) if oid == TIMESTAMPTZ.oid else moment
    if oid == UUID.oid:
        return str(uuid.UUID(bytes=raw))
    if oid == BYTEA.oid:
        return raw
    if oid == NUMERIC.oid:
        return _numeric_from_binary(raw)
    return raw.decode()


def _from_text(text: str, oid: int) -> object:
    try:
        if oid in (INT2.oid, INT4.oid, INT8.oid):
            return int(text)
        if oid in (FLOAT4.oid, FLOAT8.oid):
            return float(text)
        if oid == NUMERIC.oid:
            return Decimal(text)
        if oid == BOOL.oid:
            return text.lower() in ("t", "true", "1", "yes", "on", "y")
        if oid == DATE.oid:
            return date.fromisoformat(text)
        if oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid):
            return datetime.fromisoformat(text.replace("+00", "+00:00") if text.endswith("+00") else text)
    except ValueError as exc:
        raise ValueError(f"invalid input syntax for type {BY_OID[oid].name}: {text!r}") from exc
    return text


def _numeric_from_binary(raw: bytes) -> Decimal:
    ndigits, weight, sign, scale = struct.unpack_from("!hhHH", raw)
    if sign == 0xC000:
        return Decimal("NaN")
    digits = struct.unpack_from(f"!{ndigits}H", raw, 8)
    value = sum((Decimal(d) * Decimal(10000) ** (weight - i) for i, d in enumerate(digits)), Decimal(0))
    value = -value if sign == 0x4000 else value
    return value.quantize(Decimal(1).scaleb(-scale)) if scale else value
