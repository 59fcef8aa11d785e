"""Run a contract object's checks: one aggregate scan, metadata answers, SQL rules, sample rows."""

from __future__ import annotations

from typing import Any

from quanta.contracts.metrics import Metric, comparator_judge, compile_metrics, q, relationship_metrics
from quanta.contracts.run import Check, Run, Verdict
from quanta.engines.base import ColumnStats, Engine, Input
from quanta.spec.contract import Contract, QualityRule, SchemaObject

SAMPLE_ROWS = 5
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
    metrics, sql_rules = compile_metrics(obj)
    related = related or {}
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
    inputs = {**related, obj.name: data}
    run = Run(contract.id)
    known = stats or {}
    from_metadata = {
        id(m) for m in metrics if m.proven is not None and m.column in known and m.proven(known[m.column])
    }
    scanned = [m for m in metrics if id(m) not in from_metadata]
    # Rules measuring the same thing (a primary key and a duplicateValues rule on the same columns)
    # share one expression: the engine does not always spot that, and distinct counts are the cost.
    expressions = list(dict.fromkeys(["count(*)", *(m.expression for m in scanned)]))
    select = ", ".join(f"{e} as m{i}" for i, e in enumerate(expressions))
    row = list(engine.query(f"select {select} from {q(obj.name)} as __table", inputs).to_pylist()[0].values())
    rows = int(row[0])
    masked = masked_columns(obj)
    for metric in metrics:
        metadata = id(metric) in from_metadata
        value = 0 if metadata else row[expressions.index(metric.expression)]
        if metric.exact and value:
            value = (
                engine.query(f"select {metric.exact} from {q(obj.name)} as __table", inputs)
                .column(0)[0]
                .as_py()
            )
        measured = (float(value) * 100 / rows if rows else 0.0) if metric.percent else value
        ok, threshold = metric.judge(measured, rows)
        verdict = _verdict(ok, metric.severity)
        found = (
            _samples(engine, inputs, obj, metric, masked) if samples and not ok and metric.predicate else None
        )
        run.checks.append(
            Check(
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
        )
    run.checks += skipped
    for rule in sql_rules:
        run.checks.append(_sql_check(engine, inputs, obj, rule))
    return run


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
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _verdict(ok: bool, severity: str) -> Verdict:
    if ok:
        return "passed"
    return "warning" if severity in ("warning", "info") else "failed"


def _sql_check(engine: Engine, inputs: dict[str, Input], obj: SchemaObject, rule: QualityRule) -> Check:
    from quanta.spec.checks import sql_problem

    name = rule.name or rule.description or "sql rule"
    severity = rule.severity or "error"
    problem = sql_problem(rule.query or "", read_only=True)
    if problem:
        return Check(name, "sql", "error", None, None, obj.name, severity=severity, message=problem[0])
    try:
        result = engine.query(rule.query or "", inputs)
    except Exception as exc:  # the engine's error text is the useful part for the producer
        return Check(
            name, "sql", "error", None, None, obj.name, severity=severity, message=str(exc).splitlines()[0]
        )
    value = result.column(0)[0].as_py() if result.num_rows and result.num_columns else None
    ok, threshold = comparator_judge(rule)(value, 0)
    return Check(
        name, "sql", _verdict(ok, severity), value, threshold, obj.name, None, severity, rule.dimension
    )
