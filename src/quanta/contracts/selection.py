"""Which checks a test runs: ``--checks`` categories, ``--dimension``, ``--quality-id``, ``--tag`` and
``--metadata-only``, with datacontract-cli's names and semantics (an unset criterion selects all)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quanta.contracts.run import Check
from quanta.errors import QuantaError
from quanta.spec.contract import Contract, QualityRule, SchemaProperty

# --checks spelling (lower case) ► Quanta's category; datacontract-cli's and Quanta's names both work.
CATEGORIES = {
    "schema": "schema",
    "properties": "schema",
    "quality": "quality",
    "sla": "sla",
    "servicelevel": "sla",
    "slaproperties": "sla",
    "custom": "custom",
}
CATEGORY_NAMES = "schema (properties), quality, sla (servicelevel, slaProperties), custom"
DIMENSIONS = ("accuracy", "completeness", "conformity", "consistency", "coverage", "timeliness", "uniqueness")
QUALITY_KINDS = frozenset(
    {"nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount", "sql"}
)
METADATA_KINDS = frozenset({"presence", "type"})
# The dimension a built-in check measures (as datacontract-cli assigns it); a quality rule's own wins.
DEFAULT_DIMENSIONS = {
    "required": "completeness",
    "unique": "uniqueness",
    "primaryKey": "uniqueness",
    "relationship": "consistency",
    "presence": "conformity",
    "type": "conformity",
    "pattern": "conformity",
    "enum": "conformity",
    "length": "conformity",
    "range": "conformity",
}


class SelectionError(QuantaError):
    """A check selection option names nothing, or something the contract does not have."""


def parse_list(
    value: str | None, option: str, allowed: dict[str, str] | None = None, names: str | None = None
) -> set[str] | None:
    """A comma-separated option as a set (None when unset); ``allowed`` maps lower-case spellings,
    ``names`` says them for hints."""
    if value is None:
        return None
    raw = [v.strip() for v in value.split(",") if v.strip()]
    choices = names or ", ".join(dict.fromkeys((allowed or {}).values()))
    if not raw:
        hint = f"name at least one ({choices}), or leave {option} out to run everything"
        raise SelectionError(f"{option} is empty", hint=hint if allowed else f"leave {option} out")
    if allowed is None:
        return set(raw)
    unknown = [v for v in raw if v.lower() not in allowed]
    if unknown:
        what = "check kinds" if option == "--checks" else "values"
        raise SelectionError(f"unknown {what} for {option}: {', '.join(unknown)}", hint=f"use {choices}")
    return {allowed[v.lower()] for v in raw}


def parse_checks(value: str | None) -> set[str] | None:
    """``--checks``: case-insensitive, spaces allowed, datacontract-cli's names as aliases."""
    return parse_list(value, "--checks", CATEGORIES, CATEGORY_NAMES)


@dataclass(frozen=True)
class Selection:
    """The criteria that are set all apply; ``None`` selects everything."""

    categories: set[str] | None = None
    dimensions: set[str] | None = None
    quality_ids: set[str] | None = None
    tags: set[str] | None = None
    metadata_only: bool = False

    @classmethod
    def parse(
        cls,
        checks: str | None = None,
        dimension: str | None = None,
        quality_id: str | None = None,
        tag: str | None = None,
        metadata_only: bool = False,
    ) -> Selection:
        dims = {d: d for d in DIMENSIONS}
        return cls(
            parse_checks(checks),
            parse_list(dimension, "--dimension", dims),
            parse_list(quality_id, "--quality-id"),
            parse_list(tag, "--tag"),
            metadata_only,
        )

    def wants(self, category: str) -> bool:
        return self.categories is None or category in self.categories

    def rule_selected(self, rule: QualityRule) -> bool:
        """Whether a quality rule runs: its dimension, id and tags against the criteria."""
        if self.dimensions is not None and (rule.dimension or "").lower() not in self.dimensions:
            return False
        if self.quality_ids is not None and rule.id not in self.quality_ids:
            return False
        return self.tags is None or bool(self.tags & set(rule.tags or []))

    def keeps(self, check: Check) -> bool:
        """Whether a check of the run is reported (quality rules were selected beforehand)."""
        category = "quality" if check.kind in QUALITY_KINDS else "sla" if check.kind == "sla" else "schema"
        if not self.wants(category):
            return False
        if self.metadata_only:
            return check.kind in METADATA_KINDS
        if category == "quality":
            return True
        if self.quality_ids is not None or self.tags is not None:
            return False  # only quality rules carry ids and tags
        return self.dimensions is None or _dimension(check) in self.dimensions

    def apply(self, contract: Contract) -> Contract:
        """The contract with only the selected quality rules; a ``--quality-id`` it lacks is an error."""
        if self.quality_ids is not None:
            declared = {r.id for r in _rules(contract) if r.id}
            missing = sorted(self.quality_ids - declared)
            if missing:
                raise SelectionError(
                    f"--quality-id {', '.join(missing)}: no quality rule of contract {contract.id} has "
                    f"{'this id' if len(missing) == 1 else 'these ids'}",
                    hint=f"ids declared: {', '.join(sorted(declared)) or 'none (add id: to a rule)'}",
                )
        if self.dimensions is None and self.quality_ids is None and self.tags is None:
            return contract
        return _keep_rules(contract, self.rule_selected)


def _dimension(check: Check) -> str | None:
    if check.kind == "sla":
        return "timeliness" if check.name.split()[0] in ("latency", "freshness") else "conformity"
    if check.kind == "items":
        return "uniqueness" if "unique" in check.name.lower() else "conformity"
    return DEFAULT_DIMENSIONS.get(check.kind)


def _rules(contract: Contract) -> list[QualityRule]:
    found: list[QualityRule] = []

    def visit(props: list[SchemaProperty] | None) -> None:
        for prop in props or []:
            found.extend(prop.quality or [])
            visit(prop.properties)

    for obj in contract.objects:
        found.extend(obj.quality or [])
        visit(obj.properties)
    return found


def _keep_rules(contract: Contract, keep: Callable[[QualityRule], bool]) -> Contract:
    def props(items: list[SchemaProperty] | None) -> list[SchemaProperty] | None:
        if items is None:
            return None
        return [
            p.model_copy(
                update={"quality": [r for r in p.quality or [] if keep(r)], "properties": props(p.properties)}
            )
            for p in items
        ]

    objects = [
        o.model_copy(
            update={"quality": [r for r in o.quality or [] if keep(r)], "properties": props(o.properties)}
        )
        for o in contract.objects
    ]
    return contract.model_copy(update={"schema_": objects})


@dataclass(frozen=True)
class TestOptions:
    """What ``quanta test`` was asked beyond the target: the checks, row filters, sample rows."""

    selection: Selection = Selection()
    filter: str | None = None
    """One SQL predicate for a contract of one object (``--filter``)."""
    filters: str | None = None
    """JSON object of object name ► SQL predicate (``--filters``)."""
    samples: bool = True
    schema_name: str | None = None
    """Only this schema object (``--schema-name``; ``all`` or None: every object)."""
