"""Compile a contract object's rules into aggregate expressions over one table.

Count-style rules (required, unique, enums, ranges, lengths, patterns, the ODCS library metrics,
relationships) become ``count(*) FILTER (WHERE <predicate>)`` expressions of a single ``SELECT``, so
the data is read once however many rules there are. The row predicate is kept to fetch sample rows
of a failed check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from quanta.engines.base import ColumnStats
from quanta.spec.contract import QualityRule, SchemaObject, SchemaProperty

MISSING_DEFAULT = [None, "", "N/A", "n/a", "NULL", "null"]
# String formats ODCS and JSON Schema name; checked with these (deliberately simple) patterns.
FORMATS = {
    "email": r"[^@\s]+@[^@\s]+\.[^@\s]+",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "uri": r"[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]*",
    "url": r"https?://[^\s]+",
    "ipv4": r"((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])",
    "hostname": r"[A-Za-z0-9][A-Za-z0-9-]{0,62}(\.[A-Za-z0-9][A-Za-z0-9-]{0,62})*",
}
Judge = Callable[[Any, int], tuple[bool, str]]


@dataclass(frozen=True)
class Metric:
    """One aggregate expression and how its value becomes a check."""

    expression: str
    name: str
    kind: str
    column: str | None
    judge: Judge
    severity: str = "error"
    dimension: str | None = None
    percent: bool = False
    exact: str | None = None
    """A slower exact expression, run only when the fast one reports a problem (hash collisions)."""
    proven: Callable[[ColumnStats], bool] | None = None
    """Proves the metric is 0 from table metadata alone (null counts, bounds), so no scan is needed."""
    predicate: str | None = None
    """The rows that violate the rule (for sample rows); None for table-level measures."""
    inputs: tuple[str, ...] = ()
    """Other tables the expression reads (relationships), by name."""
    key: tuple[str, ...] = ()
    """The columns (quoted) whose combinations must be unique, for a duplicates metric."""
    keyed: str = ""
    """For a duplicates metric, the condition of the rows whose keys count (its rule's ``filter``, and
    no NULL key part)."""


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


def comparator_judge(rule: QualityRule) -> Judge:
    """The rule's comparator as a predicate on the measured value."""
    found = rule.comparator()
    name, threshold = found if found else ("mustBe", 0)
    limit: Any = threshold

    def judge(value: Any, _rows: int) -> tuple[bool, str]:
        v = float(value or 0)
        checks: dict[str, Callable[[], tuple[bool, str]]] = {
            "mustBe": lambda: (v == float(limit), f"= {limit}"),
            "mustNotBe": lambda: (v != float(limit), f"!= {limit}"),
            "mustBeGreaterThan": lambda: (v > float(limit), f"> {limit}"),
            "mustBeGreaterOrEqualTo": lambda: (v >= float(limit), f">= {limit}"),
            "mustBeLessThan": lambda: (v < float(limit), f"< {limit}"),
            "mustBeLessOrEqualTo": lambda: (v <= float(limit), f"<= {limit}"),
        }
        if name in checks:
            return checks[name]()
        low, high = limit
        inside = float(low) <= v <= float(high)
        if name == "mustBeBetween":
            return inside, f"between {low} and {high}"
        return not inside, f"not between {low} and {high}"

    return judge


# Up to this many values, ``x <> a and x <> b ...`` beats ``x not in (a, b, ...)``: DuckDB compares a
# dictionary-encoded column's few distinct values against constants, while IN probes every row (half
# the CPU of an enum check on lineitem's l_shipmode). Longer lists stay IN, which hashes them.
CHAINED_VALUES = 16


def not_in(column: str, values: list[Any]) -> str:
    """``column`` holds none of ``values``: NULL (never counted) when the column is NULL or a value is."""
    if not values:
        return "true"
    if len(values) > CHAINED_VALUES:
        return f"{column} not in ({', '.join(lit(v) for v in values)})"
    return "(" + " and ".join(f"{column} <> {lit(v)}" for v in values) + ")"


def counting(predicate: str, name: str, kind: str, column: str | None, **kw: Any) -> Metric:
    """A metric counting the rows that match ``predicate`` (must be zero unless a judge says otherwise)."""
    judge = kw.pop("judge", must_be_zero)
    return Metric(
        f"count(*) filter (where {predicate})", name, kind, column, judge, predicate=predicate, **kw
    )


