"""What every source reader shares: the reader interface and the one error a source raises."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from quanta.engines.base import Input
from quanta.errors import QuantaError
from quanta.spec.product import DatabaseSource, FileSource

S = TypeVar("S", FileSource, DatabaseSource)


class SourceError(QuantaError):
    """An external source cannot be read: no files, an unreachable database, a bad table or query."""


class SourceReader(ABC, Generic[S]):
    """Turns one kind of source into an engine input, optionally only the rows past a cursor value."""

    type: ClassVar[str]

    @abstractmethod
    def read(self, source: S, *, root: Path, since: object | None = None) -> Input:
        """The rows of ``source`` (paths relative to ``root``); with ``since``, only rows past the cursor."""
