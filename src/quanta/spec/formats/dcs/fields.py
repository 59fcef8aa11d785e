"""DCS models and fields as ODCS schema objects and properties: types, constraints, keys, nesting."""

from __future__ import annotations

import re
from typing import Any

from quanta.spec.formats.dcs.document import Node, custom, describe
from quanta.spec.formats.dcs.odcs_schema import fits, type_options
from quanta.spec.formats.dcs.quality import QualityReader
from quanta.spec.yamlsource import JsonPath

# DCS type ► ODCS logicalType. The DCS type itself is kept as physicalType.
LOGICAL_TYPES = {
    **dict.fromkeys(("string", "text", "varchar", "char"), "string"),
    # ODCS has no binary logicalType: bytes ride on string, and the type check reads the physicalType
    # (the DCS type, kept) to accept BLOB columns (quanta.contracts.types.BINARY).
    **dict.fromkeys(("bytes", "binary", "varbinary", "blob", "bytea"), "string"),
    **dict.fromkeys(("number", "decimal", "numeric", "float", "double"), "number"),
    **dict.fromkeys(("int", "integer", "long", "bigint"), "integer"),
    **dict.fromkeys(("timestamp", "timestamp_tz", "timestamp_ntz", "datetime"), "timestamp"),
    **dict.fromkeys(("object", "record", "struct"), "object"),
    **dict.fromkeys(("boolean", "bool"), "boolean"),
    "date": "date",
    "time": "time",
    "array": "array",
    "map": "map",
}
CONSTRAINTS: tuple[str, ...] = ("pattern", "minLength", "maxLength", "minimum", "maximum", "format")
CONSTRAINTS += ("exclusiveMinimum", "exclusiveMaximum")
# Field keys with a dedicated mapping; any other key becomes a custom property.
_FIELD_KEYS = {*CONSTRAINTS, "type", "required", "unique", "primaryKey", "primary", "description", "title"}
_FIELD_KEYS |= {"pii", "classification", "tags", "enum", "example", "examples", "references", "links"}
_FIELD_KEYS |= {"precision", "scale", "items", "fields", "keys", "values", "quality", "name", "domain"}
_FIELD_KEYS |= {"$ref"}
_SHORTHAND = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class FieldReader(QualityReader):
    """Reads ``models`` and their fields, resolving ``$ref`` into this document's ``definitions``."""

    def _model_fields(self, data: dict[str, Any]) -> dict[str, set[str]]:
        models = data.get("models")
        if not isinstance(models, dict):
            return {}
        return {
            str(m): set(spec["fields"])
            if isinstance(spec, dict) and isinstance(spec.get("fields"), dict)
            else set()
            for m, spec in models.items()
        }

    def _model(self, name: str, raw: Any, path: JsonPath) -> dict[str, Any]:
        model = self.mapping(raw, path, "model settings")
        obj: dict[str, Any] = {"name": str(name), "logicalType": "object"}
        if isinstance(model.get("type"), str):
            obj["physicalType"] = model["type"]
        if isinstance(model.get("title"), str):
            obj["businessName"] = model["title"]
        if isinstance(model.get("description"), str):
            obj["description"] = model["description"]
        fields = self.mapping(model.get("fields"), (*path, "fields"), "field name to field")
        obj["properties"] = self._properties(fields, (*path, "fields"))
        self._primary_key(model.get("primaryKey"), obj["properties"], (*path, "primaryKey"))
        obj["quality"] = self._quality(model.get("quality"), (*path, "quality"))
        obj["tags"] = self._tags(model.get("tags"), (*path, "tags"))
        obj["authoritativeDefinitions"] = self._links(model.get("links"), (*path, "links"))
        known = {"type", "title", "description", "fields", "primaryKey", "quality", "tags", "links"}
        obj["customProperties"] = custom({k: v for k, v in model.items() if k not in known})
        return {k: v for k, v in obj.items() if v not in (None, [], {})}

    def _properties(self, fields: dict[str, Any], path: JsonPath) -> list[dict[str, Any]]:
        props = []
        for name, raw in fields.items():
            node = self.resolve(raw, (*path, name))
            if node is not None:
                props.append({"name": str(name), **self._property(node)})
        pk = [p for p in props if p.get("primaryKey")]
        if len(pk) > 1:  # a composite key needs positions; DCS implies them by field order
            for position, prop in enumerate(pk, start=1):
                prop.setdefault("primaryKeyPosition", position)
        return props

    def _primary_key(self, value: Any, props: list[dict[str, Any]], path: JsonPath) -> None:
        if value is None:
            return
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        by_name = {p["name"]: p for p in props}
        for position, name in enumerate(names, start=1):
            if not isinstance(name, str) or name not in by_name:
                self.fail(path, f"primary key column {name!r} is not a field of this model")
                continue
            by_name[name]["primaryKey"] = True
            by_name[name]["primaryKeyPosition"] = position

    def resolve(self, raw: Any, path: JsonPath, seen: tuple[str, ...] = ()) -> Node | None:
        """The field at ``path`` with its ``$ref`` (a JSON pointer into this document) merged in."""
        if not isinstance(raw, dict):
            self.fail(path, f"a field must be a mapping, got {describe(raw)}", "e.g. 'type: string'")
            return None
        ref = raw.get("$ref")
        own = Node({k: v for k, v in raw.items() if k != "$ref"}, path)
        if ref is None:
            return own
        target = self._pointer(ref, (*path, "$ref"), seen)
        if target is None:
            return None
        base = self.resolve(target[1], target[0], (*seen, str(ref)))
        if base is None:
            return None
        origins = {**{k: base.at(k) for k in base.data}, **{k: own.at(k) for k in own.data}}
        return Node({**base.data, **own.data}, path, origins)

    def _pointer(self, ref: Any, path: JsonPath, seen: tuple[str, ...]) -> tuple[JsonPath, Any] | None:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            self.fail(
                path,
                f"unsupported $ref {ref!r}: only references inside this document are supported",
                "use '#/definitions/<name>', or copy the external definition under 'definitions'",
            )
            return None
        if ref in seen:
            self.fail(path, f"$ref {ref!r} refers back to itself", "break the cycle between the definitions")
            return None
        node: Any = self.doc.data
        target: JsonPath = ()
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or key not in node:
                definitions = self.doc.data.get("definitions")
                known = ", ".join(sorted(map(str, definitions))) if isinstance(definitions, dict) else "none"
                self.fail(path, f"$ref {ref!r} points to nothing", f"definitions in this file: {known}")
                return None
            node, target = node[key], (*target, key)
        return target, node

    def _property(self, node: Node) -> dict[str, Any]:
        d = node.data
        out: dict[str, Any] = {}
        if isinstance(d.get("title"), str):
            out["businessName"] = d["title"]
        if isinstance(d.get("description"), str):
            out["description"] = d["description"]
        raw_type = d.get("type")
        logical = self._logical_type(node)
        if logical is not None:
            out["logicalType"] = logical
        extras = {k: v for k, v in d.items() if k not in _FIELD_KEYS}
        options = self._options(node, logical, extras)
        if options:
            out["logicalTypeOptions"] = options
        if isinstance(raw_type, str):
            size = [str(d[k]) for k in ("precision", "scale") if type(d.get(k)) is int]
            out["physicalType"] = f"{raw_type}({','.join(size)})" if size else raw_type
        for key in ("required", "unique"):
            if key in d:
                out[key] = self._flag(node, key)
        if d.get("primaryKey", d.get("primary")) is not None:
            out["primaryKey"] = self._flag(node, "primaryKey" if "primaryKey" in d else "primary")
        if isinstance(d.get("classification"), (str, int)):  # some companies classify with numbers
            out["classification"] = str(d["classification"])
        many = d.get("examples")
        examples = [d["example"]] if "example" in d else []
        examples += many if isinstance(many, list) else [] if many is None else [many]
        if examples:
            out["examples"] = examples
        if "enum" in d:
            out["enum"] = self._enum(node)
        self._reference(node, out, extras)
        out["quality"] = self._quality(d.get("quality"), node.at("quality"))
        self._nested(node, logical, out)
        tags = self._tags(d.get("tags"), node.at("tags"))
        out["tags"] = [*tags, "pii"] if d.get("pii") is True and "pii" not in tags else tags
        out["customProperties"] = custom(extras)
        out["authoritativeDefinitions"] = self._links(d.get("links"), node.at("links"))
        return {k: v for k, v in out.items() if v not in (None, [])}

    def _logical_type(self, node: Node) -> str | None:
        raw = node.data.get("type")
        known = ", ".join(sorted(LOGICAL_TYPES))
        if raw is None:
            if "fields" in node.data or "items" in node.data:
                return "object" if "fields" in node.data else "array"
            # The published ODCS 3.2 schema rejects a property without logicalType (it then demands 'map').
            self.fail(node.path, f"field '{node.path[-1]}' has no 'type'", f"add 'type:', one of: {known}")
            return None
        logical = LOGICAL_TYPES.get(str(raw).lower()) if isinstance(raw, str) else None
        if logical is None:
            self.fail(node.at("type"), f"unknown field type {raw!r}", f"use one of: {known}")
        return logical

    def _flag(self, node: Node, key: str) -> bool:
        value = node.data[key]
        if not isinstance(value, bool):
            self.fail(
                node.at(key), f"'{key}' must be true or false, got {describe(value)}", "use true or false"
            )
            return False
        return value

    def _options(self, node: Node, logical: str | None, extras: dict[str, Any]) -> dict[str, Any]:
        allowed = type_options(logical) if logical else {}
        options: dict[str, Any] = {}
        for key in (k for k in CONSTRAINTS if k in node.data):
            value = node.data[key]
            if key in allowed and fits(value, allowed[key]):
                options[key] = value
            elif key not in allowed or key == "format":
                extras[key] = value  # ODCS has no such constraint (or format) for this type: keep it aside
            else:
                expected = allowed[key].get("type")
                article = "an" if str(logical)[0] in "aeiou" else "a"
                self.fail(
                    node.at(key),
                    f"{key} {value!r} does not fit {article} {logical} field",
                    f"use a {expected}",
                )
        raw = str(node.data.get("type", "")).lower()
        if raw in ("timestamp_tz", "timestamp_ntz"):
            options["timezone"] = raw == "timestamp_tz"
        return options

    def _enum(self, node: Node) -> list[dict[str, Any]]:
        values = node.data["enum"]
        if not isinstance(values, list) or any(isinstance(v, (dict, list)) for v in values):
            self.fail(node.at("enum"), "'enum' must be a list of plain values", "e.g. 'enum: [open, closed]'")
            return []
        unique = list(dict.fromkeys(values))
        return [{"value": v} for v in unique]

    def _reference(self, node: Node, out: dict[str, Any], extras: dict[str, Any]) -> None:
        ref = node.data.get("references")
        if ref is None:
            return
        if not isinstance(ref, str) or not _SHORTHAND.match(ref):
            extras["references"] = ref  # not a model.field reference ODCS can express
            return
        model, _, column = ref.rpartition(".")
        if model in self.models and column not in self.models[model]:
            self.fail(
                node.at("references"), f"references {ref!r} but model '{model}' has no field '{column}'"
            )
        out["relationships"] = [{"type": "foreignKey", "to": ref}]

    def _nested(self, node: Node, logical: str | None, out: dict[str, Any]) -> None:
        d = node.data
        for key, owner in (("fields", "object"), ("items", "array"), ("keys", "map"), ("values", "map")):
            if key in d and logical is not None and logical != owner:
                self.fail(node.at(key), f"'{key}' only applies to {owner} fields, not {d.get('type')!r}")
        if logical == "object" and "fields" in d:
            fields = self.mapping(d["fields"], node.at("fields"), "field name to field")
            out["properties"] = self._properties(fields, node.at("fields"))
        elif logical == "array" and "items" in d:
            items = self.resolve(d["items"], node.at("items"))
            if items is not None:
                out["items"] = self._property(items)
        elif logical == "map":
            parts = {}
            for key, target in (("keys", "key"), ("values", "value")):
                part = self.resolve(d[key], node.at(key)) if key in d else None
                parts[target] = self._property(part) if part else {"logicalType": "string"}
            out["map"] = parts
