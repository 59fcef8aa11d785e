"""Self-describing: the contract explains every column well enough to use the data without asking
anyone: descriptions, types, examples, business names."""

from __future__ import annotations

from quanta.discovery.maturity.facts import Column, Facts, count, names
from quanta.discovery.maturity.scoring import Verdict, criterion

EXAMPLES_SHARE = 0.5
BUSINESS_NAMES_SHARE = 0.5


def _where(columns: list[Column], field: str) -> str:
    """Where to add ``field``: the first column's exact place, and the other columns by name."""
    if not columns:
        return ""
    first, rest = columns[0], [c.name for c in columns[1:]]
    more = f" (also {names(rest)})" if rest else ""
    return f"{first.at(field)}{more}"


@criterion("self-describing", "documented-columns", "Every column is documented", 35)
def documented_columns(facts: Facts) -> Verdict:
    columns = facts.columns
    undocumented = [c for c in columns if not (c.prop.description or "").strip()]
    if not columns:
        return Verdict(0.0, "no columns in the contract", "describe the schema in the contract")
    evidence = f"{len(columns) - len(undocumented)} of {count(len(columns), 'column')} documented"
    hint = f"add a description to {len(undocumented)} column(s): {_where(undocumented, 'description')}"
    return Verdict.share(len(columns) - len(undocumented), len(columns), evidence, hint)


@criterion("self-describing", "types", "Every column has a logical and a physical type", 15)
def types(facts: Facts) -> Verdict:
    columns = facts.columns
    untyped = [c for c in columns if not (c.prop.logical_type and c.prop.physical_type)]
    evidence = f"{len(columns) - len(untyped)} of {count(len(columns), 'column')} fully typed"
    hint = f"set logicalType and physicalType: {_where(untyped, 'logicalType')}"
    return Verdict.share(len(columns) - len(untyped), len(columns), evidence, hint)


@criterion(
    "self-describing",
    "examples",
    f"At least {EXAMPLES_SHARE:.0%} of columns show examples or allowed values",
    15,
)
def examples(facts: Facts) -> Verdict:
    columns = facts.columns
    shown = [c for c in columns if c.prop.examples or c.prop.enum]
    missing = [c for c in columns if c not in shown]
    evidence = f"{len(shown)} of {count(len(columns), 'column')} with examples or allowed values"
    hint = f"add examples: [...] to columns: {_where(missing, 'examples')}"
    return Verdict.share(len(shown), len(columns), evidence, hint, EXAMPLES_SHARE)


@criterion(
    "self-describing",
    "business-names",
    f"At least {BUSINESS_NAMES_SHARE:.0%} of columns have business names",
    10,
)
def business_names(facts: Facts) -> Verdict:
    columns = facts.columns
    named = [c for c in columns if c.prop.business_name]
    missing = [c for c in columns if not c.prop.business_name]
    evidence = f"{len(named)} of {count(len(columns), 'column')} with a business name"
    hint = f"add businessName (the name people use) to columns: {_where(missing, 'businessName')}"
    return Verdict.share(len(named), len(columns), evidence, hint, BUSINESS_NAMES_SHARE)


@criterion("self-describing", "tables", "Every table of the contract is described", 10)
def tables(facts: Facts) -> Verdict:
    objects = [(port, i, o) for port, c in facts.contracts.items() for i, o in enumerate(c.objects)]
    bare = [(port, i, o) for port, i, o in objects if not (o.description or "").strip()]
    evidence = f"{len(objects) - len(bare)} of {count(len(objects), 'table')} described"
    hint = "add a description: " + ", ".join(
        f"{facts.contract_file(p)}: schema[{i}].description" for p, i, _ in bare
    )
    return Verdict.share(len(objects) - len(bare), len(objects), evidence, hint)


@criterion("self-describing", "contract-description", "The contract states its purpose and usage", 15)
def contract_description(facts: Facts) -> Verdict:
    missing: dict[str, list[str]] = {}
    for port, contract in facts.contracts.items():
        for name in ("purpose", "usage"):
            if not (contract.description and getattr(contract.description, name)):
                missing.setdefault(facts.contract_file(port), []).append(f"description.{name}")
    total, absent = 2 * len(facts.contracts), sum(len(fields) for fields in missing.values())
    if not absent:
        return Verdict(1.0 if total else 0.0, "purpose and usage stated" if total else "no contract")
    evidence = "; ".join(f"no {' and no '.join(fields)} in the contract" for fields in missing.values())
    hint = "; ".join(f"add {' and '.join(fields)} to {file}" for file, fields in missing.items())
    return Verdict.share(total - absent, total, evidence, hint)
