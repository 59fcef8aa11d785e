"""Source readers: how an input port's external source becomes an engine ``Input``.

One reader class per source type, registered in ``READERS`` under the type a descriptor names
(``file``, ``database``); :func:`reader_for` picks one. Files become a ``FileScan`` the engine reads itself
(:mod:`.files`); database rows stream through SQLAlchemy into Arrow record batches with an explicit schema
(:mod:`.database`, :mod:`.arrow`). Driver errors are translated once, into :class:`SourceError` naming the
source and how to fix it.
"""

from __future__ import annotations

from typing import Any

from quanta.build.sources.arrow import arrow_type
from quanta.build.sources.base import S, SourceError, SourceReader
from quanta.build.sources.database import (
    DatabaseReader,
    database_url,
    query_types,
    since_param,
    table_columns,
)
from quanta.build.sources.files import (
    COMPRESSIONS,
    CURSOR_TYPES,
    FORMATS,
    FileReader,
    cursor_filter,
    first_matching,
    infer_format,
    matching_files,
)
from quanta.spec.product import DatabaseSource, FileSource

__all__ = [
    "COMPRESSIONS",
    "CURSOR_TYPES",
    "FORMATS",
    "READERS",
    "DatabaseReader",
    "FileReader",
    "S",
    "SourceError",
    "SourceReader",
    "arrow_type",
    "cursor_filter",
    "database_url",
    "first_matching",
    "infer_format",
    "matching_files",
    "query_types",
    "reader_for",
    "since_param",
    "table_columns",
]


def reader_for(source: FileSource | DatabaseSource) -> SourceReader[Any]:
    """The reader registered for ``source.type``."""
    reader = READERS.get(source.type)
    if reader is None:
        raise SourceError(f"unknown source type {source.type!r}", hint=f"use one of: {', '.join(READERS)}")
    return reader()


READERS: dict[str, type[SourceReader[Any]]] = {
    FileReader.type: FileReader,
    DatabaseReader.type: DatabaseReader,
}
