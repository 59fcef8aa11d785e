"""ODCS 3.1 / 3.2 read and write, validated against the official schema both ways."""

from __future__ import annotations

from typing import Any

from quanta.errors import FormatError, SpecError
from quanta.spec.contract import Contract
from quanta.spec.formats import Exporter, Importer
from quanta.spec.loader import load_contract_text
from quanta.spec.standards import schema_for, validate_document
from quanta.spec.yamlsource import Document, dump_yaml

# Fields ODCS 3.2 added; a contract written as 3.1 cannot carry them.
_ADDED_IN_3_2 = ("context", "enum", "map", "synonyms")


class OdcsFormat(Exporter, Importer):
    name = "odcs"
    options = {"api_version": "write as this ODCS apiVersion (v3.1.0 or v3.2.0; default: the contract's own)"}

    def import_text(self, text: str, source: str) -> str:
        return dump_yaml(load_contract_text(text, source).contract.to_dict())

    def export_contract(self, contract: Contract, **options: Any) -> str:
        data = contract.to_dict()
        target = options.get("api_version") or data.get("apiVersion", "v3.2.0")
        if target != data.get("apiVersion"):
            data = downgrade(data, target) if target == "v3.1.0" else {**data, "apiVersion": target}
        ensure_valid(data, "odcs", target)
        return dump_yaml(data)


def downgrade(data: dict[str, Any], target: str) -> dict[str, Any]:
    """Rewrite a 3.2 contract as ``target``, refusing when a 3.2-only field would be lost."""
    found = sorted(_find_keys(data, _ADDED_IN_3_2))
    if found:
        raise FormatError(
            f"cannot write this contract as ODCS {target}: it uses {', '.join(found)} (added in v3.2.0)",
            hint="export as v3.2.0, or remove those fields first",
        )
    return {**data, "apiVersion": target}


def _find_keys(node: Any, keys: tuple[str, ...], path: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key in keys:
                found.add(here)
            found |= _find_keys(value, keys, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found |= _find_keys(value, keys, f"{path}[{index}]")
    return found


def ensure_valid(data: dict[str, Any], kind: str, api_version: str) -> None:
    """An export that does not validate against the official schema is a Quanta bug: say so loudly."""
    schema_file, reason = schema_for(kind, api_version)
    if schema_file is None:
        raise FormatError(f"unsupported {kind.upper()} apiVersion {api_version!r}", hint=reason)
    problems = validate_document(Document(data=data, source=f"<{kind} export>"), schema_file)
    if problems:
        raise SpecError(problems, f"the {kind.upper()} export does not validate against the official schema")
