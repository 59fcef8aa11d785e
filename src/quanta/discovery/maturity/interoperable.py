"""Interoperable: the product speaks the standards other tools and domains speak: ODCS and ODPS
documents that validate, standard types, keys linked to the shared glossary, Iceberg tables."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import get_args

from quanta.discovery.maturity.facts import Facts, count, glossary_terms, names
from quanta.discovery.maturity.scoring import Verdict, criterion
from quanta.spec.contract import Contract, LogicalType

STANDARD_TYPES = frozenset(get_args(LogicalType))
_REFERENCE = re.compile(r"(_id|_key)$")
_CACHE_SIZE = 1024
# Validating against the official JSON Schemas takes milliseconds: done once per metadata fingerprint.
_exports: OrderedDict[str, dict[str, list[str]]] = OrderedDict()
_lock = threading.Lock()


def export_problems(facts: Facts) -> dict[str, list[str]]:
    """``odcs:<port>`` and ``odps`` ► the problems of that export against the official schema."""
    with _lock:
        if facts.fingerprint in _exports:
            _exports.move_to_end(facts.fingerprint)
            return _exports[facts.fingerprint]
    found = {f"odcs:{port}": _odcs(contract) for port, contract in facts.contracts.items()}
    found["odps"] = _odps(facts)
    with _lock:
        _exports[facts.fingerprint] = found
        while len(_exports) > _CACHE_SIZE:
            _exports.popitem(last=False)
    return found


def _odcs(contract: Contract) -> list[str]:
    from quanta.spec.standards import schema_for, validate_document
    from quanta.spec.yamlsource import Document

    data = contract.to_dict()
    schema_file, reason = schema_for("odcs", data.get("apiVersion"))
    if schema_file is None:
        return [f"apiVersion {data.get('apiVersion')!r}: {reason}"]
    problems = validate_document(Document(data=data, source="<odcs export>"), schema_file)
    return [f"{p.path}: {p.message}" if p.path else p.message for p in problems]


def _odps(facts: Facts) -> list[str]:
    from quanta.spec.formats import ProductExport
    from quanta.spec.formats.odps import to_odps
    from quanta.spec.standards import schema_for, validate_document
    from quanta.spec.yamlsource import Document

    data = to_odps(ProductExport(facts.product.model_copy(deep=True), dict(facts.contracts)))
    schema_file, reason = schema_for("odps", data.get("apiVersion"))
    if schema_file is None:
        return [f"apiVersion {data.get('apiVersion')!r}: {reason}"]
    problems = validate_document(Document(data=data, source="<odps export>"), schema_file)
    return [f"{p.path}: {p.message}" if p.path else p.message for p in problems]


@criterion("interoperable", "standard-types", "Every column has a standard ODCS logical type", 20)
def standard_types(facts: Facts) -> Verdict:
    columns = facts.columns
    odd = [c for c in columns if c.prop.logical_type not in STANDARD_TYPES]
    evidence = f"{len(columns) - len(odd)} of {count(len(columns), 'column')} with a standard logicalType"
    hint = f"set logicalType ({', '.join(sorted(STANDARD_TYPES))}) on {names([c.name for c in odd])}"
    if odd:
        hint += f", e.g. {odd[0].at('logicalType')}"
    return Verdict.share(len(columns) - len(odd), len(columns), evidence, hint)


@criterion("interoperable", "glossary-keys", "Key columns are linked to glossary terms", 20)
def glossary_keys(facts: Facts) -> Verdict:
    keys = [c for c in facts.columns if c.prop.primary_key or c.prop.relationships]
    if not keys:
        return Verdict(
            0.0,
            "no key column declared",
            "mark key columns with primaryKey: true (and relationships for references)",
        )
    linked = [c for c in keys if glossary_terms(c.prop)]
    bare = [c for c in keys if c not in linked]
    evidence = f"{len(linked)} of {count(len(keys), 'key column')} linked to a glossary term"
    hint = (
        f"add authoritativeDefinitions: [{{type: businessDefinition, url: <glossary term>}}] to "
        f"{names([c.name for c in bare])}, e.g. {bare[0].at('authoritativeDefinitions')}"
        if bare
        else None
    )
    return Verdict.share(len(linked), len(keys), evidence, hint)


@criterion("interoperable", "odcs", "The contracts validate against the official ODCS schema", 20)
def odcs(facts: Facts) -> Verdict:
    found = {k.removeprefix("odcs:"): v for k, v in export_problems(facts).items() if k.startswith("odcs:")}
    if not found:
        return Verdict(
            0.0, "no contract to export", f"bind a contract to the output port in {facts.product_file}"
        )
    broken = {port: problems for port, problems in found.items() if problems}
    versions = names(sorted({c.api_version for c in facts.contracts.values()}))
    if not broken:
        return Verdict(1.0, f"ODCS {versions} export valid")
    port, problems = next(iter(broken.items()))
    evidence = f"{count(sum(len(p) for p in broken.values()), 'schema problem')}, first: {problems[0]}"
    return Verdict.share(
        len(found) - len(broken),
        len(found),
        evidence,
        f"fix {facts.contract_file(port)}: quanta export odcs {facts.product.id}",
    )


@criterion("interoperable", "odps", "The product validates against the official ODPS schema", 20)
def odps(facts: Facts) -> Verdict:
    problems = export_problems(facts)["odps"]
    if not problems:
        return Verdict(1.0, "ODPS v1.0.0 export valid")
    return Verdict(
        0.0,
        f"{count(len(problems), 'schema problem')}, first: {problems[0]}",
        f"fix {facts.product_file}: quanta export odps {facts.product.id} shows every problem",
    )


@criterion("interoperable", "relationships", "Reference columns declare what they refer to", 10)
def relationships(facts: Facts) -> Verdict:
    references = [c for c in facts.columns if _REFERENCE.search(c.name) and not c.prop.primary_key]
    declared = [c for c in references if c.prop.relationships]
    if not references:
        return Verdict(1.0, "no reference columns (named *_id or *_key)")
    bare = [c for c in references if c not in declared]
    evidence = f"{len(declared)} of {count(len(references), 'reference column')} with relationships"
    hint = f"add relationships: [{{to: <table>.<column>}}] to {names([c.name for c in bare])}" + (
        f", e.g. {bare[0].at('relationships')}" if bare else ""
    )
    return Verdict.share(len(declared), len(references), evidence, hint)


@criterion("interoperable", "iceberg", "Published as Apache Iceberg tables", 10)
def iceberg(facts: Facts) -> Verdict:
    tables = [p.name for p in facts.product.output_ports or [] if (p.type or "table") == "table"]
    if not tables:
        return Verdict(
            0.0, "no output port of type table", f"declare outputPorts[].type: table in {facts.product_file}"
        )
    if facts.observed.candidate or facts.observed.published_versions:
        return Verdict(1.0, f"Iceberg {count(len(tables), 'table')}: {names(tables)}")
    return Verdict(0.0, "not published yet", f"build it: quanta build {facts.product.id}")
