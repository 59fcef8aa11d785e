"""Breaking-change classification, table-driven: each case is an old and a new contract and the exact
(severity, kind, path) of every change, in order."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from quanta.contracts.changes import (
    RULES,
    ContractChange,
    Severity,
    classify,
    locate,
    requires_major,
    suggest_version,
)
from quanta.errors import QuantaError
from quanta.spec.contract import Contract
from quanta.spec.loader import load_contract, load_contract_text

B: Severity = "breaking"
N: Severity = "non-breaking"
INFO: Severity = "info"
P = "schema.orders.properties"
T = f"{P}.total"
OPTS = f"{T}.logicalTypeOptions"
DEMO = Path(__file__).resolve().parents[1] / "src/quanta/blueprints/demo/domains"


def c(*props: dict[str, Any], obj: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """A contract with one object, ``orders``, holding ``props``."""
    schema = [{"name": "orders", **(obj or {}), "properties": list(props)}]
    head = {"apiVersion": "v3.2.0", "kind": "DataContract", "id": "sales.orders", "version": "1.0.0"}
    return {**head, "schema": schema, **top}


def p(name: str = "total", **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


def t(**fields: Any) -> dict[str, Any]:
    """A contract whose only property is ``total`` with ``fields``."""
    return c(p("total", **fields))


def opts(**options: Any) -> dict[str, Any]:
    return t(logicalType="number", logicalTypeOptions=options)


def sla(*items: dict[str, Any]) -> dict[str, Any]:
    return c(p("id"), slaProperties=list(items))


KEY = [p("order_id", primaryKey=True, primaryKeyPosition=1), p("line", id="l1")]
SERVER = {"server": "local", "type": "local", "path": "/data/orders", "format": "parquet"}

# (case id, old contract, new contract, expected [(severity, kind, path)])
CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str, str]]]] = [
    # objects
    ("object removed", {**c(), "schema": [{"name": "orders"}, {"name": "lines"}]}, c(),
     [(B, "object.removed", "schema.lines")]),
    ("object added", c(), {**c(), "schema": [{"name": "orders"}, {"name": "lines"}]},
     [(N, "object.added", "schema.lines")]),
    ("object renamed (same id)", c(p("id"), obj={"id": "o1"}), {**c(), "schema": [
        {"name": "purchases", "id": "o1", "properties": [p("id")]}]},
     [(B, "object.renamed", "schema.orders")]),
    ("object physical name", c(obj={"physicalName": "t_orders"}), c(obj={"physicalName": "orders_v2"}),
     [(B, "physical_name.changed", "schema.orders.physicalName")]),
    ("object description", c(obj={"description": "a"}), c(obj={"description": "b"}),
     [(INFO, "description.changed", "schema.orders.description")]),
    # properties
    ("property removed", c(p("id"), p("total")), c(p("id")), [(B, "property.removed", T)]),
    ("property added", c(p("id")), c(p("id"), p("total")), [(N, "property.added", T)]),
    ("required property added", c(p("id")), c(p("id"), p("total", required=True)),
     [(N, "property.added.required", T)]),
    ("property renamed (same id)", t(id="t1"), c(p("amount", id="t1")), [(B, "property.renamed", T)]),
    ("renamed and retyped", t(id="t1", logicalType="string"), c(p("amount", id="t1", logicalType="integer")),
     [(B, "property.renamed", T), (B, "type.changed", f"{P}.amount.logicalType")]),
    ("renamed without id is remove + add", c(p("total")), c(p("amount")),
     [(B, "property.removed", T), (N, "property.added", f"{P}.amount")]),
    ("property physical name", t(physicalName="tot"), t(physicalName="total_price"),
     [(B, "physical_name.changed", f"{T}.physicalName")]),
    ("physical name spelled out", t(), t(physicalName="total"),
     [(INFO, "metadata.changed", f"{T}.physicalName")]),
    ("renamed with its physical name kept", t(id="t1", physicalName="tot"),
     c(p("amount", id="t1", physicalName="tot")),
     [(B, "property.renamed", T)]),
    # logical and physical types
    ("string to integer", t(logicalType="string"), t(logicalType="integer"),
     [(B, "type.changed", f"{T}.logicalType")]),
    ("integer to number widens", t(logicalType="integer"), t(logicalType="number"),
     [(N, "type.widened", f"{T}.logicalType")]),
    ("number to integer narrows", t(logicalType="number"), t(logicalType="integer"),
     [(B, "type.changed", f"{T}.logicalType")]),
    ("type declared", t(), t(logicalType="string"), [(N, "type.added", f"{T}.logicalType")]),
    ("type dropped", t(logicalType="string"), t(), [(B, "type.removed", f"{T}.logicalType")]),
    ("int to bigint widens", t(physicalType="int"), t(physicalType="bigint"),
     [(N, "type.widened", f"{T}.physicalType")]),
    ("bigint to int narrows", t(physicalType="bigint"), t(physicalType="int"),
     [(B, "type.changed", f"{T}.physicalType")]),
    ("integer to int4 is an alias", t(physicalType="integer"), t(physicalType="INT4"),
     [(INFO, "type.respelled", f"{T}.physicalType")]),
    ("decimal precision up", t(physicalType="decimal(15,2)"), t(physicalType="decimal(18, 2)"),
     [(N, "type.widened", f"{T}.physicalType")]),
    ("decimal precision down", t(physicalType="decimal(15,2)"), t(physicalType="decimal(12,2)"),
     [(B, "type.changed", f"{T}.physicalType")]),
    ("decimal scale changed", t(physicalType="decimal(15,2)"), t(physicalType="decimal(17,4)"),
     [(B, "type.changed", f"{T}.physicalType")]),
    ("varchar longer", t(physicalType="varchar(10)"), t(physicalType="varchar(20)"),
     [(N, "type.widened", f"{T}.physicalType")]),
    ("varchar shorter", t(physicalType="varchar(20)"), t(physicalType="varchar(10)"),
     [(B, "type.changed", f"{T}.physicalType")]),
    ("varchar to unbounded string", t(physicalType="varchar(10)"), t(physicalType="string"),
     [(N, "type.widened", f"{T}.physicalType")]),
    ("case only", t(physicalType="VARCHAR(10)"), t(physicalType="varchar(10)"),
     [(INFO, "type.respelled", f"{T}.physicalType")]),
    ("int to double widens both", t(logicalType="integer", physicalType="int"),
     t(logicalType="number", physicalType="double"),
     [(N, "type.widened", f"{T}.logicalType"), (N, "type.widened", f"{T}.physicalType")]),
    ("bigint to double loses precision", t(logicalType="integer", physicalType="bigint"),
     t(logicalType="number", physicalType="double"),
     [(N, "type.widened", f"{T}.logicalType"), (B, "type.changed", f"{T}.physicalType")]),
    ("int to decimal(10,0)", t(physicalType="int"), t(physicalType="decimal(10,0)"),
     [(N, "type.widened", f"{T}.physicalType")]),
    ("int to decimal(9,0)", t(physicalType="int"), t(physicalType="decimal(9,0)"),
     [(B, "type.changed", f"{T}.physicalType")]),
    ("unparsed types differ", t(physicalType="MAP<STRING, STRING>"), t(physicalType="MAP<STRING, INT>"),
     [(B, "type.changed", f"{T}.physicalType")]),
    # required and unique
    ("required tightened", t(required=False), t(required=True), [(B, "required.added", f"{T}.required")]),
    ("required relaxed", t(required=True), t(), [(N, "required.removed", f"{T}.required")]),
    ("required false to unset", t(required=False), t(), []),
    ("unique added", t(), t(unique=True), [(B, "unique.added", f"{T}.unique")]),
    ("unique removed", t(unique=True), t(unique=False), [(N, "unique.removed", f"{T}.unique")]),
    # enums
    ("enum narrowed", t(enum=[{"value": "O"}, {"value": "F"}, {"value": "P"}]),
     t(enum=[{"value": "O"}, {"value": "F"}]), [(B, "enum.narrowed", f"{T}.enum")]),
    ("enum widened", t(enum=[{"value": "O"}]), t(enum=[{"value": "O"}, {"value": "F"}]),
     [(N, "enum.widened", f"{T}.enum")]),
    ("enum swapped", t(enum=[{"value": "O"}, {"value": "F"}]), t(enum=[{"value": "O"}, {"value": "P"}]),
     [(B, "enum.changed", f"{T}.enum")]),
    ("enum introduced", t(), t(enum=[{"value": "O"}]), [(B, "enum.narrowed", f"{T}.enum")]),
    ("enum dropped", t(enum=[{"value": "O"}]), t(), [(N, "enum.widened", f"{T}.enum")]),
    ("enum relabelled", t(enum=[{"value": "O", "label": "open"}]), t(enum=[{"value": "O", "label": "Open"}]),
     [(INFO, "metadata.changed", f"{T}.enum")]),
    ("enum reordered", t(enum=[{"value": "O"}, {"value": "F"}]), t(enum=[{"value": "F"}, {"value": "O"}]),
     [(INFO, "metadata.changed", f"{T}.enum")]),
    # bounds
    ("minimum raised", opts(minimum=0), opts(minimum=1), [(B, "bounds.tightened", f"{OPTS}.minimum")]),
    ("maximum raised", opts(maximum=100), opts(maximum=200), [(N, "bounds.loosened", f"{OPTS}.maximum")]),
    ("minimum made exclusive", opts(minimum=0), opts(exclusiveMinimum=0),
     [(B, "bounds.tightened", f"{OPTS}.exclusiveMinimum")]),
    ("exclusive maximum made inclusive", opts(exclusiveMaximum=100), opts(maximum=100),
     [(N, "bounds.loosened", f"{OPTS}.maximum")]),
    ("both lower bounds, the tighter counts", opts(minimum=0, exclusiveMinimum=5), opts(exclusiveMinimum=5),
     []),
    ("bound added", opts(), opts(maximum=10), [(B, "bounds.tightened", f"{OPTS}.maximum")]),
    ("bound removed", opts(minimum=0), opts(), [(N, "bounds.loosened", f"{OPTS}.minimum")]),
    ("same bound respelled", opts(minimum=0), opts(minimum=0.0), []),
    ("date bound earlier", t(logicalType="date", logicalTypeOptions={"minimum": "1992-01-01"}),
     t(logicalType="date", logicalTypeOptions={"minimum": "1990-01-01"}),
     [(N, "bounds.loosened", f"{OPTS}.minimum")]),
    ("timestamp bound later", t(logicalTypeOptions={"maximum": "2021-01-01 00:00:00+10:00"}),
     t(logicalTypeOptions={"maximum": "2021-06-01 00:00:00+10:00"}),
     [(N, "bounds.loosened", f"{OPTS}.maximum")]),
    ("incomparable bounds", opts(minimum="low"), opts(minimum=5), [(B, "bounds.changed", f"{OPTS}.minimum")]),
    # lengths, patterns and other options
    ("maxLength shorter", opts(maxLength=10), opts(maxLength=5),
     [(B, "length.tightened", f"{OPTS}.maxLength")]),
    ("maxLength longer", opts(maxLength=10), opts(maxLength=20),
     [(N, "length.loosened", f"{OPTS}.maxLength")]),
    ("minItems raised", opts(minItems=0), opts(minItems=1), [(B, "length.tightened", f"{OPTS}.minItems")]),
    ("pattern changed", opts(pattern="^A"), opts(pattern="^B"), [(B, "pattern.changed", f"{OPTS}.pattern")]),
    ("pattern added", opts(), opts(pattern="^A"), [(B, "pattern.changed", f"{OPTS}.pattern")]),
    ("format changed", opts(format="yyyy-MM-dd"), opts(format="dd/MM/yyyy"),
     [(B, "format.changed", f"{OPTS}.format")]),
    ("multipleOf changed", opts(multipleOf=0.01), opts(multipleOf=0.1),
     [(B, "multiple_of.changed", f"{OPTS}.multipleOf")]),
    ("timezone changed", opts(defaultTimezone="UTC"), opts(defaultTimezone="Europe/Paris"),
     [(B, "timezone.changed", f"{OPTS}.defaultTimezone")]),
    ("uniqueItems added", opts(), opts(uniqueItems=True), [(B, "unique.added", f"{OPTS}.uniqueItems")]),
    ("object requires another field", opts(required=["a"]), opts(required=["a", "b"]),
     [(B, "required.added", f"{OPTS}.required")]),
    ("unknown option", opts(precision=2), opts(precision=3), [(B, "option.changed", f"{OPTS}.precision")]),
    # primary keys
    ("composite key", c(*KEY), c(KEY[0], {**KEY[1], "primaryKey": True, "primaryKeyPosition": 2}),
     [(B, "primary_key.changed", "schema.orders.primaryKey")]),
    ("key order swapped",
     c(p("a", primaryKey=True, primaryKeyPosition=1), p("b", primaryKey=True, primaryKeyPosition=2)),
     c(p("a", primaryKey=True, primaryKeyPosition=2), p("b", primaryKey=True, primaryKeyPosition=1)),
     [(B, "primary_key.changed", "schema.orders.primaryKey")]),
    ("key column renamed (same id)", c(p("k", id="k1", primaryKey=True)),
     c(p("key", id="k1", primaryKey=True)),
     [(B, "property.renamed", f"{P}.k")]),
    ("primaryKey false vs unset", c(p("a", primaryKey=False, primaryKeyPosition=-1)), c(p("a")), []),
    # classification
    ("classification raised", t(classification="internal"), t(classification="confidential"),
     [(B, "classification.raised", f"{T}.classification")]),
    ("classification lowered", t(classification="restricted"), t(classification="public"),
     [(INFO, "classification.lowered", f"{T}.classification")]),
    ("classification introduced", t(), t(classification="restricted"),
     [(B, "classification.raised", f"{T}.classification")]),
    ("public declared", t(), t(classification="public"), [(INFO, "metadata.changed", f"{T}.classification")]),
    ("classification removed", t(classification="restricted"), t(),
     [(INFO, "classification.lowered", f"{T}.classification")]),
    ("classification unknown level", t(classification="internal"), t(classification="secret"),
     [(B, "classification.changed", f"{T}.classification")]),
    ("classification case only", t(classification="Internal"), t(classification="internal"), []),
    ("pii tag added", t(tags=["finance"]), t(tags=["finance", "PII"]),
     [(B, "classification.raised", f"{T}.tags")]),
    ("pii tag removed", t(tags=["pii"]), t(tags=[]), [(INFO, "classification.lowered", f"{T}.tags")]),
    ("plain tag added", t(), t(tags=["kpi"]), [(INFO, "tags.changed", f"{T}.tags")]),
    ("pii tag on the object", c(), c(obj={"tags": ["pii"]}),
     [(B, "classification.raised", "schema.orders.tags")]),
    # documentation
    ("description", t(description="a"), t(description="b"),
     [(INFO, "description.changed", f"{T}.description")]),
    ("business name", t(businessName="a"), t(businessName="b"),
     [(INFO, "business_name.changed", f"{T}.businessName")]),
    ("examples", t(examples=[1]), t(examples=[2]), [(INFO, "metadata.changed", f"{T}.examples")]),
    ("partitioning", t(partitioned=False), t(partitioned=True),
     [(INFO, "partitioning.changed", f"{T}.partitioned")]),
    # quality rules and relationships
    ("quality rule added", t(), t(quality=[{"metric": "nullValues", "mustBe": 0}]),
     [(N, "quality.added", f"{T}.quality.nullValues")]),
    ("quality rule removed", c(obj={"quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}]}), c(),
     [(INFO, "quality.removed", "schema.orders.quality.rowCount")]),
    ("named quality rule changed",
     c(obj={"quality": [{"name": "volume", "metric": "rowCount", "mustBeGreaterThan": 0}]}),
     c(obj={"quality": [{"name": "volume", "metric": "rowCount", "mustBeGreaterThan": 10}]}),
     [(N, "quality.changed", "schema.orders.quality.volume")]),
    ("relationship added", t(), t(relationships=[{"to": "customers.id"}]),
     [(N, "relationship.added", f"{T}.relationships")]),
    ("relationship removed", t(relationships=[{"to": "customers.id"}]), t(),
     [(INFO, "relationship.removed", f"{T}.relationships")]),
    # nested properties, array items, maps
    ("nested property removed", t(logicalType="object", properties=[p("city"), p("zip")]),
     t(logicalType="object", properties=[p("city")]), [(B, "property.removed", f"{T}.properties.zip")]),
    ("nested required relaxed", t(properties=[p("city", required=True)]), t(properties=[p("city")]),
     [(N, "required.removed", f"{T}.properties.city.required")]),
    ("array items retyped", t(logicalType="array", items={"logicalType": "string"}),
     t(logicalType="array", items={"logicalType": "integer"}),
     [(B, "type.changed", f"{T}.items.logicalType")]),
    ("array items dropped", t(logicalType="array", items={"logicalType": "string"}), t(logicalType="array"),
     [(B, "type.removed", f"{T}.items")]),
    ("map value retyped",
     t(logicalType="map", map={"key": {"logicalType": "string"}, "value": {"logicalType": "integer"}}),
     t(logicalType="map", map={"key": {"logicalType": "string"}, "value": {"logicalType": "number"}}),
     [(N, "type.widened", f"{T}.map.value.logicalType")]),
    # service levels
    ("latency longer", sla({"property": "latency", "value": 1, "unit": "d"}),
     sla({"property": "latency", "value": 2, "unit": "d"}), [(B, "sla.worsened", "slaProperties.latency")]),
    ("latency shorter, other unit", sla({"property": "latency", "value": 1, "unit": "d"}),
     sla({"property": "latency", "value": 12, "unit": "h"}), [(N, "sla.improved", "slaProperties.latency")]),
    ("retention shorter", sla({"property": "retention", "value": 7, "unit": "y"}),
     sla({"property": "retention", "value": 5, "unit": "y"}),
     [(B, "sla.worsened", "slaProperties.retention")]),
    ("retention longer, other unit", sla({"property": "retention", "value": 1, "unit": "y"}),
     sla({"property": "retention", "value": 400, "unit": "days"}),
     [(N, "sla.improved", "slaProperties.retention")]),
    ("frequency less often", sla({"property": "frequency", "value": 1, "unit": "h"}),
     sla({"property": "frequency", "value": 1, "unit": "d"}),
     [(B, "sla.worsened", "slaProperties.frequency")]),
    ("available later in the day", sla({"property": "timeOfAvailability", "value": "04:00"}),
     sla({"property": "timeOfAvailability", "value": "06:00"}),
     [(B, "sla.worsened", "slaProperties.timeOfAvailability")]),
    ("end of support earlier", sla({"property": "endOfSupport", "value": "2032-05-12"}),
     sla({"property": "endOfSupport", "value": "2030-01-01"}),
     [(B, "sla.worsened", "slaProperties.endOfSupport")]),
    ("sla removed", sla({"property": "latency", "value": 1, "unit": "d"}), sla(),
     [(B, "sla.removed", "slaProperties.latency")]),
    ("sla added", sla(), sla({"property": "latency", "value": 1, "unit": "d"}),
     [(N, "sla.added", "slaProperties.latency")]),
    ("unranked sla", sla({"property": "generalAvailability", "value": "2022-05-12"}),
     sla({"property": "generalAvailability", "value": "2022-06-01"}),
     [(INFO, "sla.changed", "slaProperties.generalAvailability")]),
    ("sla unit unknown", sla({"property": "latency", "value": 1, "unit": "fortnight"}),
     sla({"property": "latency", "value": 1, "unit": "d"}), [(INFO, "sla.changed", "slaProperties.latency")]),
    ("sla description", sla({"property": "latency", "value": 1, "description": "a"}),
     sla({"property": "latency", "value": 1, "description": "b"}),
     [(INFO, "description.changed", "slaProperties.latency.description")]),
    # servers and contract metadata
    ("server removed", c(servers=[SERVER]), c(), [(B, "server.removed", "servers.local")]),
    ("server added", c(), c(servers=[SERVER]), [(N, "server.added", "servers.local")]),
    ("server moved", c(servers=[SERVER]), c(servers=[{**SERVER, "path": "/new"}]),
     [(B, "server.changed", "servers.local")]),
    ("server described", c(servers=[SERVER]), c(servers=[{**SERVER, "description": "x"}]),
     [(INFO, "description.changed", "servers.local.description")]),
    ("status", c(status="active"), c(status="deprecated"), [(INFO, "status.changed", "status")]),
    ("version only", c(), {**c(), "version": "1.0.1"}, []),
    ("purpose", c(description={"purpose": "a"}), c(description={"purpose": "b"}),
     [(INFO, "description.changed", "description")]),
    ("team", c(team={"name": "a"}), c(team={"name": "b"}), [(INFO, "metadata.changed", "team")]),
    ("pii tag on the contract", c(), c(tags=["pii"]), [(B, "classification.raised", "tags")]),
    # several changes at once come out in document order: objects, SLAs, servers, metadata
    ("many at once",
     c(p("id", required=True), p("total", logicalType="integer"), status="active",
       slaProperties=[{"property": "latency", "value": 1, "unit": "d"}]),
     c(p("id"), p("total", logicalType="number"), p("note"), status="deprecated"),
     [(N, "required.removed", f"{P}.id.required"), (N, "type.widened", f"{T}.logicalType"),
      (N, "property.added", f"{P}.note"), (B, "sla.removed", "slaProperties.latency"),
      (INFO, "status.changed", "status")]),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "expected"), [pytest.param(o, n, e, id=i) for i, o, n, e in CASES])
def test_classify(old: dict[str, Any], new: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    before, after = Contract.model_validate(old), Contract.model_validate(new)
    changes = classify(before, after)
    assert [(ch.severity, ch.kind, ch.path) for ch in changes] == expected
    for change in changes:
        assert RULES[change.kind] == (change.severity, change.reason)
        assert change.reason.endswith(".") and str(change)
    assert classify(after, after) == []


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


def test_change_values_are_plain_data() -> None:
    changes = classify(Contract.model_validate(opts(minimum=0)), Contract.model_validate(opts(minimum=1)))
    assert changes == [
        ContractChange(B, "bounds.tightened", f"{OPTS}.minimum", ">= 0", ">= 1", RULES["bounds.tightened"][1])
    ]
    quality = classify(
        Contract.model_validate(t()), Contract.model_validate(t(quality=[{"metric": "rowCount"}]))
    )
    assert quality[0].new == {"metric": "rowCount"}


def _contract_files(examples_dir: Path) -> list[Path]:
    return sorted((examples_dir / "odcs").glob("*.yaml")) + sorted(DEMO.rglob("*.odcs.yaml"))


def test_every_pair_of_example_contracts(examples_dir: Path) -> None:
    loaded = [load_contract(path) for path in _contract_files(examples_dir)]
    assert len(loaded) >= 7
    for old, new in itertools.product(loaded, repeat=2):
        changes = classify(old.contract, new.contract)
        if old is new:
            assert changes == [], old.path
        for change in changes:
            assert change.kind in RULES
            source, line, _ = locate(change, old, new)
            assert source in (str(old.path), str(new.path)) and line is not None


def test_demo_contract_edited() -> None:
    path = DEMO / "sales/orders/orders.odcs.yaml"
    old = load_contract(path)
    text = path.read_text().replace("          - value: P\n            label: partially fulfilled\n", "")
    text = text.replace("physicalType: decimal(15,2)", "physicalType: decimal(18,2)")
    new = load_contract_text(text, "new.odcs.yaml")
    changes = classify(old.contract, new.contract)
    assert [(ch.severity, ch.kind, ch.path) for ch in changes] == [
        (B, "enum.narrowed", f"{P}.status.enum"),
        (N, "type.widened", f"{P}.total_price.physicalType"),
    ]
    assert locate(changes[1], old, new) == ("new.odcs.yaml", *_line_of(text, "physicalType: decimal(18,2)"))
    assert suggest_version(old.contract.version, changes) == "2.0.0"


def test_locate_points_into_the_old_file_for_removals() -> None:
    old = load_contract_text(
        _yaml(c(p("id", logicalType="integer"), p("total", logicalType="number"))), "old.yaml"
    )
    new = load_contract_text(_yaml(c(p("id", logicalType="integer"))), "new.yaml")
    (change,) = classify(old.contract, new.contract)
    assert locate(change, old, new)[:2] == ("old.yaml", _line_of(old.doc.text, "name: total")[0])


@pytest.mark.parametrize(
    ("severities", "expected"),
    [([B, N, INFO], "2.0.0"), ([N, INFO], "1.3.0"), ([INFO], "1.2.4"), ([], "1.2.3")],
)
def test_suggest_version(severities: list[Severity], expected: str) -> None:
    changes = [ContractChange(s, "x", "y") for s in severities]
    assert suggest_version("1.2.3", changes) == expected
    assert requires_major(changes) == (B in severities)


def test_suggest_version_keeps_a_v_prefix_and_refuses_non_semver() -> None:
    assert suggest_version("v1.2.3", [ContractChange(B, "x", "y")]) == "v2.0.0"
    assert suggest_version("1.0.0-rc.1", [ContractChange(N, "x", "y")]) == "1.1.0"
    with pytest.raises(QuantaError, match="not a semantic version"):
        suggest_version("1.2", [])


def _line_of(text: str, needle: str) -> tuple[int, int]:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.index(needle.split(":", maxsplit=1)[0]) + 1
    raise AssertionError(needle)


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)
