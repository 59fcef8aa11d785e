"""Nested and binary type checks (``quanta.contracts.types``), on DuckDB's own type names."""

from __future__ import annotations

from typing import Any

import pytest

from quanta.contracts.types import type_problem
from quanta.spec.contract import SchemaProperty


def prop(**fields: Any) -> SchemaProperty:
    return SchemaProperty.model_validate({"name": "c", **fields})


ARRAY_OF_INTS = prop(logicalType="array", items={"logicalType": "integer"})
BUYERS = prop(
    logicalType="array",
    items={
        "logicalType": "object",
        "properties": [
            {"name": "name", "logicalType": "string"},
            {"name": "tags", "logicalType": "array", "items": {"logicalType": "string"}},
        ],
    },
)


@pytest.mark.parametrize(
    ("declared", "engine_type", "problem"),
    [
        (ARRAY_OF_INTS, "INTEGER[]", None),
        (ARRAY_OF_INTS, "BIGINT[3]", None),
        (ARRAY_OF_INTS, "VARCHAR[]", "items: VARCHAR cannot hold integer"),
        (ARRAY_OF_INTS, "HUGEINT[]", None),
        (BUYERS, 'STRUCT("name" VARCHAR, tags VARCHAR[])[]', None),
        (BUYERS, "STRUCT(name VARCHAR, tags INTEGER[])[]", "items: tags: items: INTEGER cannot hold string"),
        (BUYERS, "STRUCT(name INTEGER)[]", "items: name: INTEGER cannot hold string"),
        (BUYERS, "STRUCT(other VARCHAR)[]", None),  # a missing member is the required-keys check's to report
        (prop(logicalType="string", physicalType="bytes"), "BLOB", None),
        (prop(logicalType="string", physicalType="bytes"), "INTEGER", "INTEGER cannot hold bytes"),
        (prop(logicalType="string"), "BLOB", "BLOB cannot hold string"),
        (prop(logicalType="object", properties=[{"name": "a", "logicalType": "integer"}]), "JSON", None),
    ],
)
def test_type_problem(declared: SchemaProperty, engine_type: str, problem: str | None) -> None:
    assert type_problem(declared, engine_type) == problem
