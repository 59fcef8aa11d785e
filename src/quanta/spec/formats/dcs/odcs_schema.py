"""Lookups in the official ODCS schema: which type options, server fields and elements ODCS allows."""

from __future__ import annotations

from functools import cache
from typing import Any

from quanta.spec.standards import LATEST_ODCS, ODCS_VERSIONS, load_schema


@cache
def odcs_defs() -> dict[str, Any]:
    """The ``$defs`` of the official schema of the latest ODCS version."""
    defs: dict[str, Any] = load_schema(ODCS_VERSIONS[LATEST_ODCS])["$defs"]
    return defs


@cache
def type_options(logical: str) -> dict[str, dict[str, Any]]:
    """The logicalTypeOptions ODCS allows for ``logical``: option name ► its JSON Schema."""
    for branch in odcs_defs()["SchemaBaseProperty"]["allOf"][1:]:
        cond = branch["if"]
        consts = [c["properties"]["logicalType"]["const"] for c in cond.get("anyOf", [cond])]
        if logical in consts:
            options: dict[str, dict[str, Any]] = (
                branch["then"]["properties"].get("logicalTypeOptions", {}).get("properties", {})
            )
            return options
    return {}


@cache
def server_fields(server_type: str) -> frozenset[str] | None:
    """Fields ODCS defines for servers of ``server_type``; None when ODCS has no such type."""
    defs = odcs_defs()
    for branch in defs["Server"]["allOf"]:
        if branch["if"]["properties"]["type"]["const"] == server_type:
            name = branch["then"]["$ref"].rsplit("/", 1)[-1]
            return frozenset(defs["ServerSource"][name].get("properties", {}))
    return None


def fits(value: Any, schema: dict[str, Any]) -> bool:
    """Whether ``value`` is valid against the JSON Schema ``schema``."""
    from jsonschema import Draft202012Validator

    return bool(Draft202012Validator(schema).is_valid(value))


@cache
def odcs_validator(definition: str) -> Any:
    """A validator for one element of the official ODCS schema, e.g. ``Server`` or ``DataQuality``."""
    from jsonschema import Draft201909Validator

    return Draft201909Validator({"$defs": odcs_defs(), "$ref": f"#/$defs/{definition}"})
