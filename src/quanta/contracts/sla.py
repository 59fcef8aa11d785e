"""SLA checks: freshness (latency) and retention from the data, frequency from the publish history."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from quanta.contracts.aggregates import q
from quanta.contracts.run import Check, Verdict
from quanta.engines.base import Engine, Input
from quanta.errors import EngineError
from quanta.spec.contract import Contract, SlaProperty

_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "mo": 2629800, "month": 2629800, "months": 2629800,
    "y": 31557600, "yr": 31557600, "year": 31557600, "years": 31557600,
}  # fmt: skip


def duration(sla: SlaProperty) -> timedelta | None:
    """The SLA's value and unit as a duration (``4`` ``d`` ► 4 days); None when not a duration."""
    if not isinstance(sla.value, (int, float)) or isinstance(sla.value, bool):
        return None
    unit = (sla.unit or "d").strip().lower()
    seconds = _UNITS.get(unit) or _UNITS.get(re.sub(r"s$", "", unit))
    return timedelta(seconds=float(sla.value) * seconds) if seconds else None


def _element(contract: Contract, sla: SlaProperty) -> tuple[str, str] | None:
    element = sla.element or contract.sla_default_element
    if not element or "." not in element:
        return None
    table, _, column = element.rpartition(".")
    return table, column


def sla_checks(
    contract: Contract,
    engine: Engine,
    inputs: dict[str, Input],
    publishes: list[datetime] | None = None,
    now: datetime | None = None,
) -> list[Check]:
    """One check per measurable SLA property; the rest are reported as not measured."""
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    for sla in contract.sla_properties or []:
        kind = sla.property
        limit = duration(sla)
        if kind in ("latency", "freshness") and limit:
            checks.append(_age_check(contract, sla, engine, inputs, now, limit, newest=True))
        elif kind == "retention" and limit:
            checks.append(_age_check(contract, sla, engine, inputs, now, limit, newest=False))
        elif kind == "frequency" and limit:
            checks.append(_frequency_check(sla, limit, publishes, now))
    return checks


def _age_check(
    contract: Contract,
    sla: SlaProperty,
    engine: Engine,
    inputs: dict[str, Input],
    now: datetime,
    limit: timedelta,
    *,
    newest: bool,
) -> Check:
    name = f"{sla.property} {sla.value}{sla.unit or 'd'}"
    element = _element(contract, sla)
    if element is None or element[0] not in inputs:
        return _not_measured(name, "set 'element: <table>.<column>' to a timestamp or date column")
    table, column = element

    def timeliness(
        verdict: Verdict, measured: Any, threshold: str | None, message: str | None = None
    ) -> Check:
        return Check(
            name, "sla", verdict, measured, threshold, table, column, dimension="timeliness", message=message
        )

    fn = "max" if newest else "min"
    try:
        value = engine.first_row(f"select {fn}({q(column)}) from {q(table)}", {table: inputs[table]})[0]
    except EngineError as exc:
        return timeliness("error", None, None, str(exc).splitlines()[0])
    if value is None:
        return timeliness("failed", None, f"<= {limit}", "no data")
    moment = as_datetime(value)
    if moment is None:
        return timeliness(
            "error",
            str(value),
            None,
            f"{table}.{column} holds {value!r}: not a date, a timestamp or epoch seconds; "
            "point 'element' at a date or timestamp column",
        )
    age = now - moment
    ok = age <= limit if newest else age <= limit + timedelta(days=1)
    threshold = f"newest row at most {limit} old" if newest else f"oldest row at most {limit} old"
    return timeliness("passed" if ok else "failed", str(age).split(".")[0], threshold)


def _frequency_check(
    sla: SlaProperty, limit: timedelta, publishes: list[datetime] | None, now: datetime
) -> Check:
    name = f"frequency {sla.value}{sla.unit or 'd'}"
    if publishes is None:
        return _not_measured(name, "needs the publish history of a registered product")
    if not publishes:
        return Check(
            name,
            "sla",
            "failed",
            None,
            f"a publish every {limit}",
            dimension="timeliness",
            message="never published",
        )
    gaps = [b - a for a, b in zip(publishes, [*publishes[1:], now], strict=True)]
    worst = max(gaps)
    return Check(
        name,
        "sla",
        "passed" if worst <= limit else "failed",
        str(worst).split(".")[0],
        f"a publish every {limit}",
        dimension="timeliness",
    )


def _not_measured(name: str, why: str) -> Check:
    return Check(
        name, "sla", "warning", severity="warning", dimension="timeliness", message=f"not measured: {why}"
    )


def as_datetime(value: Any) -> datetime | None:
    """A column's value as a moment in UTC: dates, timestamps, ISO 8601 text, and numbers as seconds
    since the Unix epoch (as datetime-valued integers are usually stored); None for anything else."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(str(value)) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)
