"""Positioned YAML loading with YAML 1.2 core-schema semantics."""

from __future__ import annotations

import pytest

from quanta.errors import SpecError
from quanta.spec.yamlsource import dump_yaml, format_path, parse_yaml

DOC = """\
id: x
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: integer
"""


def test_every_node_has_its_line_and_column() -> None:
    doc = parse_yaml(DOC, "c.yaml")
    assert doc.positions[("schema",)] == (2, 1)
    assert doc.positions[("schema", 0)] == (3, 5)
    assert doc.positions[("schema", 0, "properties", 0, "logicalType")] == (6, 9)


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    doc = parse_yaml(DOC, "c.yaml")
    assert doc.locate(("schema", 0, "properties", 0, "missing")) == (5, 9)
    assert doc.problem(("schema", 0, "nope"), "m").line == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v: no", "no"),  # YAML 1.1 would say False (Norway's country code)
        ("v: yes", "yes"),
        ("v: on", "on"),
        ("v: 2024-01-31", "2024-01-31"),  # dates stay strings, as the JSON Schemas expect
        ("v: 09:00", "09:00"),  # no sexagesimal numbers
        ("v: true", True),
        ("v: 0x1F", 31),
        ("v: 1.5e3", 1500.0),
        ("v: ~", None),
        ("v:", None),
        ("v: .inf", float("inf")),
    ],
)
def test_core_schema_scalars(text: str, expected: object) -> None:
    assert parse_yaml(text).data["v"] == expected


def test_duplicate_keys_are_errors_with_both_lines() -> None:
    with pytest.raises(SpecError) as info:
        parse_yaml("a: 1\nb: 2\na: 3\n", "d.yaml")
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (3, 1)
    assert "first defined on line 1" in problem.message


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: 'unclosed\nb: 1\n", 1), ("a:\n\t- 1\n", 2), ("a: 1\n---\nb: 2\n", 2), ("a: [1, 2\n", 2)],
)
def test_syntax_errors_are_positioned(text: str, line: int) -> None:
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "bad.yaml")
    problem = info.value.problems[0]
    assert problem.source == "bad.yaml"
    assert problem.line == line
    assert problem.message.startswith("invalid YAML")


def test_dump_quotes_what_a_yaml_11_reader_would_misread() -> None:
    text = dump_yaml({"country": "no", "time": "09:00", "date": "2024-01-01", "plain": "orders"})
    assert parse_yaml(text).data == {
        "country": "no",
        "time": "09:00",
        "date": "2024-01-01",
        "plain": "orders",
    }
    import yaml

    assert yaml.safe_load(text)["country"] == "no"  # also safe for YAML 1.1 readers
    assert yaml.safe_load(text)["date"] == "2024-01-01"


def test_format_path() -> None:
    assert format_path(("schema", 0, "properties", 2, "name")) == "schema[0].properties[2].name"
    assert format_path(()) == ""
