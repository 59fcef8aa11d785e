"""Arrow record batches as RowDescription and DataRow messages.

A batch's DataRows are built by Arrow, not row by row in Python: each column becomes a binary array of
its values, each prefixed by its length, and one element-wise concatenation of the columns (after each
row's header) makes the rows, whose bytes are one buffer. Values are formatted a column at a time with
Arrow compute where PostgreSQL's format and Arrow's agree (text: integers, decimals, dates, text,
booleans, timestamps after a small rewrite; binary: integers, floats, booleans and dates, byte-swapped);
other types go value by value through ``types``.
"""

from __future__ import annotations

import asyncio
import struct
import sys
from array import array as c_array
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from quanta.interfaces.pgwire import types as t
from quanta.interfaces.pgwire.protocol import Field

if TYPE_CHECKING:
    import pyarrow as pa

_LEN = struct.Struct("!i")
_I16 = struct.Struct("!h")
_OFFSET = struct.Struct("=i")  # Arrow's offsets, in the machine's order
_TYPECODES = {size: code for code in "hiq" if (size := c_array(code).itemsize) in (2, 4, 8)}
NULL = _LEN.pack(-1)
_LITTLE = sys.byteorder == "little"
SHORT_BATCH = 1024
"""A first batch with fewer rows than this is likely the last: :meth:`Rows.fill` checks at once."""
ARROW_ROWS = 384
"""Batches of at least this many rows are encoded by Arrow (a few calls per column, whatever the rows);
smaller ones value by value (cheaper than those calls for a handful of rows)."""
_BATCH_BYTES = 1 << 30
"""A batch whose rows would make more bytes than this (or that holds a quarter of it: text can be a
few times larger than Arrow's values) is encoded in halves: Arrow's binary arrays hold at most 2 GiB."""


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
    rows = batch.num_rows
    if rows == 0:
        return b""
    if not described:
        return (b"D" + _LEN.pack(6) + _I16.pack(0)) * rows
    if rows < ARROW_ROWS:
        return _python_rows(batch, described)
    return _arrow_rows(batch, described)


def _python_rows(batch: pa.RecordBatch, described: list[Field]) -> bytes:
    columns = [_python_column(batch.column(i), _kind(f), f.format) for i, f in enumerate(described)]
    count = _I16.pack(len(columns))
    out = []
    for values in zip(*columns, strict=True):
        body = count + b"".join(values)
        out.append(b"D" + _LEN.pack(len(body) + 4) + body)
    return b"".join(out)


def _python_column(array: pa.Array, kind: t.PgType, fmt: int) -> list[bytes]:
    """Each value of ``array`` as a length-prefixed field (-1 for NULL)."""
    import pyarrow as pa

    if fmt == 0:
        if pa.types.is_integer(array.type):
            texts: list[str | None] | None = [None if v is None else str(v) for v in array.to_pylist()]
        else:
            vector = _vector_text(array, kind)
            texts = None if vector is None else vector.to_pylist()
        if texts is not None:
            return [NULL if v is None else _LEN.pack(len(b := v.encode())) + b for v in texts]
    encode = t.text_value if fmt == 0 else t.binary_value
    out = []
    for value in array.to_pylist():
        if value is None:
            out.append(NULL)
        else:
            data = encode(value, kind)
            out.append(_LEN.pack(len(data)) + data)
    return out


