"""The result cache: the rows of a governed query, kept to answer the same query again without the engine.

A dashboard, a BI tool's refresh or an agent's retry sends the same SQL again and again; a product
version is immutable, so the answer is too. The cache keeps small results (a few MiB of Arrow at most
each, a bounded total, least recently used out first) by the *governed* SQL the engine would run: the
statement with each product replaced by a view named by the hash of what the principal sees (the
snapshot's files, granted columns, masks, row filters). So:

- governance runs on every query, before the cache is asked: the product is resolved, the grant and the
  policies checked, the read audited, as for a query the engine runs. A revoked grant is refused;
- two principals share an entry only when they see the products alike (the same views); a new version,
  another mask or another row filter is another view, so another entry: nothing is ever invalidated,
  entries age out;
- a statement whose answer can change between two runs is never kept: one that reads the clock, the
  session or a random source (``now()``, ``current_date``, ``random()``, ``uuid()``, ``TABLESAMPLE`` ...),
  in the query or in a row filter. The engine says which of its functions are such
  (:meth:`quanta.engines.duckdb.DuckDBEngine.unstable_words`);
- only a result read to its end is kept (not one closed early, nor one that failed).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
ENTRY_SHARE = 16
"""One entry holds at most this share of the cache (a result larger than that is not kept)."""


def words(sql: str) -> set[str]:
    """The identifiers and keywords of ``sql``, lower case (words in literals too: a false positive
    only keeps a statement out of the cache)."""
    return {word.lower() for word in _WORD.findall(sql)}


@dataclass(frozen=True)
class CachedResult:
    """A kept result: the schema and the batches, as the engine produced them."""

    schema: pa.Schema
    batches: tuple[pa.RecordBatch, ...]
    nbytes: int


class ResultCache:
    """Kept results by key, within ``max_bytes`` in all (0: keep nothing); thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, max_bytes)
        self.entry_bytes = self.max_bytes // ENTRY_SHARE
        """The largest result kept."""
        self._entries: OrderedDict[object, CachedResult] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: object) -> CachedResult | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: object, schema: pa.Schema, batches: list[pa.RecordBatch]) -> bool:
        """Keep a result read to its end, unless it is larger than :attr:`entry_bytes`; older entries
        go until the total fits. Whether it was kept."""
        size = sum(batch.get_total_buffer_size() for batch in batches)  # a slice holds its whole buffers
        if not self.max_bytes or size > self.entry_bytes:
            return False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[key] = CachedResult(schema, tuple(batches), size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes
        return True


class Keeper:
    """Collects the batches of one result as they are handed out, while they fit in an entry; puts
    them in the cache once the result has been read to its end."""

    def __init__(self, cache: ResultCache, key: object) -> None:
        self.cache, self.key = cache, key
        self._batches: list[pa.RecordBatch] | None = []
        self._bytes = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if self._batches is None:
            return
        self._bytes += batch.get_total_buffer_size()
        if self._bytes > self.cache.entry_bytes:
            self._batches = None  # too large to keep: hold nothing more
        else:
            self._batches.append(batch)

    def done(self, schema: pa.Schema) -> None:
        if self._batches is not None:
            self.cache.put(self.key, schema, self._batches)