def property_metrics(prop: SchemaProperty, engine_type: str | None = None) -> list[Metric]:
    """Schema-level expectations of one column: required, unique, enum, logicalTypeOptions
    (``engine_type``: how the data stores the column, when known)."""
    col, name = q(prop.column), prop.column
    out: list[Metric] = []
    if prop.required or prop.primary_key:
        out.append(counting(f"{col} is null", f"{name} is required", "required", name, proven=_no_nulls))
    if prop.unique:
        out.append(_duplicates([col], f"{name} is unique", "unique", name, must_be_zero))
    if prop.enum:
        out.append(counting(not_in(col, [e.value for e in prop.enum]), f"{name} in enum", "enum", name))
    options = prop.logical_type_options or {}
    for option, op in {
        "minimum": "<",
        "exclusiveMinimum": "<=",
        "maximum": ">",
        "exclusiveMaximum": ">=",
    }.items():
        if option in options:
            bound = _bound(prop, options[option])
            out.append(
                counting(
                    f"{col} {op} {bound}",
                    f"{name} {option} {options[option]}",
                    "range",
                    name,
                    proven=_bound_proof(option, options[option]),
                )
            )
    for option, op in (("minLength", "<"), ("maxLength", ">")):
        if option in options:
            predicate = _length_beyond(col, op, int(options[option]), engine_type)
            out.append(counting(predicate, f"{name} {option} {options[option]}", "length", name))
    fmt = str(options.get("format", "")).lower()
    if fmt in FORMATS:
        predicate = f"not regexp_full_match({col}, {lit(FORMATS[fmt])})"
        out.append(counting(predicate, f"{name} is a valid {fmt}", "format", name))
    if "pattern" in options:
        # ODCS patterns follow ECMA-262 / JSON Schema: they match anywhere unless anchored with ^...$.
        predicate = f"not regexp_matches({col}, {lit(options['pattern'])})"
        out.append(counting(predicate, f"{name} matches {options['pattern']}", "pattern", name))
    return out


def _length_beyond(col: str, op: str, limit: int, engine_type: str | None) -> str:
    """``length(col) op limit``. For a maximum on text, the byte length (no decoding) rules out first
    the values too short to exceed it even counted in bytes: most rows, for a third of the cost."""
    if op == ">" and (engine_type or "").upper() == "VARCHAR":
        return f"case when strlen({col}) <= {limit} then false else length({col}) > {limit} end"
    return f"length({col}) {op} {limit}"


def _no_nulls(stats: ColumnStats) -> bool:
    return stats.nulls == 0


def _bound_proof(option: str, bound: Any) -> Callable[[ColumnStats], bool]:
    """Whether the column's min/max from metadata already satisfy ``option: bound``."""

    def proof(stats: ColumnStats) -> bool:
        low, high = stats.lower, stats.upper
        if low is None or high is None:
            return False
        try:
            if option == "minimum":
                return bool(low >= _like(low, bound))
            if option == "exclusiveMinimum":
                return bool(low > _like(low, bound))
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


