"""The official ODCS and ODPS JSON Schemas, and validation against them with positioned errors."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from quanta.errors import Problem
from quanta.spec.contract import COMPARATORS as _COMPARATORS
from quanta.spec.yamlsource import Document, JsonPath

ODCS_VERSIONS = {
    "v3.2.0": "odcs-json-schema-v3.2.0.json",
    "v3.1.0": "odcs-json-schema-v3.1.0.json",
    "v3.0.2": "odcs-json-schema-v3.1.0.json",
    "v3.0.1": "odcs-json-schema-v3.1.0.json",
    "v3.0.0": "odcs-json-schema-v3.1.0.json",
}
ODPS_VERSIONS = {"v1.0.0": "odps-json-schema-v1.0.0.json", "v0.9.0": "odps-json-schema-v1.0.0.json"}
LATEST_ODCS = "v3.2.0"
LATEST_ODPS = "v1.0.0"

_UNKNOWN_FIELD = ("additionalProperties", "unevaluatedProperties")
_UNEXPECTED = re.compile(r"\('(?P<names>[^)]*)' (?:was|were) unexpected\)")


@cache
def load_schema(filename: str) -> dict[str, Any]:
    """One of the official schemas shipped in ``quanta/spec/standards``."""
    text = resources.files("quanta.spec").joinpath("standards", filename).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _fast_validator(filename: str) -> Any:
    """The schema compiled by jsonschema-rs (Rust): whether a document is valid, in well under a
    millisecond; formats asserted, as the explaining validator below asserts them."""
    import jsonschema_rs

    return jsonschema_rs.Draft201909Validator(load_schema(filename), validate_formats=True)


@cache
def _validator(filename: str) -> Any:
    from jsonschema import Draft201909Validator

    return Draft201909Validator(load_schema(filename), format_checker=Draft201909Validator.FORMAT_CHECKER)


@cache
def _vocabulary(filename: str) -> frozenset[str]:
    """Every property name the schema knows, for 'did you mean' hints."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(load_schema(filename))
    return frozenset(names)


def unknown_field_hint(name: str, schema_file: str) -> str:
    """How to fix an unknown field: where the schema does allow that name, else the closest known
    name (never the same one), else remove it."""
    homes = _homes(schema_file).get(name)
    if homes:
        where = ", ".join(homes[:4]) + (f" and {len(homes) - 4} more" if len(homes) > 4 else "")
        return f"'{name}' is allowed only in {where}: remove it here, or move it under customProperties"
    close = difflib.get_close_matches(name, _vocabulary(schema_file) - {name}, n=1)
    return f"did you mean '{close[0]}'?" if close else "remove it, or move it under customProperties"


_COMBINATORS = frozenset({"properties", "allOf", "anyOf", "oneOf", "if", "then", "else", "items", "$defs"})


@cache
def _homes(filename: str) -> dict[str, tuple[str, ...]]:
    """Property name ► the schema definitions that declare it (``S3Server`` reads 's3 servers')."""
    found: dict[str, set[str]] = {}

    def visit(node: Any, owner: str) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                for prop in props:
                    found.setdefault(prop, set()).add(owner)
            for key, value in node.items():
                visit(value, owner if key in _COMBINATORS or key in ("definitions",) else key)
        elif isinstance(node, list):
            for value in node:
                visit(value, owner)

    visit(load_schema(filename), "the document")
    return {name: _readable(owners) for name, owners in found.items()}


def _readable(owners: set[str]) -> tuple[str, ...]:
    servers = sorted(
        o.removesuffix("Server").lower() for o in owners if o.endswith("Server") and o != "Server"
    )
    rest = sorted(o for o in owners if not (o.endswith("Server") and o != "Server"))
    return (*rest, *([f"servers of type {', '.join(servers)}"] if servers else []))


def schema_for(kind: str, api_version: str | None) -> tuple[str | None, str]:
    """Schema file for a document kind and apiVersion, or (None, reason) when unsupported."""
    table, latest = (ODCS_VERSIONS, LATEST_ODCS) if kind == "odcs" else (ODPS_VERSIONS, LATEST_ODPS)
    if api_version is None:
        return table[latest], ""
    if api_version in table:
        return table[api_version], ""
    return None, f"supported apiVersion values are {', '.join(sorted(table))}"


