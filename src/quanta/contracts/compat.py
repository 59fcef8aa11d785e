"""Whether a new type, bound or service level still serves consumers of the old one.

Each comparison answers in the words of the rule table: widened, tightened, loosened, improved,
worsened, or changed when Quanta cannot rank the two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any, NamedTuple

from quanta.spec.contract import SlaProperty

# --- types ----------------------------------------------------------------------------------------

_TYPE = re.compile(r"^([a-z][a-z0-9_ ]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")
_INT_BYTES = dict.fromkeys(("tinyint", "int1", "byte"), 1) | dict.fromkeys(("smallint", "int2", "short"), 2)
_INT_BYTES |= dict.fromkeys(("int", "integer", "int4", "signed"), 4) | dict.fromkeys(
    ("bigint", "int8", "long"), 8
)
_INT_BYTES |= dict.fromkeys(("hugeint", "int128"), 16)
_INT_DIGITS = {1: 3, 2: 5, 4: 10, 8: 19, 16: 39}
_FLOAT_BYTES = {"real": 4, "float4": 4, "float": 4, "double": 8, "float8": 8, "double precision": 8}
_DECIMALS = frozenset({"decimal", "numeric", "number", "dec"})
_STRINGS = frozenset({"varchar", "character varying", "nvarchar", "varchar2", "string", "text"})
_ALIASES = {"boolean": "bool", "logical": "bool"}


def physical_change(old: str, new: str) -> str:
    """``type.respelled``, ``type.widened`` (every old value fits exactly) or ``type.changed``."""
    a, b = _parse_type(old), _parse_type(new)
    if a is None or b is None:
        same = " ".join(old.lower().split()) == " ".join(new.lower().split())
        return "type.respelled" if same else "type.changed"
    (was, was_args), (now, now_args) = a, b
    if a == b:
        return "type.respelled"
    if was in _INT_BYTES and now in _INT_BYTES:
        return _rank(_INT_BYTES[was], _INT_BYTES[now])
    if was in _FLOAT_BYTES and now in _FLOAT_BYTES:
        return _rank(_FLOAT_BYTES[was], _FLOAT_BYTES[now])
    if was in _INT_BYTES and now in _FLOAT_BYTES and 2 * _INT_BYTES[was] <= _FLOAT_BYTES[now]:
        return "type.widened"
    if was in _INT_BYTES and now in _DECIMALS and now_args:
        precision, scale = now_args[0], (now_args[1:] or (0,))[0]
        return "type.widened" if precision - scale >= _INT_DIGITS[_INT_BYTES[was]] else "type.changed"
    if was in _DECIMALS and now in _DECIMALS and was_args and now_args:
        same_scale = (was_args[1:] or (0,)) == (now_args[1:] or (0,))
        return _rank(was_args[0], now_args[0]) if same_scale else "type.changed"
    if was in _STRINGS and now in _STRINGS:
        unbounded = 1 << 62
        return _rank((was_args or (unbounded,))[0], (now_args or (unbounded,))[0])
    return "type.changed"


def _parse_type(text: str) -> tuple[str, tuple[int, ...]] | None:
    found = _TYPE.match(" ".join(text.lower().split()))
    if not found:
        return None
    base = _ALIASES.get(found[1], found[1])
    return base, tuple(int(g) for g in found.groups()[1:] if g is not None)


def _rank(was: int, now: int) -> str:
    return "type.respelled" if was == now else "type.widened" if now > was else "type.changed"


# --- bounds and values ----------------------------------------------------------------------------

# (kind, option, its exclusive twin, whether it is a lower bound)
_BOUNDS: tuple[tuple[str, str, str | None, bool], ...] = (
    ("bounds", "minimum", "exclusiveMinimum", True),
    ("bounds", "maximum", "exclusiveMaximum", False),
    ("length", "minLength", None, True),
    ("length", "maxLength", None, False),
    ("length", "minItems", None, True),
    ("length", "maxItems", None, False),
    ("length", "minProperties", None, True),
    ("length", "maxProperties", None, False),
)
# every option a bound is read from
BOUND_OPTIONS = frozenset(k for _, key, twin, _ in _BOUNDS for k in (key, twin) if k)


def bound_changes(
    old: dict[str, Any], new: dict[str, Any]
) -> Iterator[tuple[str, str, str | None, str | None]]:
    """``(kind, option, old bound, new bound)`` for each bound or length that moved."""
    for kind, key, twin, lower in _BOUNDS:
        was, now = _bound(old, key, twin, lower), _bound(new, key, twin, lower)
        direction = _direction(was, now, lower)
        if direction:
            where = next(bound.key for bound in (now, was) if bound)
            yield f"{kind}.{direction}", where, _show(was), _show(now)


class _Bound(NamedTuple):
    value: Any
    exclusive: bool
    key: str
    lower: bool


def _bound(options: dict[str, Any], key: str, twin: str | None, lower: bool) -> _Bound | None:
    """One side's effective bound: the tighter of ``minimum`` and ``exclusiveMinimum`` when both are set."""
    found = [_Bound(options[k], k == twin, k, lower) for k in (key, twin) if k and options.get(k) is not None]
    if len(found) < 2:
        return found[0] if found else None
    order = _compare(found[0].value, found[1].value)
    if not order:
        return found[1]  # equal or incomparable: the exclusive one is at least as tight
    return found[0] if (order > 0) == lower else found[1]