def _bound(prop: SchemaProperty, value: Any) -> str:
    """A bound as SQL. Numbers stay literals, so the engine compares them in the column's own type
    (casting every value to DOUBLE instead costs a tenth of a scan)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return lit(value)
    # TIMESTAMPTZ keeps a bound's UTC offset (2020-01-01 00:00+10:00 is 2019-12-31 14:00 UTC).
    kind = {"date": "DATE", "timestamp": "TIMESTAMPTZ", "time": "TIME"}.get(prop.logical_type or "", "DOUBLE")
    return f"cast({lit(value)} as {kind})"


def _duplicates(
    columns: list[str],
    name: str,
    kind: str,
    column: str | None,
    judge: Judge,
    scope: str | None = None,
    **kw: Any,
) -> Metric:
    """Rows whose key (``columns``) another row has too, among the rows ``scope`` keeps (a rule's
    ``filter``); keys with a NULL part are not keys, and are not counted."""
    present = " and ".join([*([f"({scope})"] if scope else []), *(f"{c} is not null" for c in columns)])
    key = ", ".join(columns)
    if len(columns) == 1:
        expression, exact = (
            f"count(*) filter (where {present}) - count(distinct {key}) filter (where {present})",
            None,
        )
    else:
        # Hashing a composite key halves the cost; a collision can only report a duplicate that is not
        # there, never hide one, so a non-zero count is confirmed exactly.
        expression = (
            f"count(*) filter (where {present}) - count(distinct hash({key})) filter (where {present})"
        )
        exact = f"count(*) filter (where {present}) - count(distinct ({key})) filter (where {present})"
    where = f" where {scope}" if scope else ""
    repeated = f"({key}) in (select ({key}) from __table{where} group by {key} having count(*) > 1)"
    predicate = f"({scope}) and {repeated}" if scope else repeated
    return Metric(
        expression,
        name,
        kind,
        column,
        judge,
        exact=exact,
        predicate=predicate,
        key=tuple(columns),
        keyed=present,
        **kw,
    )


INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT", "INT")  # fmt: skip
"""How DuckDB names the integer types (DESCRIBE)."""


BITMAP_BITS = 1 << 28
"""The largest bitmap a duplicates count over integer keys uses (32 MiB for each engine thread)."""


def bounded_duplicates(metric: Metric, stats: dict[str, ColumnStats], types: dict[str, str]) -> Metric:
    """``metric``, when it counts duplicate integer keys whose bounds the table metadata knows, as one
    bit per possible key (``bitstring_agg``) instead of a hash table of the keys: a few MiB instead of
    tens of bytes per row, and a fraction of the time on millions of rows. A key outside the bounds
    (stale metadata) is left out of the bitmap, which can only count a duplicate that is not there,
    never hide one: a non-zero count is confirmed by the hash table's exact count."""
    bounds: list[tuple[str, int, int]] = []
    rows = 0
    for quoted in metric.key:
        column = quoted[1:-1].replace('""', '"')
        found = stats.get(column)
        if found is None or types.get(column, "").upper() not in INTEGER_TYPES:
            return metric
        low, high = found.lower, found.upper
        if isinstance(low, bool) or not (isinstance(low, int) and isinstance(high, int)) or high < low:
            return metric
        bounds.append((quoted, low, high))
        rows = max(rows, found.rows)
    span, code = 1, ""
    for quoted, low, high in bounds:  # a mixed-radix number, one digit per key column
        code = f"({code}) * {high - low + 1} + ({quoted} - {low})" if code else f"({quoted} - {low})"
        span *= high - low + 1
    if not bounds or span > min(BITMAP_BITS, 64 * max(rows, 1)):
        return metric
    inside = " and ".join(
        [metric.keyed, *(f"{quoted} between {low} and {high}" for quoted, low, high in bounds)]
    )
    bits = f"bitstring_agg(case when {inside} then {code} end, 0, {span - 1})"
    expression = f"count(*) filter (where {metric.keyed}) - coalesce(bit_count({bits}), 0)"
    return replace(metric, expression=expression, exact=metric.exact or metric.expression)


def rule_filter(rule: QualityRule) -> str | None:
    """An optional per-rule row filter (custom property ``filter``), e.g. only the latest partition."""
    value = rule.custom("filter")
    return str(value) if value else None


def library_metric(obj: SchemaObject, prop: SchemaProperty | None, rule: QualityRule) -> Metric | None:
    """An ODCS library metric (nullValues, missingValues, invalidValues, duplicateValues, rowCount)."""
    args = rule.arguments or {}
    col = q(prop.column) if prop else None
    metric = rule.metric or rule.rule
    where = prop.column if prop else obj.name
    common: dict[str, Any] = {
        "judge": comparator_judge(rule),
        "severity": rule.severity or "error",
        "dimension": rule.dimension,
        "percent": rule.unit == "percent" and metric != "rowCount",
    }
    scope = rule_filter(rule)
    name = rule.name or rule.description or f"{metric} of {where}" + (f" where {scope}" if scope else "")
    predicate: str | None = None
    if metric == "rowCount":
        return (
            counting(scope or "true", name, "rowCount", None, **common)
            if scope
            else Metric("count(*)", name, "rowCount", None, **common)
        )
    if metric == "nullValues" and col:
        predicate = f"{col} is null"
    elif metric == "missingValues" and col:
        listed = ", ".join(lit(v) for v in args.get("missingValues", MISSING_DEFAULT) if v is not None)
        predicate = f"({col} is null" + (f" or {col} in ({listed}))" if listed else ")")
    elif metric == "invalidValues" and col:
        if "validValues" in args:
            valid = [v for v in args["validValues"] if v is not None]
            predicate = f"({col} is not null and {not_in(col, valid)})"
        elif "pattern" in args:
            predicate = f"not regexp_matches({col}, {lit(args['pattern'])})"
    elif metric == "duplicateValues":
        columns = [q(c) for c in args.get("properties", [])] or ([col] if col else [])
        if columns:
            return _duplicates(columns, name, metric, prop.column if prop else None, scope=scope, **common)
    if predicate is None:
        return None
    if scope:
        predicate = f"({scope}) and {predicate}"
    elif metric == "nullValues":
        common["proven"] = _no_nulls  # no nulls in the metadata: the count is 0, whatever the threshold
    return counting(predicate, name, metric or "library", prop.column if prop else None, **common)