def _arrow_rows(batch: pa.RecordBatch, described: list[Field]) -> bytes:
    """The rows built by Arrow: each column a binary array of its values after their lengths, joined
    element-wise after each row's header; the result's data buffer is the messages."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = batch.num_rows
    if rows > 1 and batch.nbytes > _BATCH_BYTES // 4:
        return _halves(batch, described)
    parts: list[pa.Array] = []
    size: pa.Array | None = None  # of each row's values
    for i, f in enumerate(described):
        values, lengths, nulls = _arrow_column(batch.column(i), _kind(f), f.format)
        parts += [_big_endian(lengths, 4), values]
        nonnegative = pc.max_element_wise(lengths, pa.scalar(0, pa.int32())) if nulls else lengths
        size = nonnegative if size is None else pc.add(size, nonnegative)
    assert size is not None
    # the length field, the column count and each value's length field
    size = pc.add(size.cast(pa.int64()), pa.scalar(4 + 2 + 4 * len(described), pa.int64()))
    if rows > 1 and pc.sum(size).as_py() > _BATCH_BYTES:
        return _halves(batch, described)
    header = _big_endian(size.cast(pa.int32()), 4)
    joined = pc.binary_join_element_wise(b"D", header, _I16.pack(len(described)), *parts, b"")
    offsets, data = joined.buffers()[1:3]
    (first,) = _OFFSET.unpack_from(offsets, 4 * joined.offset)
    (last,) = _OFFSET.unpack_from(offsets, 4 * (joined.offset + rows))
    return data.slice(first, last - first).to_pybytes()


def _halves(batch: pa.RecordBatch, described: list[Field]) -> bytes:
    half = batch.num_rows // 2
    return data_rows(batch.slice(0, half), described) + data_rows(batch.slice(half), described)


def _kind(field: Field) -> t.PgType:
    kind = t.BY_OID.get(field.type_oid, t.TEXT)
    return t.NUMERIC if kind.oid == t.NUMERIC.oid else kind  # the typmod says nothing to an encoder


def _arrow_column(array: pa.Array, kind: t.PgType, fmt: int) -> tuple[pa.Array, pa.Array, bool]:
    """The values of ``array`` as a binary array (empty for NULL), their lengths (int32, -1 for NULL)
    and whether there are NULLs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = _vector_text(array, kind) if fmt == 0 else _vector_binary(array, kind)
    if values is None:
        encode = t.text_value if fmt == 0 else t.binary_value
        values = pa.array([None if v is None else encode(v, kind) for v in array.to_pylist()], pa.binary())
    elif not pa.types.is_binary(values.type):
        values = values.cast(pa.binary())
    lengths = pc.binary_length(values)
    if values.null_count:
        return values.fill_null(b""), lengths.fill_null(-1), True
    return values, lengths, False


def _vector_text(array: pa.Array, kind: t.PgType) -> pa.Array | None:
    """The column in text format computed by Arrow, or None where Arrow's format differs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = array.type
    if pa.types.is_string(typ):
        return array
    if pa.types.is_large_string(typ):
        return array.cast(pa.string())
    if pa.types.is_integer(typ) or pa.types.is_decimal(typ) or pa.types.is_date(typ):
        return pc.cast(array, pa.string())
    if pa.types.is_boolean(typ):
        return pc.if_else(array, "t", "f")
    if pa.types.is_timestamp(typ) and kind.oid in (t.TIMESTAMP.oid, t.TIMESTAMPTZ.oid):
        if typ.tz is not None and typ.tz != "UTC":  # Arrow prints the zone's offset: in UTC, as PostgreSQL
            array = array.cast(pa.timestamp(typ.unit, "UTC"))
        text = pc.cast(array, pa.string())
        # PostgreSQL drops trailing zeros of the fraction (and the fraction when it is zero)
        text = pc.replace_substring_regex(text, r"\.0+(\+0000|Z)?$", r"\1")
        text = pc.replace_substring_regex(text, r"(\.\d*[1-9])0+(\+0000|Z)?$", r"\1\2")
        return pc.replace_substring_regex(text, r"(\+0000|Z)$", "+00")
    return None


_WIDTHS = {t.INT2.oid: 2, t.INT4.oid: 4, t.INT8.oid: 8, t.FLOAT4.oid: 4, t.FLOAT8.oid: 8, t.DATE.oid: 4}
_DAYS_TO_PG_EPOCH = 10_957  # 1970-01-01 to 2000-01-01


def _vector_binary(array: pa.Array, kind: t.PgType) -> pa.Array | None:
    """The column in binary format computed by Arrow (fixed-width numbers, booleans, dates), or None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ, width = array.type, _WIDTHS.get(kind.oid)
    if kind.oid == t.BOOL.oid and pa.types.is_boolean(typ):
        return pc.if_else(array, pa.scalar(b"\x01"), pa.scalar(b"\x00"))
    if width is None or not (
        pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_date32(typ)
    ):
        return None
    if kind.oid == t.DATE.oid:
        array = pc.subtract(array.cast(pa.int32()), pa.scalar(_DAYS_TO_PG_EPOCH, pa.int32()))
    elif kind.oid in (t.FLOAT4.oid, t.FLOAT8.oid):
        array = array.cast(pa.float32() if width == 4 else pa.float64())
    else:
        array = array.cast({2: pa.int16(), 4: pa.int32(), 8: pa.int64()}[width])
    return _big_endian(array, width)  # a NULL's bytes are dropped with it