def _direction(was: _Bound | None, now: _Bound | None, lower: bool) -> str | None:
    if was is None or now is None:
        return None if was is now else "tightened" if was is None else "loosened"
    order = _compare(now.value, was.value)
    if order is None:
        return "changed"
    # at the same value an exclusive lower bound sits higher, an exclusive upper bound lower
    order = order or (now.exclusive - was.exclusive) * (1 if lower else -1)
    if not order:
        return None
    return "tightened" if (order > 0) == lower else "loosened"


def _show(bound: _Bound | None) -> str | None:
    if bound is None:
        return None
    sign = (">" if bound.lower else "<") + ("" if bound.exclusive else "=")
    return f"{sign} {bound.value}"


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(value)
    return float(value)


_PARSERS: tuple[Callable[[Any], Any], ...] = (_number, datetime.fromisoformat, date.fromisoformat)
_PARSERS += (time.fromisoformat,)


def _compare(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 for numbers, dates, timestamps or times (also written as strings); None if incomparable."""
    for parse in _PARSERS:
        try:
            x, y = parse(a), parse(b)
            return int(x > y) - int(x < y)
        except (TypeError, ValueError):
            continue
    return None


# --- service levels -------------------------------------------------------------------------------

_SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("mo", "month", "months"), 30 * 86400),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 365 * 86400),
}
# +1: a higher value is a better service; -1: a lower value (or an earlier time) is better.
_SLA_ORDER = {"latency": -1, "frequency": -1, "timetodetect": -1, "timetonotify": -1, "timetorepair": -1}
_SLA_ORDER |= {"errorrate": -1, "timeofavailability": -1, "retention": 1, "availability": 1, "throughput": 1}
_SLA_ORDER |= {"endofsupport": 1, "endoflife": 1}


def sla_change(old: SlaProperty, new: SlaProperty) -> str:
    """``worsened``, ``improved`` or ``changed`` (when Quanta cannot rank the two values)."""
    order = _SLA_ORDER.get(old.property.replace("_", "").lower())
    if order is None or old.value_ext != new.value_ext:
        return "changed"
    if (old.unit or "").lower() == (new.unit or "").lower():
        compared = _compare(new.value, old.value)
    else:
        compared = _compare(_in_seconds(new), _in_seconds(old))
    if not compared:
        return "changed"
    return "improved" if compared * order > 0 else "worsened"


def _in_seconds(sla: SlaProperty) -> float | None:
    factor = _SECONDS.get((sla.unit or "").lower())
    try:
        return _number(sla.value) * factor if factor else None
    except (TypeError, ValueError):
        return None
