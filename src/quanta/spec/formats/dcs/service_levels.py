"""DCS ``servicelevels`` as ODCS ``slaProperties``, with durations such as ``25h`` or ``P1Y`` read."""

from __future__ import annotations

import re
from typing import Any

from quanta.spec.formats.dcs.odcs_schema import odcs_validator

_UNITS = {
    "y": "years",
    "mo": "months",
    "w": "weeks",
    "d": "days",
    "h": "hours",
    "m": "minutes",
    "s": "seconds",
}
_ALIASES = {"year": "y", "yr": "y", "month": "mo", "week": "w", "day": "d", "hour": "h", "hr": "h"}
_ALIASES |= {"min": "m", "minute": "m", "sec": "s", "second": "s"}
_ISO = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_SIMPLE = re.compile(r"^(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]+)$")


def duration(text: Any) -> dict[str, Any]:
    """``25h`` / ``P1Y`` / ``30 days`` as an ODCS value and unit; anything else kept as written."""
    raw = str(text).strip()
    iso = _ISO.match(raw)
    if iso and len([v for v in iso.groupdict().values() if v]) == 1:
        unit, value = next((k, v) for k, v in iso.groupdict().items() if v)
        return {"value": int(value), "unit": _UNITS[unit]}
    simple = _SIMPLE.match(raw)
    if simple:
        word = simple["unit"].lower().removesuffix("s") if len(simple["unit"]) > 2 else simple["unit"].lower()
        unit = _ALIASES.get(word, word)
        if unit in _UNITS:
            number = float(simple["value"])
            return {"value": int(number) if number.is_integer() else number, "unit": _UNITS[unit]}
    return {"value": raw}


def service_levels(levels: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """DCS ``servicelevels`` as ODCS ``slaProperties``; sections ODCS has no place for are returned apart."""
    out: list[dict[str, Any]] = []
    unknown: dict[str, Any] = {}
    for section, spec in levels.items():
        builder = _SLA_BUILDERS.get(section)
        if builder is None or not isinstance(spec, dict):
            unknown[section] = spec
            continue
        items = [item for item in builder(spec) if item.get("value") is not None]
        if items and isinstance(spec.get("description"), str):
            items[0]["description"] = spec["description"]
        if all(odcs_validator("ServiceLevelAgreementProperty").is_valid(item) for item in items):
            out += items
        else:  # e.g. a list where ODCS wants one value: keep the section as written
            unknown[section] = spec
    return out, unknown


def _sla(prop: str, value: Any, element: str | None = None, **extra: Any) -> dict[str, Any]:
    item = {"property": prop, **(duration(value) if value is not None else {"value": None})}
    if element:
        item["element"] = element
    return {**item, **{k: v for k, v in extra.items() if v is not None}}


def _availability(spec: dict[str, Any]) -> list[dict[str, Any]]:
    text = str(spec.get("percentage", "")).strip()
    match = re.match(r"^(\d+(?:\.\d+)?)\s*%$", text)
    value: Any = float(match[1]) if match else text or None
    return [{"property": "availability", "value": value, **({"unit": "percent"} if match else {})}]


def _retention(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if spec.get("unlimited") is True:
        return [{"property": "retention", "value": "unlimited"}]
    return [_sla("retention", spec.get("period"), spec.get("timestampField"))]


def _latency(spec: dict[str, Any]) -> list[dict[str, Any]]:
    fields = [spec.get(k) for k in ("sourceTimestampField", "processedTimestampField") if spec.get(k)]
    return [_sla("latency", spec.get("threshold"), ", ".join(map(str, fields)) or None)]


def _freshness(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [_sla("freshness", spec.get("threshold"), spec.get("timestampField"))]


def _frequency(spec: dict[str, Any]) -> list[dict[str, Any]]:
    cron = spec.get("cron")
    schedule = {"scheduler": "cron", "schedule": str(cron)} if cron else {}
    if spec.get("interval") is not None:
        return [_sla("frequency", spec["interval"], **schedule)]
    return [{"property": "frequency", "value": spec.get("type") or cron, **schedule}]


def _support_level(spec: dict[str, Any]) -> list[dict[str, Any]]:
    items = [{"property": "supportTime", "value": spec.get("time")}]
    return [*items, _sla("responseTime", spec.get("responseTime"))]


def _backup(spec: dict[str, Any]) -> list[dict[str, Any]]:
    cron = spec.get("cron")
    schedule = {"scheduler": "cron", "schedule": str(cron)} if cron else {}
    first = _sla("backup", spec["interval"], **schedule) if "interval" in spec else None
    items = [first or {"property": "backup", "value": cron, **schedule}]
    return [
        *items,
        _sla("recoveryTime", spec.get("recoveryTime")),
        _sla("recoveryPoint", spec.get("recoveryPoint")),
    ]


_SLA_BUILDERS = {
    "availability": _availability,
    "retention": _retention,
    "latency": _latency,
    "freshness": _freshness,
    "frequency": _frequency,
    "support": _support_level,
    "backup": _backup,
}
