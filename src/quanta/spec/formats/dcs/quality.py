"""DCS quality rules (text, sql, library metrics, custom engines) as ODCS ``quality`` entries."""

from __future__ import annotations

from typing import Any

from quanta.spec.checks import LIBRARY_METRICS as _METRICS
from quanta.spec.contract import COMPARATORS as _COMPARATORS
from quanta.spec.formats.dcs.document import DocumentReader, custom, describe
from quanta.spec.formats.dcs.odcs_schema import fits, odcs_defs
from quanta.spec.yamlsource import JsonPath

_RULE_KEYS: tuple[str, ...] = ("name", "description", "severity", "businessImpact", "schedule", "unit")
_RULE_KEYS += ("scheduler", "method", "tags")
_DIMENSIONS: tuple[str, ...] = ("accuracy", "completeness", "conformity", "consistency", "coverage")
_DIMENSIONS += ("timeliness", "uniqueness")


class QualityReader(DocumentReader):
    """Reads the ``quality`` rules of models and fields."""

    def _quality(self, value: Any, path: JsonPath) -> list[dict[str, Any]]:
        if value is None:
            return []
        if isinstance(value, dict):  # one rule written without the list
            return [r for r in [self._rule(value, path)] if r]
        if not isinstance(value, list):
            self.fail(path, "'quality' must be a list of rules", "e.g. '- type: sql'")
            return []
        rules = [self._rule(raw, (*path, i)) for i, raw in enumerate(value)]
        return [r for r in rules if r]

    def _rule(self, raw: Any, path: JsonPath) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.fail(path, f"a quality rule must be a mapping, got {describe(raw)}")
            return {}
        before = len(self.problems)
        kind = raw.get("type") or ("library" if "metric" in raw or "rule" in raw else None)
        rule: dict[str, Any] = {"type": kind if kind in ("text", "sql", "library") else "custom"}
        rule.update({k: raw[k] for k in _RULE_KEYS if k in raw})
        used = {"type", *_RULE_KEYS}
        if raw.get("dimension") in _DIMENSIONS:  # any other dimension is kept as a custom property
            rule["dimension"] = raw["dimension"]
            used.add("dimension")
        if kind is None:
            self.fail(path, "quality rule has no 'type'", "set type: text, sql, library or custom")
        elif kind == "sql":
            used |= self._query(raw, path, rule)
        elif kind == "library":
            used |= self._metric(raw, path, rule)
        elif kind != "text":  # custom, or a DCS 0.9 engine name such as SodaCL
            rule["engine"] = str(raw.get("engine", kind))
            rule["implementation"] = raw.get("implementation", raw.get("specification"))
            if not isinstance(rule["implementation"], (str, dict)):
                self.fail(path, "a custom quality rule needs an 'implementation'", "e.g. the SodaCL checks")
            used |= {"engine", "implementation", "specification"}
        extras = {k: v for k, v in raw.items() if k not in used}
        if extras:
            rule["customProperties"] = custom(extras)
        if len(self.problems) == before:  # report what the official schema finds only if nothing else did
            self.check(rule, "DataQuality", path, raw)
        return rule

    def _query(self, raw: dict[str, Any], path: JsonPath, rule: dict[str, Any]) -> set[str]:
        if not isinstance(raw.get("query"), str):
            self.fail(path, "a sql quality rule needs a 'query'", "e.g. 'query: SELECT COUNT(*) FROM orders'")
        rule["query"] = str(raw.get("query", ""))
        return {"query", *self._comparator(raw, path, rule)}

    def _metric(self, raw: dict[str, Any], path: JsonPath, rule: dict[str, Any]) -> set[str]:
        metric = raw.get("metric", raw.get("rule"))
        if metric not in _METRICS:
            self.fail(path, f"unknown quality metric {metric!r}", f"use one of: {', '.join(_METRICS)}")
        rule["metric"] = metric
        if isinstance(raw.get("arguments"), dict):
            rule["arguments"] = raw["arguments"]
        return {"metric", "rule", "arguments", *self._comparator(raw, path, rule)}

    def _comparator(self, raw: dict[str, Any], path: JsonPath, rule: dict[str, Any]) -> set[str]:
        found = [c for c in _COMPARATORS if c in raw]
        if len(found) != 1:
            got = f"found {', '.join(found)}" if found else "found none"
            self.fail(path, f"a quality rule needs exactly one comparator ({got})", "e.g. 'mustBe: 0'")
        for name in found[:1]:
            if not fits({name: raw[name]}, odcs_defs()["DataQualityOperators"]):
                self.fail((*path, name), f"{name} {raw[name]!r} is not a valid threshold", "use a number")
            rule[name] = raw[name]
        return set(found)
