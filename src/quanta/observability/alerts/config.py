"""``alerts.yaml``: named sinks, routes that say who receives which alerts through which sinks, and
delivery settings. Every problem in the file is reported at once, with its line and column.

Routes choose by event kind, minimum severity and scope: products (glob patterns), domains, and a
``principal``: the products that principal owns or subscribes to (``quanta subscribe``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from quanta.errors import Problem, SpecError
from quanta.observability.alerts import EVENT_KINDS, Alert, AlertSink, sink_class, sink_types
from quanta.registry.stores.observations import SEVERITIES

if TYPE_CHECKING:
    from quanta.spec.yamlsource import Document

FILE = "alerts.yaml"
HINT = "see docs/observability.md (alerts.yaml)"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class AlertsConfigError(SpecError):
    """``alerts.yaml`` is invalid: every problem, positioned."""

    def __init__(self, problems: list[Problem]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems, f"invalid {FILE}: {problems[0]}{more}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Route(_Strict):
    """Who receives which alerts, through which sinks."""

    name: str | None = None
    principal: str | None = Field(default=None, description="Only products it owns or subscribes to.")
    products: list[str] = Field(default_factory=list, description="Glob patterns of product ids.")
    domains: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=lambda: list(EVENT_KINDS))
    min_severity: Literal["info", "warning", "critical"] = "info"
    sinks: list[str] = Field(min_length=1)

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str]) -> list[str]:
        unknown = [e for e in events if e not in EVENT_KINDS]
        if unknown:
            raise ValueError(f"unknown event kind {unknown[0]!r}; kinds: {', '.join(EVENT_KINDS)}")
        return events


class DeliverySettings(_Strict):
    """Retries: a failed send waits ``backoff_seconds`` x 2^(attempt-1) (capped, with jitter)."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_seconds: float = Field(default=5.0, gt=0, le=3600)
    max_backoff_seconds: float = Field(default=3600.0, gt=0, le=86400)


class AlertsFile(_Strict):
    sinks: dict[str, dict[str, Any]] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)


@dataclass(frozen=True)
class Audience:
    """Who a product's alerts may concern."""

    product_id: str
    domain: str
    owners: frozenset[str]
    subscribers: frozenset[str]


@dataclass(frozen=True)
class AlertsConfig:
    """The resolved ``alerts.yaml`` (empty without one: incidents are kept, nobody is alerted)."""

    sinks: dict[str, AlertSink]
    routes: list[Route]
    delivery: DeliverySettings
    source: str | None = None

    @classmethod
    def load(cls, root: Path | None) -> AlertsConfig:
        path = root / FILE if root else None
        if path is None or not path.exists():
            return cls({}, [], DeliverySettings())
        from quanta.spec.yamlsource import load_file

        doc = load_file(path)
        if path.is_relative_to(Path.cwd()):  # errors read like the other documents' (relative)
            doc.source = str(path.relative_to(Path.cwd()))
        problems: list[Problem] = []
        try:
            spec = AlertsFile.model_validate(doc.data or {})
        except ValidationError as exc:
            raise AlertsConfigError([_problem(doc, e) for e in exc.errors()]) from None
        sinks = {name: s for name, raw in spec.sinks.items() if (s := _sink(doc, name, raw, problems))}
        for i, route in enumerate(spec.routes):
            for j, name in enumerate(route.sinks):
                if name not in spec.sinks:
                    known = ", ".join(sorted(spec.sinks)) or "none defined"
                    problems.append(
                        doc.problem(
                            ("routes", i, "sinks", j),
                            f"unknown sink {name!r}",
                            hint=f"sinks in {FILE}: {known}",
                        )
                    )
        if problems:
            raise AlertsConfigError(problems)
        return cls(sinks, spec.routes, spec.delivery, str(path))

    def sinks_for(self, alert: Alert, audience: Audience | None) -> list[str]:
        """The sinks an alert goes to: every sink of every route that wants it, once each."""
        chosen: dict[str, None] = {}
        for route in self.routes:
            if _wants(route, alert, audience):
                chosen.update(dict.fromkeys(route.sinks))
        return list(chosen)


def _wants(route: Route, alert: Alert, audience: Audience | None) -> bool:
    if alert.kind not in route.events or _rank(alert.severity) < _rank(route.min_severity):
        return False
    if audience is None:  # not about a product: only routes without a scope take it
        return not (route.products or route.domains or route.principal)
    if route.products and not any(fnmatchcase(audience.product_id, p) for p in route.products):
        return False
    if route.domains and audience.domain not in route.domains:
        return False
    return route.principal is None or route.principal in audience.owners | audience.subscribers


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def _sink(doc: Document, name: str, raw: dict[str, Any], problems: list[Problem]) -> AlertSink | None:
    """The sink ``name`` of the file, or None after adding what is wrong with it to ``problems``."""
    where = ("sinks", name)
    if not _NAME.match(name):
        problems.append(
            doc.problem(
                where,
                f"invalid sink name {name!r}",
                hint="use letters, digits, '.', '_' and '-' (at most 100)",
            )
        )
        return None
    kind = raw.get("type")
    found = sink_class(kind) if isinstance(kind, str) else None
    if found is None:
        message = f"unknown sink type {kind!r}" if kind is not None else "a sink needs a type"
        problems.append(doc.problem((*where, "type"), message, hint=f"types: {', '.join(sink_types())}"))
        return None
    try:
        config = found.Config.model_validate(raw)
    except ValidationError as exc:
        problems += [_problem(doc, e, where) for e in exc.errors()]
        return None
    return found(name, config)


def _problem(doc: Document, error: Any, prefix: tuple[str | int, ...] = ()) -> Problem:
    loc = (*prefix, *(part for part in error["loc"] if isinstance(part, (str, int))))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error.get("type") == "literal_error" and "expected" in (error.get("ctx") or {}):
        message = f"must be one of {error['ctx']['expected']}"
    return doc.problem(loc, message, hint=HINT)
