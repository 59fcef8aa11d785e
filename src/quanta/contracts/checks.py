"""Compile a contract object's rules into one aggregate scan (plus one query per SQL rule).

Count-style metrics (required, unique, enums, ranges, patterns, lengths and the ODCS library metrics)
all become ``count(*) FILTER (...)`` expressions of a single ``SELECT`` over the table, so the data is
read once however many rules there are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from quanta.contracts.run import Check, Run, Verdict
from quanta.engines.base import ColumnStats, Engine, Input
from quanta.spec.contract import Contract, QualityRule, SchemaObject, SchemaProperty

MISSING_DEFAULT = [None, "", "N/A", "n/a", "NULL", "null"]


@dataclass(frozen=True)
class Metric:
    """One aggregate expression and how its value becomes a check."""

    expression: str
    name: str
    kind: str
    column: str | None
    judge: Callable[[Any, int], tuple[bool, str]]
    severity: str = "error"
    dimension: str | None = None
    percent: bool = False
    exact: str | None = None
    """A slower exact expression, run only when the fast one reports a problem (hash collisions)."""
    proven: Callable[[ColumnStats], bool] | None = None
    """Proves the metric is 0 from table metadata alone (null counts, bounds), so no scan is needed."""


def q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def lit(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def must_be_zero(value: Any, _rows: int) -> tuple[bool, str]:
    return (value or 0) == 0, "= 0"


def comparator_judge(rule: QualityRule) -> Callable[[Any, int], tuple[bool, str]]:
    """The rule's comparator as a predicate on the measured value."""
    found = rule.comparator()
    name, threshold = found if found else ("mustBe", 0)
    threshold_value: Any = threshold

    def judge(value: Any, _rows: int) -> tuple[bool, str]:
        v = float(value or 0)
        if name == "mustBe":
            return v == float(threshold), f"= {threshold}"
        if name == "mustNotBe":
            return v != float(threshold), f"!= {threshold}"
        if name == "mustBeGreaterThan":
            return v > float(threshold), f"> {threshold}"
        if name == "mustBeGreaterOrEqualTo":
            return v >= float(threshold), f">= {threshold}"
        if name == "mustBeLessThan":
            return v < float(threshold), f"< {threshold}"
        if name == "mustBeLessOrEqualTo":
            return v <= float(threshold), f"<= {threshold}"
        low, high = threshold_value
        inside = float(low) <= v <= float(high)
        return (
            (inside, f"between {low} and {high}")
            if name == "mustBeBetween"
            else (
                not inside,
                f"not between {low} and {high}",
            )
        )

    return judge


def property_metrics(obj: SchemaObject, prop: SchemaProperty) -> list[Metric]:
    """Schema-level expectations of one column: required, unique, enum, logicalTypeOptions."""
    col, name = q(prop.column), prop.column
    out: list[Metric] = []
    if prop.required or prop.primary_key:
        out.append(
            Metric(
                f"count(*) filter (where {col} is null)",
                f"{name} is required",
                "required",
                name,
                must_be_zero,
                proven=lambda s: s.nulls == 0,
            )
        )
    if prop.unique:
        out.append(
            Metric(f"count({col}) - count(distinct {col})", f"{name} is unique", "unique", name, must_be_zero)
        )
    if prop.enum:
        values = ", ".join(lit(e.value) for e in prop.enum)
        out.append(
            Metric(
                f"count(*) filter (where {col} not in ({values}))",
                f"{name} in enum",
                "enum",
                name,
                must_be_zero,
            )
        )
    options = prop.logical_type_options or {}
    bounds = {"minimum": "<", "exclusiveMinimum": "<=", "maximum": ">", "exclusiveMaximum": ">="}
    for option, op in bounds.items():
        if option in options:
            value = lit(options[option])
            cast = f"cast({value} as {_cast_type(prop)})"
            out.append(
                Metric(
                    f"count(*) filter (where {col} {op} {cast})",
                    f"{name} {option} {options[option]}",
                    "range",
                    name,
                    must_be_zero,
                    proven=_bound_proof(option, options[option]),
                )
            )
    for option, op in (("minLength", "<"), ("maxLength", ">")):
        if option in options:
            out.append(
                Metric(
                    f"count(*) filter (where length({col}) {op} {int(options[option])})",
                    f"{name} {option} {options[option]}",
                    "length",
                    name,
                    must_be_zero,
                )
            )
    if "pattern" in options:
        out.append(
            Metric(
                f"count(*) filter (where not regexp_full_match({col}, {lit(options['pattern'])}))",
                f"{name} matches {options['pattern']}",
                "pattern",
                name,
                must_be_zero,
            )
        )
    return out


