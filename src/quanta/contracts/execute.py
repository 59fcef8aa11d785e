"""Run a contract object's checks: one aggregate scan, metadata answers, SQL rules, sample rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quanta.contracts.aggregates import (
    INTEGER_TYPES,
    Metric,
    bounded_duplicates,
    compile_metrics,
    q,
    relationship_metrics,
    sql_rules,
)
from quanta.contracts.run import Check, Run, verdict_of
from quanta.engines.base import ColumnStats, Engine, Input
from quanta.errors import EngineError
from quanta.spec.contract import Contract, SchemaObject, SchemaProperty

SAMPLE_ROWS = 5
# A contract test is a few aggregates over whole tables. With DuckDB's default cap (80% of RAM) its
# buffers grow with the data read (lineitem SF1: 577 MiB peak RSS); capped, the same scan runs in the
# same CPU time at about 400 MiB. What needs more (a uniqueness check on billions of keys) spills to a
# temporary folder rather than failing.
SCAN_MEMORY_LIMIT = "300MB"


def scan_engine_options() -> dict[str, str]:
    """Engine options for testing a contract's files: the memory cap, and a private spill folder (not
    DuckDB's default ``.tmp`` in the user's working directory)."""
    import os
    import tempfile
    from pathlib import Path

    spill = Path(tempfile.gettempdir()) / f"quanta-test-{os.getpid()}"
    return {"memory_limit": SCAN_MEMORY_LIMIT, "temp_directory": str(spill)}


MASKED_LEVELS = {"confidential", "restricted", "secret"}
MASKED_TAGS = {"pii", "financial", "health", "sensitive"}


def masked_columns(obj: SchemaObject) -> set[str]:
    """Columns whose values never appear in sample rows: classified above internal, or tagged sensitive."""
    return {
        p.column
        for p in obj.properties or []
        if (p.classification or "").lower() in MASKED_LEVELS
        or MASKED_TAGS & {t.lower() for t in p.tags or []}
    }


@dataclass(frozen=True)
class _Scanned:
    """What judging each metric needs of the one aggregate scan: where the table is, how many rows it
    has, and which columns sample rows must mask."""

    engine: Engine
    inputs: dict[str, Input]
    obj: SchemaObject
    rows: int
    masked: set[str]
    samples: bool


def check_object(
    contract: Contract,
    obj: SchemaObject,
    engine: Engine,
    data: Input,
    stats: dict[str, ColumnStats] | None = None,
    *,
    related: dict[str, Input] | None = None,
    samples: bool = True,
) -> Run:
    """Test one table against one contract object. ``related`` holds the tables relationships point
    to (by name); relationships to tables not given are reported as skipped warnings."""
    from concurrent.futures import ThreadPoolExecutor

    from quanta.contracts.sqlrules import SqlQuery, prepare, run_query

    related = related or {}
    inputs = {**related, obj.name: data}
    pool = ThreadPoolExecutor(max_workers=2)
    described = pool.submit(schema_checks, obj, engine, data)
    # Parsing SQL rules holds the GIL; DESCRIBE does not: do both at once.
    prepared = [(column, prepare(rule, obj, column, list(inputs))) for rule, column in sql_rules(obj)]
    presence, missing, types = described.result()
    if missing:  # rules on columns that are not there would only fail the scan; report them once
        kept = [p for p in obj.properties or [] if p.column not in missing]
        obj = obj.model_copy(update={"properties": kept})
    # SQL rules that only count rows of this table join the scan; the others run beside it.
    rules = [p for column, p in prepared if column not in missing]
    metrics = compile_metrics(obj, types) + [p for p in rules if isinstance(p, Metric)]
    queries = [pool.submit(run_query, engine, inputs, p) for p in rules if isinstance(p, SqlQuery)]
    checkable, skipped = _relationships(obj, related)
    metrics += checkable
    run = Run(contract.id, list(presence))
    known = stats or {}
    metrics = [bounded_duplicates(m, known, types) if m.key else m for m in metrics]
    from_metadata = {
        id(m) for m in metrics if m.proven is not None and m.column in known and m.proven(known[m.column])
    }
    scanned = [m for m in metrics if id(m) not in from_metadata]
    # Rules measuring the same thing (a primary key and a duplicateValues rule on the same columns)
    # share one expression: the engine does not always spot that, and distinct counts are the cost.
    expressions = list(dict.fromkeys(["count(*)", *(m.expression for m in scanned)]))
    row = _aggregate(engine, inputs, obj.name, expressions)
    # When even counting rows fails (say, JSON not laid out as the server's delimiter says), every
    # rule below becomes an error check carrying the reader's message.
    rows = 0 if isinstance(row[0], Exception) else int(row[0] or 0)
    scan = _Scanned(engine, inputs, obj, rows, masked_columns(obj), samples)
    for metric in metrics:
        metadata = id(metric) in from_metadata
        value = 0 if metadata else row[expressions.index(metric.expression)]
        run.checks.append(_metric_check(scan, metric, value, metadata=metadata))
    run.checks += skipped
    run.checks += [p for p in rules if isinstance(p, Check)]
    run.checks += [future.result() for future in queries]
    pool.shutdown()
    return run


def _relationships(obj: SchemaObject, related: dict[str, Input]) -> tuple[list[Metric], list[Check]]:
    """Relationship metrics to the tables at hand, and a skipped warning for each to a table that is not."""
    metrics: list[Metric] = []
    skipped: list[Check] = []
    for metric, table in relationship_metrics(obj):
        if table in related or table == obj.name:
            metrics.append(metric)
        else:
            skipped.append(
                Check(
                    metric.name,
                    "relationship",
                    "warning",
                    None,
                    None,
                    obj.name,
                    metric.column,
                    "warning",
                    message=f"not checked: table {table!r} is not available here",
                )
            )
    return metrics, skipped


def _metric_check(scan: _Scanned, metric: Metric, value: Any, *, metadata: bool) -> Check:
    """One metric's check from its measured value (an exception when its expression failed)."""
    obj, engine = scan.obj, scan.engine
    if isinstance(value, Exception):
        return Check(
            metric.name,
            metric.kind,
            "error",
            None,
            None,
            obj.name,
            metric.column,
            metric.severity,
            metric.dimension,
            _first_line(value),
        )
    if metric.exact and value:
        value = engine.first_row(f"select {metric.exact} from {q(obj.name)} as __table", scan.inputs)[0]
    rows = scan.rows
    measured = (float(value) * 100 / rows if rows else 0.0) if metric.percent else value
    ok, threshold = metric.judge(measured, rows)
    verdict = verdict_of(ok, metric.severity)
    found = (
        _samples(engine, scan.inputs, obj, metric, scan.masked)
        if scan.samples and not ok and metric.predicate
        else None
    )
    return Check(
        metric.name,
        metric.kind,
        verdict,
        measured,
        threshold,
        obj.name,
        metric.column,
        metric.severity,
        metric.dimension,
        "answered from table metadata" if metadata else None,
        found,
    )


