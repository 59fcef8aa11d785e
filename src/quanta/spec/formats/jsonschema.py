"""JSON Schema (draft 2020-12) of the rows of a contract's schema objects.

A property that is neither ``required`` nor a primary key may be null; the others must be present. Date
and time constraints (strings in ODCS) have no JSON Schema keyword and are left out.
"""

from __future__ import annotations

import json
from typing import Any

from quanta.errors import FormatError
from quanta.spec.contract import Contract, SchemaObject, SchemaProperty
from quanta.spec.formats import Exporter, ProductExport

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "string",
    "timestamp": "string",
    "time": "string",
    "object": "object",
    "map": "object",
    "array": "array",
}
_FORMATS = {"date": "date", "timestamp": "date-time", "time": "time"}
# logicalTypeOptions that mean the same in JSON Schema, per logical type.
_KEYWORDS = {
    "string": ("minLength", "maxLength", "pattern", "format"),
    "integer": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "array": ("minItems", "maxItems", "uniqueItems"),
    "object": ("minProperties", "maxProperties"),
}


class JsonSchemaExporter(Exporter):
    """One JSON Schema per schema object; several objects become ``$defs`` keyed by object name."""

    name = "jsonschema"

    def export_contract(self, contract: Contract, **options: Any) -> str:
        return _dump(contract_schema(contract))

    def export_product(self, export: ProductExport, **options: Any) -> str:
        """One document for the whole product (concatenated JSON documents would not be JSON)."""
        contracts = list(export.contracts.items())
        if len(contracts) == 1:
            return self.export_contract(contracts[0][1])
        names = [o.name for _, c in contracts for o in c.objects]
        defs = {
            obj.name if names.count(obj.name) == 1 else f"{port}.{obj.name}": object_schema(obj)
            for port, contract in contracts
            for obj in contract.objects
        }
        product = export.product
        return _dump(
            {
                "$schema": DIALECT,
                "title": product.name or product.id,
                "description": f"Rows of the output ports of data product {product.id}",
                "$defs": defs,
            }
        )


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def contract_schema(contract: Contract) -> dict[str, Any]:
    objects = contract.objects
    if not objects:
        raise FormatError(
            f"contract {contract.id!r} has no schema objects: there are no rows to describe",
            hint="add a schema object, or export it as 'markdown' or 'odcs'",
        )
    if len(objects) == 1:
        return {"$schema": DIALECT, **object_schema(objects[0])}
    title = contract.name or contract.id
    return {
        "$schema": DIALECT,
        "title": title,
        "description": f"Rows of the schema objects of contract {contract.id} {contract.version}",
        "$defs": {obj.name: object_schema(obj) for obj in objects},
    }


def object_schema(obj: SchemaObject) -> dict[str, Any]:
    """The schema of one row of ``obj``."""
    schema: dict[str, Any] = {"title": obj.business_name or obj.name}
    if obj.description:
        schema["description"] = obj.description
    schema.update(_properties(obj.properties or []))
    return schema


def _properties(props: list[SchemaProperty]) -> dict[str, Any]:
    named = [p for p in props if p.name]
    schema: dict[str, Any] = {"type": "object", "properties": {p.name: property_schema(p) for p in named}}
    required = [p.name for p in named if _not_null(p)]
    if required:
        schema["required"] = required
    return schema


def property_schema(prop: SchemaProperty) -> dict[str, Any]:
    """The schema of one value of ``prop``; null is allowed unless it is required or a primary key."""
    schema: dict[str, Any] = {}
    if prop.business_name:
        schema["title"] = prop.business_name
    if prop.description:
        schema["description"] = prop.description
    kind = _TYPES.get(prop.logical_type or "")
    if kind is not None:
        schema["type"] = kind if _not_null(prop) else [kind, "null"]
    if prop.logical_type in _FORMATS:
        schema["format"] = _FORMATS[prop.logical_type or ""]
    options = prop.logical_type_options or {}
    schema.update({k: options[k] for k in _KEYWORDS.get(prop.logical_type or "", ()) if k in options})
    if prop.enum:
        values = [e.value for e in prop.enum]
        schema["enum"] = values if _not_null(prop) or None in values else [*values, None]
    if prop.examples:
        schema["examples"] = prop.examples
    schema.update(_nested(prop, options))
    return schema


def _not_null(prop: SchemaProperty) -> bool:
    # A primary key column cannot hold null, whatever ``required`` says (as in the SQL DDL).
    return bool(prop.required or prop.primary_key)


def _nested(prop: SchemaProperty, options: dict[str, Any]) -> dict[str, Any]:
    if prop.logical_type == "object":
        nested = _properties(prop.properties or []) if prop.properties else {}
        nested.pop("type", None)
        extra = [r for r in options.get("required", []) if r not in nested.get("required", [])]
        if extra:
            nested["required"] = [*nested.get("required", []), *extra]
        return nested
    if prop.logical_type == "array" and prop.items is not None:
        return {"items": property_schema(prop.items)}
    if prop.logical_type == "map" and prop.map:
        key, value = (SchemaProperty.model_validate(prop.map.get(k) or {}) for k in ("key", "value"))
        nested = {"additionalProperties": property_schema(value)}
        names = {k: v for k, v in property_schema(key).items() if k not in ("type", "title", "description")}
        if names:
            nested["propertyNames"] = names
        return nested
    return {}
