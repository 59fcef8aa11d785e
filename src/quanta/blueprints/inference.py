"""Profile data for a first contract: one aggregate scan, then a small sample for classes and patterns.

The scan computes, for every column at once, the row count, nulls, an approximate distinct count,
min/max, string lengths and (for text) the most frequent values. Columns whose distinct count comes
close to the row count are confirmed as keys with an exact count of only those columns. The sensitive-data
classifiers of :mod:`quanta.governance.classify` and the shape of text values read the first rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quanta.errors import QuantaError

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.engines.base import Engine, Input
    from quanta.governance.classify import Detection

SAMPLE_ROWS = 2000
ENUM_LIMIT = 12
"""At most this many distinct text values (each seen at least twice on average) make an enum."""
_KEY_SLACK = 0.97  # approximate distinct counts err by a few percent: confirm those near the row count
_KEY_TYPES = ("integer", "string", "date", "timestamp")  # not floats: equal by accident, not by design

_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER")
_NUMBER = ("FLOAT", "DOUBLE", "DECIMAL", "REAL")
_LOGICAL = {
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIME": "time",
}


class InferenceError(QuantaError):
    """Data that cannot be profiled: unreadable, empty, or of no columns."""


@dataclass(frozen=True)
class ColumnProfile:
    """What one scan says about a column, and what the sample adds."""

    name: str
    engine_type: str
    nulls: int
    distinct: int
    minimum: object = None
    maximum: object = None
    min_length: int | None = None
    max_length: int | None = None
    frequent: list[str] | None = None
    unique: bool = False
    pattern: str | None = None
    detection: Detection | None = None

    @property
    def logical_type(self) -> str:
        base = self.engine_type.upper().split("(", maxsplit=1)[0]
        if base.startswith(_INTEGER) or base == "UBIGINT":
            return "integer"
        if base.startswith(_NUMBER):
            return "number"
        if base.startswith("TIMESTAMP"):
            return "timestamp"
        if base.endswith("[]") or base.startswith(("LIST", "ARRAY")):
            return "array"
        if base.startswith(("STRUCT", "MAP")):
            return "object"
        return _LOGICAL.get(base, "string")

    @property
    def is_text(self) -> bool:
        return self.engine_type.upper() == "VARCHAR"

    @property
    def is_numeric(self) -> bool:
        return self.logical_type in ("integer", "number")


@dataclass(frozen=True)
class Profile:
    """A table's profile: where it came from, how many rows, and each column's."""

    source: str
    rows: int
    columns: list[ColumnProfile]
    sample_rows: int = 0
    keys: list[str] = field(default_factory=list)


def profile(engine: Engine, data: Input, shown: str) -> Profile:
    """Profile ``data`` (bound as ``source``): one aggregate scan plus exact counts of key candidates."""
    scanned = scan(engine, data, shown)
    rows, found = scanned.rows, scanned.columns
    if rows == 0:
        raise InferenceError(
            f"{shown} holds no rows: nothing to infer a contract from",
            hint="point --from at data with at least one row",
        )
    keys = _confirmed_keys(engine, data, found, rows)
    sample = engine.query(f"select * from source limit {SAMPLE_ROWS}", {"source": data})
    found = _with_sample(found, keys, sample)
    return Profile(shown, rows, found, sample.num_rows, keys)


def scan(engine: Engine, data: Input, shown: str) -> Profile:
    """The aggregate scan alone (rows, and each column's nulls, distinct count, range, lengths and most
    frequent text values): no key counts, no sample. Data of no rows gives a profile of 0 rows."""
    columns = engine.describe("select * from source", {"source": data})
    if not columns:
        raise InferenceError(f"{shown} has no columns", hint="check the file or table holds data")
    row = engine.first_row(_scan_sql(columns), {"source": data})
    width = _PER_COLUMN
    found = [
        _column(name, kind, row[1 + i * width : 1 + (i + 1) * width])
        for i, (name, kind) in enumerate(columns)
    ]
    return Profile(shown, int(row[0]), found)


_PER_COLUMN = 7


def _scan_sql(columns: list[tuple[str, str]]) -> str:
    parts = ["count(*)"]
    for name, kind in columns:
        col = _quote(name)
        text = kind.upper() == "VARCHAR"
        orderable = not kind.upper().startswith(("STRUCT", "MAP", "LIST", "UNION")) and "[" not in kind
        parts += [
            f"count(*) - count({col})",
            f"approx_count_distinct({col})" if orderable else "null",
            f"min({col})" if orderable and not text else "null",
            f"max({col})" if orderable and not text else "null",
            f"min(length({col}))" if text else "null",
            f"max(length({col}))" if text else "null",
            f"approx_top_k({col}, {ENUM_LIMIT + 1})" if text else "null",
        ]
    return f"select {', '.join(parts)} from source"


def _column(name: str, kind: str, values: tuple[object, ...]) -> ColumnProfile:
    nulls, distinct, low, high, short, long, frequent = values
    return ColumnProfile(
        name=name,
        engine_type=kind,
        nulls=int(nulls or 0),  # type: ignore[call-overload]
        distinct=int(distinct or 0),  # type: ignore[call-overload]
        minimum=low,
        maximum=high,
        min_length=short if isinstance(short, int) else None,
        max_length=long if isinstance(long, int) else None,
        frequent=[str(v) for v in frequent] if isinstance(frequent, list) else None,
    )


def _confirmed_keys(engine: Engine, data: Input, columns: list[ColumnProfile], rows: int) -> list[str]:
    candidates = [
        c
        for c in columns
        if c.nulls == 0 and c.distinct >= rows * _KEY_SLACK and c.logical_type in _KEY_TYPES
    ]
    if not candidates:
        return []
    counts = engine.first_row(
        "select " + ", ".join(f"count(distinct {_quote(c.name)})" for c in candidates) + " from source",
        {"source": data},
    )
    return [c.name for c, n in zip(candidates, counts, strict=True) if n == rows]


def _with_sample(columns: list[ColumnProfile], keys: list[str], sample: pa.Table) -> list[ColumnProfile]:
    from dataclasses import replace

    from quanta.governance.classify import detect

    detections = {d.column: d for d in detect(sample, sample_rows=SAMPLE_ROWS)}
    found = []
    for column in columns:
        values = sample.column(column.name).drop_null().to_pylist() if column.is_text else []
        found.append(
            replace(
                column,
                unique=column.name in keys,
                pattern=shape_pattern([str(v) for v in values]),
                detection=detections.get(column.name),
            )
        )
    return found


_SHAPES = (
    (re.compile(r"[0-9]+"), "[0-9]"),
    (re.compile(r"[A-Z]+"), "[A-Z]"),
    (re.compile(r"[a-z]+"), "[a-z]"),
)


def shape_pattern(values: list[str]) -> str | None:
    """A regular expression every value fits, when they all share one shape of digits, letters and
    punctuation (``25-989-741-2988`` ► ``^[0-9]{2}-[0-9]{3}-[0-9]{3}-[0-9]{4}$``); None for free text."""
    if len(values) < 2:
        return None
    shapes = {_shape(v) for v in values}
    if len(shapes) != 1:
        return None
    (shape,) = shapes
    if shape is None or "[0-9]" not in shape:  # words alone are free text, not a format
        return None
    return f"^{shape}$"


def _shape(value: str) -> str | None:
    out, i = [], 0
    while i < len(value):
        for regex, klass in _SHAPES:
            match = regex.match(value, i)
            if match:
                out.append(f"{klass}{{{len(match.group())}}}")
                i = match.end()
                break
        else:
            char = value[i]
            if char.isalnum() or (char.isspace() and char != " "):
                return None  # letters outside ASCII, tabs: no simple shape
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