def _aggregate(engine: Engine, inputs: dict[str, Input], table: str, expressions: list[str]) -> list[Any]:
    """All expressions in one scan; if that scan fails, each on its own so one bad rule (say, on a
    column that does not exist) does not hide the others: its slot then holds the error."""
    select = ", ".join(f"{e} as m{i}" for i, e in enumerate(expressions))
    try:
        return list(engine.first_row(f"select {select} from {q(table)} as __table", inputs))
    except EngineError:
        values: list[Any] = []
        for expression in expressions:
            try:
                values.append(engine.first_row(f"select {expression} from {q(table)} as __table", inputs)[0])
            except EngineError as exc:  # recorded as this check's error
                values.append(exc)
        return values


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_COMPATIBLE = {
    "string": ("VARCHAR", "CHAR", "TEXT", "STRING", "UUID", "ENUM"),
    "integer": INTEGER_TYPES,
    "number": (*INTEGER_TYPES, "DECIMAL", "DOUBLE", "FLOAT", "REAL", "NUMERIC"),
    "boolean": ("BOOLEAN",),
    "date": ("DATE",),
    "timestamp": ("TIMESTAMP",),
    "time": ("TIME",),
    "object": ("STRUCT", "JSON", "MAP"),
    "array": ("[]", "LIST"),
    "map": ("MAP",),
}


def type_matches(logical: str, engine_type: str) -> bool:
    """Whether a column of ``engine_type`` can hold the contract's ``logicalType``."""
    upper = engine_type.upper()
    if logical == "array":
        return upper.endswith("[]") or upper.startswith("LIST")
    if logical in ("string", "date", "time", "boolean") and upper.endswith("[]"):
        return False
    return upper.startswith(_COMPATIBLE.get(logical, (upper,)))


def schema_checks(
    obj: SchemaObject, engine: Engine, data: Input
) -> tuple[list[Check], set[str], dict[str, str]]:
    """Schema conformance: every property is a column of the data, of a compatible type. Also returns
    the missing columns and the engine type of each property found."""
    try:
        described = dict(engine.describe(f"select * from {q(obj.name)}", {obj.name: data}))
    except EngineError as exc:
        unreadable = Check(
            f"{obj.name} is readable", "presence", "error", None, None, obj.name, message=_first_line(exc)
        )
        return [unreadable], {p.column for p in obj.properties or []}, {}
    lowered = {name.lower(): kind for name, kind in described.items()}
    checks: list[Check] = []
    missing: set[str] = set()
    types: dict[str, str] = {}
    for prop in obj.properties or []:
        kind = described.get(prop.column) or lowered.get(prop.column.lower())
        if kind is not None:
            types[prop.column] = kind
        if kind is None:
            missing.add(prop.column)
        check = _column_check(obj, prop, kind)
        if check is not None:
            checks.append(check)
    return checks, missing, types


def _column_check(obj: SchemaObject, prop: SchemaProperty, kind: str | None) -> Check | None:
    """A property's presence (when its column is missing) or type check (when it declares a type)."""
    from quanta.contracts.types import type_problem

    if kind is None:
        return Check(
            f"{prop.column} is present",
            "presence",
            "failed",
            "missing",
            "present",
            obj.name,
            prop.column,
            message=f"the data has no column {prop.column!r}",
        )
    if not prop.logical_type:
        return None
    problem = type_problem(prop, kind)  # nested: array items, struct members, binary
    return Check(
        f"{prop.column} has type {prop.logical_type}",
        "type",
        "failed" if problem else "passed",
        kind,
        prop.logical_type,
        obj.name,
        prop.column,
        message=problem,
    )


def _samples(
    engine: Engine, inputs: dict[str, Input], obj: SchemaObject, metric: Metric, masked: set[str]
) -> list[dict[str, Any]] | None:
    """Up to five violating rows, with sensitive columns masked."""
    try:
        table = engine.query(
            f"select * from {q(obj.name)} as __table where {metric.predicate} limit {SAMPLE_ROWS}", inputs
        )
    except Exception:  # samples are a courtesy: the verdict stands without them
        return None
    return [
        {k: ("****" if k in masked and v is not None else _plain(v)) for k, v in r.items()}
        for r in table.to_pylist()
    ]


def _plain(value: Any) -> Any:
    """A sample value as JSON can hold it: nested lists and structs stay nested, the rest is text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)