def _bound_proof(option: str, bound: Any) -> Callable[[ColumnStats], bool]:
    """Whether the column's min/max from metadata already satisfy ``option: bound``."""

    def proof(stats: ColumnStats) -> bool:
        low, high = stats.lower, stats.upper
        if low is None or high is None:
            return False
        try:
            limit = _like(low, bound)
            if option == "minimum":
                return bool(low >= limit)
            if option == "exclusiveMinimum":
                return bool(low > limit)
            if option == "maximum":
                return bool(high <= _like(high, bound))
            return bool(high < _like(high, bound))
        except (TypeError, ValueError, ArithmeticError):
            return False

    return proof


def _like(sample: Any, bound: Any) -> Any:
    """``bound`` as the type of ``sample`` (dates, decimals), so they compare exactly."""
    from datetime import date
    from decimal import Decimal

    if isinstance(sample, date):
        return date.fromisoformat(str(bound))
    if isinstance(sample, Decimal):
        return Decimal(str(bound))
    return bound


def _cast_type(prop: SchemaProperty) -> str:
    return {"date": "DATE", "timestamp": "TIMESTAMP", "time": "TIME"}.get(prop.logical_type or "", "DOUBLE")


def library_metric(obj: SchemaObject, prop: SchemaProperty | None, rule: QualityRule) -> Metric | None:
    """An ODCS library metric (nullValues, missingValues, invalidValues, duplicateValues, rowCount)."""
    args = rule.arguments or {}
    col = q(prop.column) if prop else None
    metric = rule.metric or rule.rule
    expression: str | None = None
    exact: str | None = None
    if metric == "rowCount":
        expression = "count(*)"
    elif metric == "nullValues" and col:
        expression = f"count(*) filter (where {col} is null)"
    elif metric == "missingValues" and col:
        missing = args.get("missingValues", MISSING_DEFAULT)
        listed = ", ".join(lit(v) for v in missing if v is not None)
        expression = f"count(*) filter (where {col} is null" + (
            f" or {col} in ({listed}))" if listed else ")"
        )
    elif metric == "invalidValues" and col:
        if "validValues" in args:
            valid = ", ".join(lit(v) for v in args["validValues"] if v is not None)
            expression = f"count(*) filter (where {col} is not null and {col} not in ({valid}))"
        elif "pattern" in args:
            expression = f"count(*) filter (where not regexp_full_match({col}, {lit(args['pattern'])}))"
    elif metric == "duplicateValues":
        columns = [q(c) for c in args.get("properties", [])] or ([col] if col else [])
        if columns:
            present = " and ".join(f"{c} is not null" for c in columns)
            if len(columns) == 1:
                expression = f"count(*) filter (where {present}) - count(distinct {columns[0]})"
            else:
                # Hashing a composite key halves the cost; a collision can only report a duplicate that
                # is not there, never hide one, so a non-zero count is confirmed exactly.
                expression = f"count(*) filter (where {present}) - count(distinct hash({', '.join(columns)}))"
                exact = f"count(*) filter (where {present}) - count(distinct ({', '.join(columns)}))"
    if expression is None:
        return None
    where = prop.column if prop else obj.name
    return Metric(
        expression,
        rule.name or rule.description or f"{metric} of {where}",
        metric or "library",
        prop.column if prop else None,
        comparator_judge(rule),
        severity=rule.severity or "error",
        dimension=rule.dimension,
        percent=rule.unit == "percent" and metric != "rowCount",
        exact=exact,
    )