def relationship_metrics(obj: SchemaObject) -> list[tuple[Metric, str]]:
    """Foreign keys: rows whose key has no match in the target table. Property level (``to:
    table.column``) and schema level (``from: [obj.a, obj.b]``, ``to: [t.x, t.y]``, composite keys).
    Returns each metric with the target table it needs as an input."""
    out: list[tuple[Metric, str]] = []
    for prop in obj.properties or []:
        for rel in prop.relationships or []:
            targets = rel.to if isinstance(rel.to, list) else [rel.to] if rel.to else []
            for target in targets:
                if "." in target and "/" not in target:
                    out.append(_foreign_key([prop.column], [target]))
    for rel in obj.relationships or []:
        sources = rel.from_ if isinstance(rel.from_, list) else [rel.from_] if rel.from_ else []
        targets = rel.to if isinstance(rel.to, list) else [rel.to] if rel.to else []
        tables = {t.rpartition(".")[0] for t in targets}
        if sources and len(sources) == len(targets) and len(tables) == 1 and "" not in tables:
            out.append(_foreign_key([s.rpartition(".")[2] for s in sources], targets))
    return out


def _foreign_key(columns: list[str], targets: list[str]) -> tuple[Metric, str]:
    """Rows whose (composite) key is set but missing from the target; keys with a NULL part are not keys."""
    table = targets[0].rpartition(".")[0]
    target_cols = [q(t.rpartition(".")[2]) for t in targets]
    cols = [q(c) for c in columns]
    present = " and ".join(f"{c} is not null" for c in cols)
    # NOT IN over a column holding NULL is never true: leave NULL targets out.
    target_present = " and ".join(f"{c} is not null" for c in target_cols)
    key, target_key = (
        (cols[0], target_cols[0])
        if len(cols) == 1
        else (f"({', '.join(cols)})", f"({', '.join(target_cols)})")
    )
    predicate = f"{present} and {key} not in (select {target_key} from {q(table)} where {target_present})"
    label = columns[0] if len(columns) == 1 else f"({', '.join(columns)})"
    shown = (
        targets[0] if len(targets) == 1 else f"{table}({', '.join(t.rpartition('.')[2] for t in targets)})"
    )
    metric = counting(
        predicate,
        f"{label} references {shown}",
        "relationship",
        columns[0] if len(columns) == 1 else None,
        inputs=(table,),
    )
    return metric, table


def compile_metrics(obj: SchemaObject, types: dict[str, str] | None = None) -> list[Metric]:
    """All aggregate metrics of an object (relationships and SQL rules excluded). ``types`` (column to
    engine type) enables the array and object rules, whose SQL depends on how the data stores them."""
    from quanta.contracts.containers import container_metrics

    metrics: list[Metric] = []
    keys = sorted(
        (p for p in obj.properties or [] if p.primary_key), key=lambda p: p.primary_key_position or 0
    )
    if len(keys) > 1:
        columns = [q(p.column) for p in keys]
        label = f"primary key ({', '.join(p.column for p in keys)}) is unique"
        metrics.append(_duplicates(columns, label, "primaryKey", None, must_be_zero))
    elif keys and not keys[0].unique:
        metrics.append(
            _duplicates(
                [q(keys[0].column)],
                f"primary key {keys[0].column} is unique",
                "primaryKey",
                keys[0].column,
                must_be_zero,
            )
        )
    for prop in obj.properties or []:
        metrics += property_metrics(prop, (types or {}).get(prop.column))
        metrics += container_metrics(prop, (types or {}).get(prop.column))
        for rule in prop.quality or []:
            if rule.kind == "library" and (found := library_metric(obj, prop, rule)):
                metrics.append(found)
    for rule in obj.quality or []:
        if rule.kind == "library" and (found := library_metric(obj, None, rule)):
            metrics.append(found)
    return metrics


def sql_rules(obj: SchemaObject) -> list[tuple[QualityRule, str | None]]:
    """The object's SQL rules, each with the column of the property that declares it (None: the object)."""
    found = [(rule, p.column) for p in obj.properties or [] for rule in p.quality or [] if rule.kind == "sql"]
    return found + [(rule, None) for rule in obj.quality or [] if rule.kind == "sql"]
