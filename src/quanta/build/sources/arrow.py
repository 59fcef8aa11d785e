"""Database rows as Arrow: column types from the SQL types (else the values), rows as record batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from quanta.build.sources.base import SourceError

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.types import TypeEngine


def arrow_schema(names: list[str], types: dict[str, TypeEngine[Any]], first: Sequence[Any]) -> pa.Schema:
    """Arrow types from the SQL types, else from the values of the first batch."""
    import pyarrow as pa

    fields = []
    for i, name in enumerate(names):
        known = arrow_type(types[name]) if name in types else None
        fields.append(pa.field(name, known if known is not None else _inferred_type([r[i] for r in first])))
    return pa.schema(fields)


def arrow_type(sql_type: TypeEngine[Any]) -> pa.DataType | None:
    """The Arrow type for a SQLAlchemy type, or None when only the values can tell."""
    import pyarrow as pa
    from sqlalchemy import types

    if isinstance(sql_type, types.Boolean):
        return pa.bool_()
    if isinstance(sql_type, types.Integer):
        return pa.int64()
    if isinstance(sql_type, types.Float):  # before Numeric, which it subclasses
        return pa.float64()
    if isinstance(sql_type, types.Numeric):
        precision, scale = sql_type.precision, sql_type.scale
        if precision is not None and scale is not None and 0 <= scale <= precision <= 38:
            return pa.decimal128(precision, scale)
        return pa.float64()
    if isinstance(sql_type, types.DateTime):
        return pa.timestamp("us", tz="UTC" if sql_type.timezone else None)
    if isinstance(sql_type, types.Date):
        return pa.date32()
    if isinstance(sql_type, types.Time):
        return pa.time64("us")
    if isinstance(sql_type, types.String | types.Uuid | types.JSON):
        return pa.string()
    if isinstance(sql_type, types.LargeBinary):
        return pa.binary()
    return None


def _inferred_type(values: list[Any]) -> pa.DataType:
    import pyarrow as pa

    try:
        inferred = pa.array(values).type
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.string()  # SQLite lets one column mix types: text holds them all
    return pa.string() if pa.types.is_null(inferred) else inferred


def record_batch(rows: Sequence[Any], schema: pa.Schema, what: str) -> pa.RecordBatch:
    """``rows`` (tuples in column order) as one batch of ``schema``; ``what`` names them in errors."""
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = [_array(list(values), item, what) for values, item in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _array(values: list[Any], item: pa.Field, what: str) -> pa.Array:
    """Values as ``item.type``; ISO text becomes dates, floats decimals, anything text if asked."""
    import json

    import pyarrow as pa

    failures = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)
    try:
        return pa.array(values, type=item.type)
    except failures:
        pass
    try:
        return pa.array(values).cast(item.type)
    except failures as exc:
        if pa.types.is_string(item.type):
            text = [
                v if v is None else json.dumps(v) if isinstance(v, dict | list) else str(v) for v in values
            ]
            return pa.array(text, type=pa.string())
        raise SourceError(
            f"column {item.name!r} of {what}: values do not convert to {item.type}: {exc}",
            hint="cast the column in a query source (query: select cast(... as ...) ...)",
        ) from exc