def compile_metrics(obj: SchemaObject) -> tuple[list[Metric], list[QualityRule]]:
    """All aggregate metrics of an object, and its SQL rules (run separately)."""
    metrics: list[Metric] = []
    sql_rules: list[QualityRule] = []
    keys = sorted(
        (p for p in obj.properties or [] if p.primary_key), key=lambda p: p.primary_key_position or 0
    )
    if len(keys) > 1:
        rule = QualityRule.model_validate(
            {"metric": "duplicateValues", "mustBe": 0, "arguments": {"properties": [p.column for p in keys]}}
        )
        found = library_metric(obj, None, rule)
        if found:
            metrics.append(
                Metric(
                    found.expression,
                    f"primary key ({', '.join(p.column for p in keys)}) is unique",
                    "primaryKey",
                    None,
                    must_be_zero,
                    exact=found.exact,
                )
            )
    elif keys and not keys[0].unique:
        col = q(keys[0].column)
        metrics.append(
            Metric(
                f"count({col}) - count(distinct {col})",
                f"primary key {keys[0].column} is unique",
                "primaryKey",
                keys[0].column,
                must_be_zero,
            )
        )
    for prop in obj.properties or []:
        metrics += property_metrics(obj, prop)
        for rule in prop.quality or []:
            if rule.kind == "sql":
                sql_rules.append(rule)
            elif rule.kind == "library" and (found := library_metric(obj, prop, rule)):
                metrics.append(found)
    for rule in obj.quality or []:
        if rule.kind == "sql":
            sql_rules.append(rule)
        elif rule.kind == "library" and (found := library_metric(obj, None, rule)):
            metrics.append(found)
    return metrics, sql_rules


def check_object(
    contract: Contract,
    obj: SchemaObject,
    engine: Engine,
    data: Input,
    stats: dict[str, ColumnStats] | None = None,
) -> Run:
    """Test one table against one contract object: one scan for every count-style rule, minus those
    the table's metadata already answers (``stats``: null counts and bounds per column)."""
    metrics, sql_rules = compile_metrics(obj)
    run = Run(contract.id)
    inputs = {obj.name: data}
    known = stats or {}
    from_metadata = {
        id(m) for m in metrics if m.proven is not None and m.column in known and m.proven(known[m.column])
    }
    # Rules that measure the same thing (a primary key and a duplicateValues rule on the same columns)
    # share one expression: the engine does not always spot that, and distinct counts are the cost.
    scanned = [m for m in metrics if id(m) not in from_metadata]
    expressions = list(dict.fromkeys(["count(*)", *(m.expression for m in scanned)]))
    select = ", ".join(f"{e} as m{i}" for i, e in enumerate(expressions))
    row = list(engine.query(f"select {select} from {q(obj.name)}", inputs).to_pylist()[0].values())
    rows = int(row[0])
    values = [0 if id(m) in from_metadata else row[expressions.index(m.expression)] for m in metrics]
    for metric, fast in zip(metrics, values, strict=True):
        value = fast
        if metric.exact and fast:
            exact = engine.query(f"select {metric.exact} as m from {q(obj.name)}", inputs)
            value = exact.column(0)[0].as_py()
        measured = (float(value) * 100 / rows if rows else 0.0) if metric.percent else value
        ok, threshold = metric.judge(measured, rows)
        verdict = _verdict(ok, metric.severity)
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
                "answered from table metadata" if id(metric) in from_metadata else None,
            )
        )
    for rule in sql_rules:
        run.checks.append(_sql_check(engine, inputs, obj, rule))
    return run


def _verdict(ok: bool, severity: str) -> Verdict:
    if ok:
        return "passed"
    return "warning" if severity in ("warning", "info") else "failed"


def _sql_check(engine: Engine, inputs: dict[str, Input], obj: SchemaObject, rule: QualityRule) -> Check:
    from quanta.spec.checks import sql_problem

    name = rule.name or rule.description or "sql rule"
    problem = sql_problem(rule.query or "", read_only=True)
    if problem:
        return Check(
            name, "sql", "error", None, None, obj.name, severity=rule.severity or "error", message=problem[0]
        )
    try:
        result = engine.query(rule.query or "", inputs)
    except Exception as exc:  # the engine's error text is the useful part for the producer
        return Check(
            name,
            "sql",
            "error",
            None,
            None,
            obj.name,
            severity=rule.severity or "error",
            message=str(exc).splitlines()[0],
        )
    value = result.column(0)[0].as_py() if result.num_rows and result.num_columns else None
    ok, threshold = comparator_judge(rule)(value, 0)
    severity = rule.severity or "error"
    verdict = _verdict(ok, severity)
    return Check(name, "sql", verdict, value, threshold, obj.name, None, severity, rule.dimension)
