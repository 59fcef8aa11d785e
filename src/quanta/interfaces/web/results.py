"""Governed query results as the results grid shows them (sample rows and the data lab)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from quanta.errors import QuantaError

if TYPE_CHECKING:
    from quanta.mesh import Mesh

MAX_ROWS = 1000


@dataclass(frozen=True)
class Grid:
    """The first rows of a result, as text, and what governance did to them."""

    kind: ClassVar[str] = "grid"

    columns: list[str]
    rows: list[list[str | None]]
    truncated: bool
    masked: dict[str, dict[str, str]]
    """Per product, the masked columns and their mask."""
    filtered: list[str]
    """Products whose rows were filtered for the viewer."""
    millis: int

    @property
    def masked_columns(self) -> set[str]:
        return {column for masks in self.masked.values() for column in masks}


@dataclass(frozen=True)
class Refusal:
    """Why a query did not run: the error's message and hint, and the product to ask access to."""

    kind: ClassVar[str] = "refusal"

    message: str
    hint: str | None
    product_id: str | None
    title: str = "The query did not run"


def run_grid(mesh: Mesh, sql: str, rows: int = MAX_ROWS) -> Grid:
    """Run ``sql`` through the governed query service as the acting principal; at most ``rows``."""
    started = time.perf_counter()
    result = mesh.governed_query(sql, limit=rows + 1)
    table = result.table
    values = [column.to_pylist() for column in table.slice(0, rows).columns]
    return Grid(
        table.column_names,
        [[None if v is None else str(v) for v in row] for row in zip(*values, strict=True)],
        table.num_rows > rows,
        {p: dict(m) for p, m in result.masked.items() if m},
        sorted(result.filtered),
        int((time.perf_counter() - started) * 1000),
    )


def attempt(mesh: Mesh, sql: str, rows: int = MAX_ROWS) -> Grid | Refusal:
    """:func:`run_grid`, with a refusal (access, parse, policy) returned as data for the page."""
    try:
        return run_grid(mesh, sql, rows)
    except QuantaError as exc:
        return refusal(exc)


def refusal(exc: QuantaError, title: str | None = None) -> Refusal:
    found = Refusal(exc.message, exc.hint, getattr(exc, "product_id", None))
    return replace(found, title=title) if title else found