def _int32_bytes(numbers: pa.Array) -> pa.Array:
    """Each int32 of ``numbers`` as 4 bytes in network order (a binary array)."""
    return _big_endian(numbers, 4)


def _big_endian(numbers: pa.Array, width: int) -> pa.Array:
    """Each fixed-width number as ``width`` bytes in network order, as a binary array (nulls kept)."""
    import pyarrow as pa

    validity = numbers.is_valid().buffers()[1] if numbers.null_count else None
    start, data = numbers.offset * width, numbers.buffers()[1]
    if data is None:  # no values at all
        return pa.nulls(len(numbers), pa.binary())
    swapped = c_array(_TYPECODES[width])
    swapped.frombytes(memoryview(data)[start : start + len(numbers) * width])
    if _LITTLE:
        swapped.byteswap()
    fixed = pa.Array.from_buffers(pa.binary(width), len(numbers), [validity, pa.py_buffer(swapped)])
    return fixed.cast(pa.binary())


class Rows:
    """The rows of an answer, computed (in a worker thread) as they are taken: all of them for a simple
    query, ``limit`` at a time for a portal's Execute or a cursor's FETCH.

    Batches already in memory (a catalog answer, SHOW) are taken without a thread; :meth:`fill`, called
    on the worker thread that started the query, computes its first batch (and, when that one is short,
    whether another follows), so that a small answer reaches the client without a thread hop per batch.
    """

    def __init__(self, batches: Iterable[pa.RecordBatch], close: Callable[[], None] | None = None) -> None:
        self._close = close
        self._ready: deque[pa.RecordBatch] = deque()
        self._ended = isinstance(batches, list | tuple)
        if self._ended:
            self._ready.extend(b for b in batches if b.num_rows)
        self._batches = iter(() if self._ended else batches)

    def fill(self) -> None:
        """Compute the next batch now, on this (worker) thread, and the one after while they are short
        (a small answer ends here)."""
        while self._pull() is not None and self._ready[-1].num_rows < SHORT_BATCH:
            pass

    async def take(self, limit: int) -> AsyncIterator[pa.RecordBatch]:
        """The next ``limit`` rows (0: all that are left), as batches."""
        remaining = limit
        while limit <= 0 or remaining > 0:
            batch = await self._next()
            if batch is None:
                return
            if limit > 0 and batch.num_rows > remaining:
                self._ready.appendleft(batch.slice(remaining))
                batch = batch.slice(0, remaining)
            remaining -= batch.num_rows
            yield batch

    async def skip(self, limit: int) -> int:
        """Let the next ``limit`` rows go (0: all that are left), computed a batch at a time (MOVE);
        how many there were."""
        skipped = 0
        async for batch in self.take(limit):
            skipped += batch.num_rows
        return skipped

    async def more(self) -> bool:
        """Whether rows are left (computing the next batch to know)."""
        if not self._ready and not self._ended:
            await asyncio.to_thread(self._pull)
        return bool(self._ready)

    async def _next(self) -> pa.RecordBatch | None:
        if not self._ready and not self._ended:
            await asyncio.to_thread(self._pull)
        return self._ready.popleft() if self._ready else None

    def _pull(self) -> pa.RecordBatch | None:
        """The next non-empty batch computed and kept (None at the end)."""
        while not self._ended:
            batch = next(self._batches, None)
            if batch is None:
                self._ended = True
            elif batch.num_rows:
                self._ready.append(batch)
                return batch
        return None

    def close(self) -> None:
        """Stop computing the rest (a closed portal or cursor): the engine stops, its cursor is released."""
        if self._close is not None:
            self._close()


class Taken(Rows):
    """``limit`` rows (0: all that are left) of a cursor's rows, sent as they are computed (FETCH):
    closing them leaves the cursor open where they stopped, for the next FETCH."""

    def __init__(self, rows: Rows, limit: int) -> None:
        super().__init__(())
        self._rows = rows
        self._left: int | None = limit if limit > 0 else None  # None: all that are left

    async def take(self, limit: int) -> AsyncIterator[pa.RecordBatch]:
        if self._left == 0:
            return
        wanted = limit if self._left is None else min(limit, self._left) if limit > 0 else self._left
        async for batch in self._rows.take(wanted):
            if self._left is not None:
                self._left -= batch.num_rows
            yield batch

    async def more(self) -> bool:
        return self._left != 0 and await self._rows.more()

    def close(self) -> None:
        """The cursor stays open (CLOSE closes it)."""
