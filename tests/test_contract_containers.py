"""Array and object rules (logicalTypeOptions items/properties) and schema-level composite foreign keys,
on each way the data can store them: lists, STRUCTs, MAPs and JSON text."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from quanta.contracts import check_object
from quanta.contracts.containers import struct_fields
from quanta.engines import get_engine
from quanta.engines.base import ArrowInput
from quanta.spec.contract import Contract


def contract(properties: list[dict[str, Any]], **obj: Any) -> Contract:
    return Contract.model_validate(
        {
            "apiVersion": "v3.2.0",
            "kind": "DataContract",
            "id": "c",
            "version": "1.0.0",
            "status": "active",
            "schema": [{"name": "t", "properties": properties, **obj}],
        }
    )


def verdicts(doc: Contract, sql: str, related: dict[str, str] | None = None) -> dict[str, Any]:
    data = ArrowInput(duckdb.sql(sql).to_arrow_table())
    others = {name: ArrowInput(duckdb.sql(q).to_arrow_table()) for name, q in (related or {}).items()}
    run = check_object(doc, doc.objects[0], get_engine("duckdb"), data, related=others)
    return {c.name: (c.verdict, c.measured) for c in run.checks if c.kind not in ("type", "presence")}


ARRAY = contract(
    [
        {
            "name": "xs",
            "logicalType": "array",
            "logicalTypeOptions": {"minItems": 1, "maxItems": 3, "uniqueItems": True},
        }
    ]
)


@pytest.mark.parametrize(
    ("value", "failing"),
    [
        ("[1, 2, 3]", set()),
        ("[]::int[]", {"xs minItems 1"}),
        ("[1, 2, 3, 4]", {"xs maxItems 3"}),
        ("[1, 1]", {"xs items are unique"}),
        ("[1, NULL]", set()),  # one null is one distinct item
        ("[NULL, NULL]::int[]", {"xs items are unique"}),
        ("NULL::int[]", set()),  # no list, nothing to count
    ],
)
def test_array_items(value: str, failing: set[str]) -> None:
    found = verdicts(ARRAY, f"select {value} as xs")
    assert {name for name, (verdict, _) in found.items() if verdict == "failed"} == failing


OBJECT_OPTIONS = {"required": ["a", "b"], "minProperties": 2, "maxProperties": 2}


@pytest.mark.parametrize(
    ("value", "failing"),
    [
        ("{'a': 1, 'b': 2}", set()),
        ("{'a': 1}", {"o has key b", "o minProperties 2"}),
        ("{'a': 1, 'b': NULL}", {"o has key b"}),
        ("{'a': 1, 'b': 2, 'c': 3}", {"o maxProperties 2"}),
        ("map {'a': 1, 'b': 2}", set()),
        ("map {'a': 1}", {"o has key b", "o minProperties 2"}),
        ("map {'a': 1, 'b': 2, 'c': 3}", {"o maxProperties 2"}),
        ('\'{"a": 1, "b": 2}\'::json', set()),
        ("'{\"a\": 1}'", {"o has key b", "o minProperties 2"}),
        ('\'{"a": 1, "b": 2, "c": 3}\'', {"o maxProperties 2"}),
    ],
)
def test_object_properties(value: str, failing: set[str]) -> None:
    doc = contract([{"name": "o", "logicalType": "object", "logicalTypeOptions": OBJECT_OPTIONS}])
    found = verdicts(doc, f"select {value} as o")
    assert {name for name, (verdict, _) in found.items() if verdict == "failed"} == failing


def test_struct_field_names_with_quotes_and_nesting() -> None:
    kind = (
        'STRUCT(a INTEGER, "b c" VARCHAR, "d""e" INTEGER, f STRUCT(g INTEGER, h INTEGER[]), i DECIMAL(10,2))'
    )
    assert struct_fields(kind) == ["a", "b c", 'd"e', "f", "i"]


COMPOSITE = contract(
    [{"name": "id", "logicalType": "integer"}, {"name": "cc", "logicalType": "string"}],
    relationships=[{"type": "foreignKey", "from": ["t.id", "t.cc"], "to": ["r.id", "r.country"]}],
)
TARGET = "select * from (values (1, 'US'), (2, 'CA'), (NULL, 'MX')) v(id, country)"


@pytest.mark.parametrize(
    ("rows", "dangling"),
    [
        ("(1, 'US'), (2, 'CA')", 0),
        ("(1, 'CA'), (2, 'CA')", 1),  # receiver 1 exists, but not in CA
        ("(3, 'US'), (NULL, 'MX'), (1, NULL)", 1),  # keys with a NULL part are not keys
    ],
)
def test_composite_foreign_key(rows: str, dangling: int) -> None:
    found = verdicts(COMPOSITE, f"select * from (values {rows}) v(id, cc)", {"r": TARGET})
    assert found["(id, cc) references r(id, country)"] == ("failed" if dangling else "passed", dangling)


def test_composite_foreign_key_to_a_missing_table_is_a_warning() -> None:
    run = check_object(
        COMPOSITE,
        COMPOSITE.objects[0],
        get_engine("duckdb"),
        ArrowInput(duckdb.sql("select 1 as id, 'US' as cc").to_arrow_table()),
    )
    skipped = [c for c in run.checks if c.kind == "relationship"]
    assert [(c.verdict, "not available" in (c.message or "")) for c in skipped] == [("warning", True)]
