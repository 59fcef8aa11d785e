"""Governance when data lands: classification of a sample, tags inherited through column lineage, and
the publish-time policies that may block the version.

Tags propagate from the input products' contracts to the output columns computed from them (column
lineage of the SQL transform, by sqlglot), unless the transform masks the value with a hash; the
query service then masks inherited tags like declared ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quanta.governance.model import TAGS, level_rank

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa

    from quanta.governance.classify import Detection
    from quanta.governance.policies import Decision, PolicySet
    from quanta.spec.contract import Contract, SchemaObject
    from quanta.spec.product import DataProduct


@dataclass
class Inherited:
    """Sensitivity an output column takes from the input columns it is computed from."""

    tags: set[str] = field(default_factory=set)
    level: str | None = None
    sources: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {"tags": sorted(self.tags), "level": self.level, "from": sorted(self.sources)}


@dataclass
class LandingReport:
    """What governance found in a staged version before it is published."""

    detections: list[Detection] = field(default_factory=list)
    inherited: dict[str, Inherited] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)

    @property
    def denied(self) -> list[Decision]:
        return [d for d in self.decisions if d.outcome == "deny"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "detections": [
                {"column": d.column, "tag": d.tag, "kind": d.kind, "level": d.level, "evidence": d.evidence}
                for d in self.detections
            ],
            "lineage": {column: found.to_dict() for column, found in self.inherited.items()},
            "policies": [
                {"policy": d.policy, "outcome": d.outcome, "messages": d.messages} for d in self.decisions
            ],
        }


def inherited_tags(sql: str, obj: SchemaObject, inputs: dict[str, SchemaObject]) -> dict[str, Inherited]:
    """Tags and levels each output column of ``sql`` inherits from ``inputs`` (view name ► contract
    object of that input); columns computed through a hash inherit nothing."""
    from quanta.observability.lineage.columns import trace_columns

    sensitivity = {
        (view, p.column): ({t.lower() for t in p.tags or []} & set(TAGS), p.classification)
        for view, o in inputs.items()
        for p in o.properties or []
    }
    columns: dict[str, list[str] | None] = {
        v: [p.column for p in o.properties or []] for v, o in inputs.items()
    }
    out: dict[str, Inherited] = {}
    traced = trace_columns(sql, [p.column for p in obj.properties or []], columns)
    for column, origins in traced.items():
        if any(o.masked for o in origins):
            continue
        found = Inherited()
        for origin in origins:
            key = (origin.port, origin.column)
            tags, level = sensitivity.get(key, (set(), None))
            if tags or level_rank(level) > level_rank("internal"):
                found.tags |= tags
                found.level = max([found.level, level], key=level_rank) if found.level else level
                found.sources.add(".".join(key))
        if found.sources:
            out[column] = found
    return out


def inspect_landing(
    product: DataProduct,
    contracts: dict[str, Contract],
    sample: pa.Table,
    policies: PolicySet | None,
    inherited: dict[str, Inherited],
    maturity: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
) -> LandingReport:
    """Classify a sample of the staged data and run the publish policies over the result; ``maturity``
    scores the version from the detections, for ``input.maturity``."""
    from quanta.governance.classify import detect

    report = LandingReport(detect(sample), inherited)
    if policies is not None:
        document = policy_document(product, contracts)
        document["detections"] = [
            {"column": d.column, "tag": d.tag, "kind": d.kind, "level": d.level} for d in report.detections
        ]
        if maturity is not None:
            document["maturity"] = maturity(document["detections"])
        report.decisions = policies.evaluate("publish", document, domain=product.domain)
    return report


def policy_document(product: DataProduct, contracts: dict[str, Contract]) -> dict[str, Any]:
    """The ``input`` every policy sees: the descriptor (with its visibility) and its contracts."""
    descriptor = product.to_dict()
    custom = {c.get("property"): c.get("value") for c in descriptor.get("customProperties") or []}
    if "visibility" in custom:
        descriptor["visibility"] = custom["visibility"]
    return {"product": descriptor, "contracts": {port: c.to_dict() for port, c in contracts.items()}}
