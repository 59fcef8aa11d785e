"""The two validators of the official schemas agree: jsonschema-rs decides that a document is valid
(fast), jsonschema explains one that is not; a document one finds valid and the other not would be
reported wrongly. Every ODCS and ODPS document of the repository's tests, examples and blueprints, at
its own apiVersion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from quanta.spec.standards import _fast_validator, _validator, schema_for

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("tests", "examples", "src/quanta/blueprints", "benchmarks")


def _documents() -> list[tuple[str, Any, str]]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.y*ml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError):
                continue  # the invalid corpus has YAML that does not parse: not a schema question
            if not isinstance(data, dict) or data.get("kind") not in ("DataContract", "DataProduct"):
                continue
            kind = "odcs" if data["kind"] == "DataContract" else "odps"
            version = data.get("apiVersion")
            schema, _ = schema_for(kind, version if isinstance(version, str) else None)
            if schema is not None:
                found.append((str(path.relative_to(ROOT)), data, schema))
    return found


DOCUMENTS = _documents()


def test_there_are_documents_of_both_kinds_and_both_verdicts() -> None:
    assert len(DOCUMENTS) > 100
    kinds = {schema.split("-")[0] for _, _, schema in DOCUMENTS}
    verdicts = {_validator(schema).is_valid(data) for _, data, schema in DOCUMENTS}
    assert kinds == {"odcs", "odps"} and verdicts == {True, False}


@pytest.mark.parametrize(("path", "data", "schema"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_both_validators_give_the_same_verdict(path: str, data: Any, schema: str) -> None:
    try:
        fast = _fast_validator(schema).is_valid(data)
    except ValueError:  # a value JSON has no type for: validate_document asks jsonschema then
        return
    assert fast == _validator(schema).is_valid(data), path
