"""Compute engines, looked up by name (``build.engine`` in a descriptor).

Built-in engines register in ``ENGINES``; third parties add theirs through the ``quanta.engines``
entry point group. Modules are imported only when an engine is used.
"""

from __future__ import annotations

from typing import Any

from quanta.engines.base import ArrowInput, Column, Engine, FileScan, Input, TableScan
from quanta.errors import EngineError  # its subclasses, one per kind of failure, are there too
from quanta.plugins import PluginRegistry

ENGINES: dict[str, str] = {"duckdb": "quanta.engines.duckdb:DuckDBEngine"}
_REGISTRY = PluginRegistry("quanta.engines", ENGINES, Engine)


def engine_names() -> list[str]:
    return _REGISTRY.names()


def get_engine(name: str = "duckdb", **options: Any) -> Engine:
    """A new engine instance by name."""
    engine_class = _REGISTRY.find(name)
    if engine_class is None:
        raise EngineError(f"unknown engine {name!r}", hint=f"use one of: {', '.join(engine_names())}")
    return engine_class(**options)


__all__ = [
    "ArrowInput",
    "Column",
    "Engine",
    "EngineError",
    "FileScan",
    "Input",
    "TableScan",
    "engine_names",
    "get_engine",
]