def validate_document(doc: Document, schema_file: str, base: JsonPath = ()) -> list[Problem]:
    """Validate ``doc.data`` (or the part at ``base``) against an official schema; all problems at once."""
    instance: Any = doc.data
    for part in base:
        instance = instance[part]
    try:
        if _fast_validator(schema_file).is_valid(instance):
            return []  # the common case, without importing jsonschema or walking the schema in Python
    except ValueError:
        pass  # a value JSON has no type for (a number as a key): the explaining validator judges it
    errors = list(_validator(schema_file).iter_errors(instance))
    # When a subschema fails, the properties it would have evaluated are also flagged "unevaluated";
    # that is noise next to the real cause at the same place or below it, so keep only the cause.
    caused = {
        tuple(e.absolute_path)[:depth]
        for e in errors
        if e.validator not in _UNKNOWN_FIELD
        for depth in range(len(e.absolute_path) + 1)
    }
    errors = [e for e in errors if e.validator not in _UNKNOWN_FIELD or tuple(e.absolute_path) not in caused]
    found = [_to_problem(doc, e, schema_file, base) for e in errors]
    # The same violation can surface through several subschemas (allOf, $ref): report it once.
    problems = list(dict.fromkeys(found))
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return problems


def _to_problem(doc: Document, error: Any, schema_file: str, base: JsonPath) -> Problem:
    from jsonschema.exceptions import best_match

    path: JsonPath = (*base, *error.absolute_path)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        match = _UNEXPECTED.search(error.message)
        if match:
            names = [n.strip(" '") for n in match.group("names").split(",")]
            unknown = names[0]
            hint = unknown_field_hint(unknown, schema_file)
            return doc.problem(
                (*path, unknown),
                f"unknown field '{unknown}'" + (f" (and {names[1:]})" if names[1:] else ""),
                hint,
            )
    if error.validator in ("oneOf", "anyOf") and error.context:
        return _one_of_problem(doc, error, path, best_match(error.context), schema_file)
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        field_name = missing[0] if missing else "?"
        if field_name == "map" and isinstance(error.instance, dict) and "logicalType" not in error.instance:
            # The official schema's per-type conditions match a property without logicalType as a map.
            return doc.problem(
                path, "missing 'logicalType'", "add logicalType: string, integer, number, boolean, date, ..."
            )
        return doc.problem(path, f"missing required field '{field_name}'", f"add '{field_name}:' here")
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return doc.problem(path, f"{error.instance!r} is not allowed here", f"use one of: {allowed}")
    if error.validator == "type":
        expected = error.validator_value
        return doc.problem(
            path,
            f"expected {_article(expected)}, got {_describe(error.instance)}",
            "quote the value if it should be a string" if expected == "string" else None,
        )
    return doc.problem(path, error.message)


def _one_of_problem(doc: Document, error: Any, path: JsonPath, best: Any, schema_file: str) -> Problem:
    schema_text = json.dumps(error.validator_value)
    if "mustBeGreaterThan" in schema_text and isinstance(error.instance, dict):
        return _comparator_problem(doc, error, path)
    if best is not None and best.validator not in ("oneOf", "anyOf"):
        inner = _to_problem(doc, best, schema_file, ())
        sub_path: JsonPath = (*path, *best.relative_path)
        return doc.problem(sub_path, inner.message, inner.hint)
    return doc.problem(path, error.message)


def _comparator_problem(doc: Document, error: Any, path: JsonPath) -> Problem:
    present = [c for c in _COMPARATORS if c in error.instance]
    if not present:
        return doc.problem(
            path, "a quality rule needs a comparator", f"set one of: {', '.join(_COMPARATORS)}"
        )
    if len(present) > 1:
        return doc.problem(
            (*path, present[1]),
            f"a quality rule takes exactly one comparator, found {', '.join(present)}",
            f"keep one of {', '.join(present)}",
        )
    name = present[0]
    value = error.instance[name]
    if name.endswith("Between"):
        hint = f"{name} takes two numbers, smallest first, e.g. {name}: [0, 100]"
        return doc.problem(
            (*path, name), f"{name} must be a list of two different numbers, got {value!r}", hint
        )
    return doc.problem((*path, name), f"{name} must be a number, got {_describe(value)}", "e.g. 0 or 95.5")


def _article(expected: object) -> str:
    if isinstance(expected, list):
        return " or ".join(_article(e) for e in expected)
    return {"object": "a mapping", "array": "a list", "integer": "an integer"}.get(
        str(expected), f"a {expected}"
    )


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
