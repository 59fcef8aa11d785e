"""Writing a stream of record batches to a file, a terminal or a response body, one batch at a time.

A governed query's result can be larger than memory (a cross join, a careless self-join); these
writers hold one batch at a time, so exporting it needs only disk space.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def write_csv(reader: pa.RecordBatchReader, sink: IO[bytes]) -> int:
    """``reader`` as CSV with a header line; returns the number of rows written."""
    import pyarrow.csv as pacsv

    with pacsv.CSVWriter(sink, reader.schema) as writer:
        return _write_batches(reader, writer.write_batch)


def write_json(reader: pa.RecordBatchReader, sink: IO[str]) -> int:
    """``reader`` as one JSON array of objects (the shape of ``quanta query --json``)."""
    rows = 0
    sink.write("[")
    for batch in reader:
        for row in batch.to_pylist():
            sink.write(
                ("\n  " if rows == 0 else ",\n  ") + json.dumps(row, default=_plain, ensure_ascii=False)
            )
            rows += 1
    sink.write("\n]\n" if rows else "]\n")
    return rows


def _plain(value: Any) -> str:
    """Dates and times in ISO format (like ``quanta query --json`` always wrote them), else text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def write_parquet(reader: pa.RecordBatchReader, sink: IO[bytes]) -> int:
    """``reader`` as one Parquet file, a row group per few batches."""
    import pyarrow.parquet as pq

    with pq.ParquetWriter(sink, reader.schema) as writer:
        return _write_batches(reader, writer.write_batch)


def _write_batches(reader: pa.RecordBatchReader, write: Callable[[pa.RecordBatch], None]) -> int:
    rows = 0
    for batch in reader:
        write(batch)
        rows += batch.num_rows
    return rows


def _binary(write: Callable[[pa.RecordBatchReader, IO[bytes]], int]) -> Callable[[Any, Path], int]:
    def to_file(reader: pa.RecordBatchReader, target: Path) -> int:
        with target.open("wb") as sink:
            return write(reader, sink)

    return to_file


def _json_file(reader: pa.RecordBatchReader, target: Path) -> int:
    with target.open("w", encoding="utf-8") as sink:
        return write_json(reader, sink)


WRITERS: dict[str, Callable[[pa.RecordBatchReader, Path], int]] = {
    ".csv": _binary(write_csv),
    ".json": _json_file,
    ".parquet": _binary(write_parquet),
}
"""The file types a query result can be exported to, by suffix."""


def write_file(reader: pa.RecordBatchReader, target: Path) -> int:
    """``reader`` into ``target`` in the format its suffix names (see :data:`WRITERS`); the rows."""
    return WRITERS[target.suffix.lower()](reader, target)


class _Chunks:
    """A file-like sink whose bytes are taken after each batch (a response body, chunk by chunk)."""

    closed = False

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here: :meth:`take` hands out what was written."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def csv_chunks(reader: pa.RecordBatchReader) -> Iterator[bytes]:
    """``reader`` as CSV (a header line first), one chunk per batch."""
    import pyarrow.csv as pacsv

    sink = _Chunks()
    with pacsv.CSVWriter(sink, reader.schema) as writer:
        yield sink.take()
        for batch in reader:
            writer.write_batch(batch)
            yield sink.take()
    yield sink.take()


def arrow_chunks(reader: pa.RecordBatchReader) -> Iterator[bytes]:
    """``reader`` as an Arrow IPC stream (schema, then a message per batch, then end of stream)."""
    import pyarrow as pa

    sink = _Chunks()
    with pa.ipc.new_stream(sink, reader.schema) as writer:
        yield sink.take()
        for batch in reader:
            writer.write_batch(batch)
            yield sink.take()
    yield sink.take()


ENCODINGS: dict[str, Callable[[pa.RecordBatchReader], Iterator[bytes]]] = {
    "csv": csv_chunks,
    "arrow": arrow_chunks,
}
"""The byte encodings a stream can be sent in (a download, an HTTP response), by name."""
