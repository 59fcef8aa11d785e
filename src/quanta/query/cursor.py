"""One governed query running on its own engine cursor: started on the first read, read one batch at a
time, and stopped by :meth:`RunningQuery.close` from any thread (the engine is interrupted, the
cursor released).

Memory is bounded by the batch size, not by the result: the engine computes the next batch only when
the reader asks for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from quanta.query.products import QueryError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from quanta.query.results import CachedResult, Keeper


BATCH_ROWS = 8192
"""Rows per batch of a governed stream: what one reader holds in memory at a time."""
MAX_BATCH_ROWS = 8 * BATCH_ROWS
"""Rows per batch at most, whatever size was asked for."""
# Bytes a value of each DuckDB type takes in Arrow (variable-width ones: a guess, with their offset).
_WIDTHS = {"boolean": 1, "tinyint": 1, "utinyint": 1, "smallint": 2, "usmallint": 2, "integer": 4,
           "uinteger": 4, "bigint": 8, "ubigint": 8, "hugeint": 16, "uhugeint": 16, "float": 4,
           "double": 8, "decimal": 16, "date": 4, "time": 8, "interval": 16, "uuid": 40}  # fmt: skip
_VARIABLE_WIDTH = 32


def batch_rows(relation: Any, batch_bytes: int) -> int:
    """Rows per batch for batches of about ``batch_bytes``, by the relation's column types (a string,
    list or struct counted as 32 bytes: longer ones make larger batches), within ``BATCH_ROWS`` and
    ``MAX_BATCH_ROWS``."""
    width = 0
    for typ in relation.types:
        name = str(typ.id)
        width += _WIDTHS.get(name, 8 if name.startswith("timestamp") else _VARIABLE_WIDTH)
    return max(BATCH_ROWS, min(MAX_BATCH_ROWS, batch_bytes // max(width, 1)))


class QueryCancelled(QueryError):
    """The query was stopped (its stream closed, or cancelled by the client) before its last row."""


class RunningQuery:
    """A query bound on its own cursor (unknown columns and types already failed), not yet computed;
    or a result the cache kept (``connection`` and ``relation`` None, ``cached`` its rows)."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection | None,
        relation: duckdb.DuckDBPyRelation | None,
        *,
        batch_rows: int,
        audit: Future[list[int]] | None,
        translate: Callable[[Exception], Exception],
        finished: Callable[[Exception | None], None] | None = None,
        cached: CachedResult | None = None,
        keeper: Keeper | None = None,
    ) -> None:
        self._connection, self._relation, self._batch_rows = connection, relation, batch_rows
        self._audit, self._translate, self._finished = audit, translate, finished
        self._cached, self._keeper = cached, keeper
        self._error: Exception | None = None
        self._reader: pa.RecordBatchReader | None = None
        self._source: pa.RecordBatchReader | None = None
        self._held: list[pa.RecordBatch] = []  # a batch computed ahead by prefetch()
        self._ended = False
        self._lock = threading.Lock()  # held while the engine computes; close() waits for it
        self.closed = False
        self.rows = 0
        """Rows handed out so far."""
        self.complete = False
        """Whether the last row has been read (not closed early)."""
        self.read_through: list[Callable[[int], None]] = []
        """Called with the row count once the last row has been read (not when closed early)."""

    def audit_ids(self) -> list[int]:
        """The audit entries of the query (written while the engine starts; waits for them)."""
        return self._audit.result() if self._audit is not None else []

    def reader(self) -> pa.RecordBatchReader:
        """The rows, as a reader; the engine starts on the first call (a blocking query, such as an
        aggregate, computes here: :meth:`close` from another thread interrupts it)."""
        import pyarrow as pa

        with self._lock:
            if self._reader is None:
                if self.closed:
                    raise QueryCancelled("the query was cancelled", hint="run it again")
                try:
                    if self._cached is not None:
                        cached = self._cached
                        self._source = pa.RecordBatchReader.from_batches(cached.schema, cached.batches)
                    else:
                        assert self._relation is not None
                        self._source = self._relation.to_arrow_reader(self._batch_rows)
                except Exception as exc:
                    raise self._failure(exc) from None
                self._reader = pa.RecordBatchReader.from_batches(self._source.schema, self._batches())
            return self._reader

    def prefetch(self) -> None:
        """Compute the first batch now (held for the reader): an engine failure raises here."""
        self.reader()
        with self._lock:
            if self._held or self._ended or self.rows or self.closed:
                return
            batch = self._next_batch()
            if batch is None:
                self._ended = True
            else:
                self._held.append(batch)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        try:
            self.audit_ids()  # nothing leaves that the audit log does not hold
            while True:
                with self._lock:
                    if self.closed:
                        raise QueryCancelled("the query was cancelled", hint="run it again")
                    if self._held:
                        batch = self._held.pop()
                    elif self._ended:
                        break
                    else:
                        batch = self._next_batch()
                        if batch is None:
                            break
                self.rows += batch.num_rows
                if self._keeper is not None:
                    self._keeper.add(batch)
                yield batch
            self.complete = True
            if self._keeper is not None and self._source is not None:
                self._keeper.done(self._source.schema)
            for callback in self.read_through:
                callback(self.rows)
        finally:
            self.close()  # the cursor is released as soon as the last row is read

    def _next_batch(self) -> pa.RecordBatch | None:
        assert self._source is not None
        try:
            return self._source.read_next_batch()
        except StopIteration:
            return None
        except Exception as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: Exception) -> Exception:
        """``exc`` as the user sees it (a cancellation when the stream was closed meanwhile); an
        engine failure is passed to ``finished`` when the stream closes."""
        if self.closed:
            return QueryCancelled("the query was cancelled", hint="run it again")
        self._error = self._translate(exc)
        return self._error

    def close(self) -> None:
        """Stop the query (interrupting the engine if it is computing) and release the cursor; a reader
        in another thread then raises :class:`QueryCancelled`. ``finished`` learns how it ended (the
        engine's failure, or None). Safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        if self._connection is not None:
            with suppress(Exception):
                self._connection.interrupt()
        with self._lock:
            with suppress(Exception):
                if self._source is not None:
                    self._source.close()
            if self._connection is not None:
                with suppress(Exception):
                    self._connection.close()
        if self._finished is not None:
            with suppress(Exception):
                self.audit_ids()  # the allow entries first: a failure's entry follows them in the log
            self._finished(self._error)
