"""Transforms: SQL (DuckDB dialect, input ports referenced by name) or a Python function."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quanta.engines.base import ArrowInput, Engine, Input
from quanta.errors import EngineCatalogError, EngineConversionError, EngineError, Problem, QuantaError
from quanta.spec.loader import LoadedProduct

_LINE = re.compile(r"LINE (\d+):")


class BuildError(QuantaError):
    """A product could not be built; the message names the product, the file and the fix."""


@dataclass(frozen=True)
class Transform:
    """The SQL a build runs, and where it came from (for positioned errors)."""

    sql: str
    file: Path | None
    python: str | None = None


def load_transform(loaded: LoadedProduct) -> Transform:
    build = loaded.product.build
    spec = build.transform if build else None
    if spec is None or (spec.sql is None and spec.python is None):
        inputs = [p.name for p in loaded.product.input_ports or []]
        if len(inputs) != 1:
            raise BuildError(
                f"{loaded.product.id}: no transform, and not exactly one input port to copy",
                hint="add build.transform.sql (or .python) to the descriptor",
            )
        return Transform(f'select * from "{inputs[0]}"', None)
    if spec.python:
        return Transform('select * from "__result"', None, python=spec.python)
    assert spec.sql is not None
    text = spec.sql.strip()
    if text.endswith(".sql") and "\n" not in text:
        file = loaded.folder / text
        return Transform(file.read_text(encoding="utf-8"), file)
    return Transform(spec.sql, None)


def run_python(loaded: LoadedProduct, spec: str, engine: Engine, inputs: dict[str, Input]) -> ArrowInput:
    """Call ``file.py:function`` with the inputs as DuckDB relations; its result becomes ``__result``."""
    if not engine.SUPPORTS_PYTHON_TRANSFORMS:
        raise BuildError(
            f"{loaded.product.id}: Python transforms need an engine that runs them, not {engine.name}",
            hint="use build.engine: duckdb",
        )
    file_name, _, function_name = spec.partition(":")
    path = loaded.folder / file_name
    module_spec = importlib.util.spec_from_file_location(
        f"quanta_transform_{loaded.product.id.replace('.', '_')}", path
    )
    if module_spec is None or module_spec.loader is None:
        raise BuildError(f"{loaded.product.id}: cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
        function = getattr(module, function_name)
        with engine.python_inputs(inputs) as relations:
            result: Any = function(**relations) if _takes_names(function, relations) else function(relations)
            table = _to_arrow(result)
    except BuildError:
        raise
    except Exception as exc:  # the producer's code failed: show its error, positioned in their file
        raise BuildError(
            f"{loaded.product.id}: Python transform {spec} failed: {type(exc).__name__}: {exc}",
            hint=f"fix {path}; it gets the inputs {sorted(inputs)} as DuckDB relations and returns a table",
        ) from exc
    return ArrowInput(table)


def _takes_names(function: Any, relations: dict[str, Any]) -> bool:
    import inspect

    params = inspect.signature(function).parameters
    return bool(params) and set(params) <= set(relations) and len(params) == len(relations)


def _to_arrow(result: Any) -> Any:
    import pyarrow as pa

    if hasattr(result, "to_arrow_table"):
        return result.to_arrow_table()
    if isinstance(result, (pa.Table, pa.RecordBatchReader)):
        return result
    if hasattr(result, "to_arrow"):  # polars
        return result.to_arrow()
    if result.__class__.__name__ == "DataFrame":  # pandas
        return pa.Table.from_pandas(result, preserve_index=False)
    raise BuildError(
        f"a Python transform must return a table (DuckDB relation, Arrow, pandas), got {type(result)}"
    )


def sql_error(product_id: str, transform: Transform, exc: EngineError, source: str) -> BuildError:
    """An engine error as a positioned build error: the line in the .sql file when there is one."""
    text = str(exc).strip()
    lines = text.splitlines()
    first = lines[0] if lines else type(exc).__name__
    # DuckDB puts the telling detail (which value, which column) on later lines.
    detail = [
        line.strip() for line in lines[1:] if "Could not convert" in line or "Error when converting" in line
    ]
    if detail and isinstance(exc, EngineConversionError):
        first = f"{first}: {detail[0]}"
    match = _LINE.search(text)
    where = ""
    if transform.file is not None:
        line = int(match[1]) if match else None
        where = Problem("", source=str(transform.file), line=line).location + ": "
    return BuildError(f"{product_id}: {where}transform SQL failed: {first}", hint=_hint(exc, first, source))


def _hint(exc: EngineError, message: str, source: str) -> str:
    if "Referenced column" in message or "not found in FROM clause" in message:  # binder errors
        return f"check the column names of the inputs ({source})"
    if isinstance(exc, EngineCatalogError):
        return f"reference input ports by name: {source}"
    if isinstance(exc, EngineConversionError):
        return "the data does not fit the contract's type: cast or clean it in the transform"
    return "fix the transform SQL and build again"
