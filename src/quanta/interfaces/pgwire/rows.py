"""Arrow record batches as RowDescription and DataRow messages.

Whole columns are formatted at once with Arrow compute where PostgreSQL's text format and Arrow's agree
(integers, decimals, dates, text, booleans, timestamps after a small rewrite); other types go value by
value through ``types``.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from quanta.interfaces.pgwire import types as t
from quanta.interfaces.pgwire.protocol import Field

if TYPE_CHECKING:
    import pyarrow as pa

_LEN = struct.Struct("!i")
NULL = _LEN.pack(-1)


def fields(schema: pa.Schema, formats: Sequence[int] = ()) -> list[Field]:
    """RowDescription fields for ``schema``; ``formats`` as in Bind (none: text, one: all, else each)."""
    out = []
    for i, field in enumerate(schema):
        kind = t.pg_type(field.type)
        out.append(Field(field.name, kind.oid, kind.size, kind.modifier, column_format(formats, i)))
    return out


def column_format(formats: Sequence[int], index: int) -> int:
    if not formats:
        return 0
    return formats[0] if len(formats) == 1 else formats[index]


def data_rows(batch: pa.RecordBatch, described: list[Field]) -> bytes:
    """Every row of ``batch`` as DataRow messages, one bytes object."""
    columns = [
        _encoded_column(batch.column(i), t.BY_OID.get(f.type_oid, t.TEXT), f.format)
        for i, f in enumerate(described)
    ]
    count = struct.pack("!h", len(columns))
    out = []
    for values in zip(*columns, strict=True) if columns else [() for _ in range(batch.num_rows)]:
        body = count + b"".join(values)
        out.append(b"D" + _LEN.pack(len(body) + 4) + body)
    return b"".join(out)


def _encoded_column(array: pa.Array, kind: t.PgType, fmt: int) -> list[bytes]:
    """Each value of ``array`` as a length-prefixed field (-1 for NULL)."""
    if kind.modifier != -1 and kind.oid == t.NUMERIC.oid:
        kind = t.NUMERIC
    if fmt == 0:
        texts = _vector_text(array, kind)
        if texts is not None:
            return [NULL if v is None else _LEN.pack(len(b := v.encode())) + b for v in texts]
        encode = t.text_value
    else:
        encode = t.binary_value
    out = []
    for value in array.to_pylist():
        if value is None:
            out.append(NULL)
        else:
            data = encode(value, kind)
            out.append(_LEN.pack(len(data)) + data)
    return out


def _vector_text(array: pa.Array, kind: t.PgType) -> list[str | None] | None:
    """The column in text format computed by Arrow, or None where Arrow's format differs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = array.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return array.to_pylist()
    if pa.types.is_integer(typ) or pa.types.is_decimal(typ) or pa.types.is_date(typ):
        return pc.cast(array, pa.string()).to_pylist()
    if pa.types.is_boolean(typ):
        return pc.if_else(array, "t", "f").to_pylist()
    if pa.types.is_timestamp(typ) and kind.oid in (t.TIMESTAMP.oid, t.TIMESTAMPTZ.oid):
        text = pc.cast(array, pa.string())
        # PostgreSQL drops trailing zeros of the fraction (and the fraction when it is zero)
        text = pc.replace_substring_regex(text, r"\.0+(\+0000|Z)?$", r"\1")
        text = pc.replace_substring_regex(text, r"(\.\d*[1-9])0+(\+0000|Z)?$", r"\1\2")
        text = pc.replace_substring_regex(text, r"(\+0000|Z)$", "+00")
        return text.to_pylist()
    return None


class Rows:
    """The rows of an answer, computed (in a worker thread) as they are taken: all of them for a simple
    query, ``limit`` at a time for a portal's Execute or a cursor's FETCH."""

    def __init__(self, batches: Iterable[pa.RecordBatch], close: Callable[[], None] | None = None) -> None:
        self._batches = iter(batches)
        self._close = close
        self._ahead: pa.RecordBatch | None = None
        self._ended = False

    async def take(self, limit: int) -> AsyncIterator[pa.RecordBatch]:
        """The next ``limit`` rows (0: all that are left), as batches."""
        remaining = limit
        while limit <= 0 or remaining > 0:
            batch = await self._next()
            if batch is None:
                return
            if limit > 0 and batch.num_rows > remaining:
                self._ahead = batch.slice(remaining)
                batch = batch.slice(0, remaining)
            remaining -= batch.num_rows
            yield batch

    async def more(self) -> bool:
        """Whether rows are left (computing the next batch to know)."""
        if self._ahead is None:
            self._ahead = await self._next()
        return self._ahead is not None

    async def _next(self) -> pa.RecordBatch | None:
        if self._ahead is not None:
            batch, self._ahead = self._ahead, None
            return batch
        while not self._ended:
            batch = await asyncio.to_thread(next, self._batches, None)
            if batch is None:
                self._ended = True
            elif batch.num_rows:
                return batch
        return None

    def close(self) -> None:
        """Stop computing the rest (a closed portal or cursor): the engine stops, its cursor is released."""
        if self._close is not None:
            self._close()
