"""Compute engines, looked up by name (``build.engine`` in a descriptor).

Built-in engines register in ``ENGINES``; third parties add theirs through the ``quanta.engines``
entry point group. Modules are imported only when an engine is used.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from quanta.engines.base import ArrowInput, Column, Engine, FileScan, Input, TableScan
from quanta.errors import QuantaError

ENGINES: dict[str, str] = {"duckdb": "quanta.engines.duckdb:DuckDBEngine"}


class EngineError(QuantaError):
    """An engine is unknown, unavailable, or failed to run a statement."""


def engine_names() -> list[str]:
    return sorted({*ENGINES, *(ep.name for ep in entry_points(group="quanta.engines"))})


def get_engine(name: str = "duckdb", **options: Any) -> Engine:
    """A new engine instance by name."""
    target = ENGINES.get(name) or next(
        (ep.value for ep in entry_points(group="quanta.engines") if ep.name == name), None
    )
    if target is None:
        raise EngineError(f"unknown engine {name!r}", hint=f"use one of: {', '.join(engine_names())}")
    module, _, attr = target.partition(":")
    engine_class: type[Engine] = getattr(import_module(module), attr)
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
