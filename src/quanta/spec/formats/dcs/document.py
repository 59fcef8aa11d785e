"""What every part of the DCS reader shares: positioned problems, ``$ref``-resolved nodes, small mappings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quanta.errors import Problem
from quanta.spec.formats.dcs.odcs_schema import odcs_validator
from quanta.spec.yamlsource import Document, JsonPath


@dataclass
class Node:
    """A DCS mapping after ``$ref`` resolution, remembering the document path each key came from."""

    data: dict[str, Any]
    path: JsonPath
    origins: dict[str, JsonPath] = field(default_factory=dict)

    def at(self, key: str) -> JsonPath:
        return self.origins.get(key, (*self.path, key))


def custom(extras: dict[str, Any]) -> list[dict[str, Any]]:
    """Keys ODCS has no place for, as ``customProperties`` entries under their DCS names."""
    return [{"property": key, "value": value} for key, value in extras.items()]


def describe(value: Any) -> str:
    """How a value of the wrong kind reads in a message, e.g. 'a mapping' or 'int 3'."""
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}
    return names.get(type(value), f"{type(value).__name__} {value!r}")


class DocumentReader:
    """Walks one DCS document, building ODCS data and collecting positioned problems."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.models: dict[str, set[str]] = {}

    def fail(self, path: JsonPath, message: str, hint: str | None = None) -> None:
        self.problems.append(self.doc.problem(path, message, hint))

    def mapping(self, value: Any, path: JsonPath, what: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if value is not None:
            self.fail(path, f"'{path[-1]}' must be a mapping of {what}, got {describe(value)}")
        return {}

    def _tags(self, value: Any, path: JsonPath) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            self.fail(path, "'tags' must be a list of strings")
            return []
        return list(value)

    def _links(self, value: Any, path: JsonPath) -> list[dict[str, str]]:
        links = self.mapping(value, path, "link name to URL")
        return [{"type": str(name), "url": str(url)} for name, url in links.items()]

    def check(self, element: dict[str, Any], definition: str, path: JsonPath, raw: dict[str, Any]) -> None:
        """Report where an element built from ``raw`` breaks the ODCS schema, at the DCS key responsible."""
        from jsonschema.exceptions import best_match

        errors = list(odcs_validator(definition).iter_errors(element))
        # 'unexpected properties' is only the echo of a failed type branch; the cause is more useful.
        causes = [e for e in errors if e.validator not in ("unevaluatedProperties", "additionalProperties")]
        error = best_match(causes or errors)
        if error is not None:
            key = next(iter(error.absolute_path), None)
            where = (*path, key) if isinstance(key, str) and key in raw else path
            self.fail(where, f"cannot be written as ODCS {definition}: {error.message}")
