"""Data Contract Specification (the datacontract-cli format, 0.9 and 1.x) read as an ODCS v3.2.0 contract.

Where ODCS has a place for something, it goes there; what ODCS cannot express travels as
``customProperties`` under its DCS name, so nothing the author wrote is silently dropped. Which
constraints a logical type may carry, and which fields a server type has, are read from the official
ODCS schema rather than restated here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from quanta.errors import Problem, SpecError
from quanta.spec.checks import LIBRARY_METRICS as _METRICS
from quanta.spec.contract import COMPARATORS as _COMPARATORS
from quanta.spec.contract import Contract
from quanta.spec.formats import Importer
from quanta.spec.formats.odcs import ensure_valid
from quanta.spec.standards import LATEST_ODCS, ODCS_VERSIONS, load_schema
from quanta.spec.yamlsource import Document, JsonPath, dump_yaml, parse_yaml

# DCS type ► ODCS logicalType. The DCS type itself is kept as physicalType.
LOGICAL_TYPES = {
    **dict.fromkeys(("string", "text", "varchar", "bytes"), "string"),
    **dict.fromkeys(("number", "decimal", "numeric", "float", "double"), "number"),
    **dict.fromkeys(("int", "integer", "long", "bigint"), "integer"),
    **dict.fromkeys(("timestamp", "timestamp_tz", "timestamp_ntz"), "timestamp"),
    **dict.fromkeys(("object", "record", "struct"), "object"),
    "boolean": "boolean",
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
_TOP_KEYS = {"dataContractSpecification", "id", "info", "servers", "terms", "models", "servicelevels"}
_TOP_KEYS |= {"tags", "links", "definitions"}
_RULE_KEYS: tuple[str, ...] = ("name", "description", "severity", "businessImpact", "schedule", "unit")
_RULE_KEYS += ("scheduler", "method", "tags")
_DIMENSIONS: tuple[str, ...] = ("accuracy", "completeness", "conformity", "consistency", "coverage")
_DIMENSIONS += ("timeliness", "uniqueness")
_ORDER: tuple[str, ...] = ("apiVersion", "kind", "id", "name", "version", "status", "description")
_ORDER += ("servers", "schema", "team", "slaProperties", "support", "tags", "customProperties")
_ORDER += ("authoritativeDefinitions",)
_SHORTHAND = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class DcsImporter(Importer):
    """Reads a Data Contract Specification document and writes it as an ODCS v3.2.0 contract."""

    name = "dcs"

    def import_text(self, text: str, source: str) -> str:
        return dump_yaml(to_odcs(parse_yaml(text, source)))


def to_odcs(doc: Document) -> dict[str, Any]:
    """The DCS document as ODCS data, validated against the official schema; every input problem at once."""
    reader = _Reader(doc)
    data = reader.contract()
    if reader.problems:
        raise SpecError(reader.problems, f"{doc.source} is not a valid Data Contract Specification document")
    ensure_valid(data, "odcs", LATEST_ODCS)
    Contract.model_validate(data)  # what Quanta itself must be able to read
    return {key: data[key] for key in _ORDER if key in data}


@cache
def _odcs_defs() -> dict[str, Any]:
    defs: dict[str, Any] = load_schema(ODCS_VERSIONS[LATEST_ODCS])["$defs"]
    return defs


@cache
def type_options(logical: str) -> dict[str, dict[str, Any]]:
    """The logicalTypeOptions ODCS allows for ``logical``: option name ► its JSON Schema."""
    for branch in _odcs_defs()["SchemaBaseProperty"]["allOf"][1:]:
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
    defs = _odcs_defs()
    for branch in defs["Server"]["allOf"]:
        if branch["if"]["properties"]["type"]["const"] == server_type:
            name = branch["then"]["$ref"].rsplit("/", 1)[-1]
            return frozenset(defs["ServerSource"][name].get("properties", {}))
    return None


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    from jsonschema import Draft202012Validator

    return bool(Draft202012Validator(schema).is_valid(value))


@cache
def odcs_validator(definition: str) -> Any:
    """A validator for one element of the official ODCS schema, e.g. ``Server`` or ``DataQuality``."""
    from jsonschema import Draft201909Validator

    return Draft201909Validator({"$defs": _odcs_defs(), "$ref": f"#/$defs/{definition}"})


@dataclass
class _Node:
    """A DCS mapping after ``$ref`` resolution, remembering the document path each key came from."""

    data: dict[str, Any]
    path: JsonPath
    origins: dict[str, JsonPath] = field(default_factory=dict)

    def at(self, key: str) -> JsonPath:
        return self.origins.get(key, (*self.path, key))


def custom(extras: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"property": key, "value": value} for key, value in extras.items()]


def _describe(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}
    return names.get(type(value), f"{type(value).__name__} {value!r}")


class _Reader:
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
            self.fail(path, f"'{path[-1]}' must be a mapping of {what}, got {_describe(value)}")
        return {}

    # --- the contract ---------------------------------------------------------------------------

    def contract(self) -> dict[str, Any]:
        data = self.doc.data
        if not isinstance(data, dict):
            got = "an empty file" if data is None else _describe(data)
            self.fail((), f"expected a Data Contract Specification document (a YAML mapping), got {got}")
            return {}
        if "dataContractSpecification" not in data:
            self.fail(
                (),
                "not a Data Contract Specification document: 'dataContractSpecification' is missing",
                "add 'dataContractSpecification: 1.1.0' at the top, or import the file as 'odcs'",
            )
            return {}
        spec = str(data["dataContractSpecification"])
        if not re.match(r"^(0\.9|1)(\.\d+)*$", spec):
            self.fail(
                ("dataContractSpecification",), f"unsupported DCS version {spec!r}", "use 1.x (or 0.9.x)"
            )
        info = self.mapping(data.get("info"), ("info",), "contract information")
        out: dict[str, Any] = {"apiVersion": LATEST_ODCS, "kind": "DataContract"}
        out["id"] = self._required_text(data, ("id",))
        out["version"] = self._required_text(info, ("info", "version"))
        extras: dict[str, Any] = {"dataContractSpecification": spec}
        extras.update(self._info(info, out))
        extras.update(self._terms(data, out))
        self.models = self._model_fields(data)
        servers = self.mapping(data.get("servers"), ("servers",), "server name to server")
        out["servers"] = [self._server(name, s, ("servers", name)) for name, s in servers.items()]
        models = self.mapping(data.get("models"), ("models",), "model name to model")
        out["schema"] = [self._model(name, m, ("models", name)) for name, m in models.items()]
        slas, unknown = service_levels(self.mapping(data.get("servicelevels"), ("servicelevels",), "levels"))
        out["slaProperties"] = slas
        extras.update({f"servicelevels.{k}": v for k, v in unknown.items()})
        out["tags"] = self._tags(data.get("tags"), ("tags",))
        out["authoritativeDefinitions"] = self._links(data.get("links"), ("links",))
        extras.update({k: v for k, v in data.items() if k not in _TOP_KEYS})
        out["customProperties"] = custom(extras)
        return {k: v for k, v in out.items() if v not in (None, [], {})}

    def _required_text(self, data: dict[str, Any], path: JsonPath) -> str:
        value = data.get(str(path[-1]))
        if value is None or isinstance(value, (dict, list, bool)):
            self.fail(path if value is not None else path[:-1], f"missing required field '{path[-1]}'")
            return ""
        return str(value)

    def _info(self, info: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        """Fill name, status, purpose, team and support from ``info``; returns what ODCS has no place for."""
        for key, target in (("title", "name"), ("status", "status")):
            if isinstance(info.get(key), str):
                out[target] = info[key]
        if isinstance(info.get("description"), str):
            out["description"] = {"purpose": info["description"]}
        if info.get("owner") is not None:
            out["team"] = {"name": str(info["owner"])}
        contact = self.mapping(info.get("contact"), ("info", "contact"), "contact details")
        out["support"] = _support(contact)
        known = {"title", "version", "description", "owner", "contact", "status"}
        extras = {k: v for k, v in info.items() if k not in known}
        extras.update({f"contact.{k}": v for k, v in contact.items() if k not in ("name", "url", "email")})
        return extras

    def _terms(self, data: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        """Usage and limitations go to the description; billing, notice period, policies are returned."""
        terms = self.mapping(data.get("terms"), ("terms",), "terms of use")
        description = out.setdefault("description", {})
        for key in ("usage", "limitations"):
            if isinstance(terms.get(key), str):
                description[key] = terms[key]
        return {k: v for k, v in terms.items() if k not in ("usage", "limitations")}

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

    # --- servers --------------------------------------------------------------------------------

    def _server(self, name: str, raw: Any, path: JsonPath) -> dict[str, Any]:
        server = self.mapping(raw, path, "server settings")
        kind = server.get("type")
        if not isinstance(kind, str):
            self.fail(path, f"server '{name}' has no 'type'", "e.g. 'type: postgres'")
            return {}
        base: dict[str, Any] = {"server": str(name), "type": kind}
        base.update({k: server[k] for k in ("description", "environment") if isinstance(server.get(k), str)})
        roles = server.get("roles") or []
        if isinstance(roles, list) and roles:
            base["roles"] = [_role(r) for r in roles if isinstance(r, dict) and r.get("name")]
        rest = {k: v for k, v in server.items() if k not in ("type", "description", "environment", "roles")}
        result = _server_as(base, kind, rest)
        # ODCS lacks this server type, or the DCS server lacks a field ODCS requires for it.
        if not odcs_validator("Server").is_valid(result):
            result = _server_as({**base, "type": "custom"}, "custom", {**rest, "serverType": kind})
        self.check(result, "Server", path, server)
        return result

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

    # --- models and fields ----------------------------------------------------------------------

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

    def resolve(self, raw: Any, path: JsonPath, seen: tuple[str, ...] = ()) -> _Node | None:
        """The field at ``path`` with its ``$ref`` (a JSON pointer into this document) merged in."""
        if not isinstance(raw, dict):
            self.fail(path, f"a field must be a mapping, got {_describe(raw)}", "e.g. 'type: string'")
            return None
        ref = raw.get("$ref")
        own = _Node({k: v for k, v in raw.items() if k != "$ref"}, path)
        if ref is None:
            return own
        target = self._pointer(ref, (*path, "$ref"), seen)
        if target is None:
            return None
        base = self.resolve(target[1], target[0], (*seen, str(ref)))
        if base is None:
            return None
        origins = {**{k: base.at(k) for k in base.data}, **{k: own.at(k) for k in own.data}}
        return _Node({**base.data, **own.data}, path, origins)

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

    def _property(self, node: _Node) -> dict[str, Any]:
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

    def _logical_type(self, node: _Node) -> str | None:
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

    def _flag(self, node: _Node, key: str) -> bool:
        value = node.data[key]
        if not isinstance(value, bool):
            self.fail(
                node.at(key), f"'{key}' must be true or false, got {_describe(value)}", "use true or false"
            )
            return False
        return value

    def _options(self, node: _Node, logical: str | None, extras: dict[str, Any]) -> dict[str, Any]:
        allowed = type_options(logical) if logical else {}
        options: dict[str, Any] = {}
        for key in (k for k in CONSTRAINTS if k in node.data):
            value = node.data[key]
            if key in allowed and _fits(value, allowed[key]):
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

    def _enum(self, node: _Node) -> list[dict[str, Any]]:
        values = node.data["enum"]
        if not isinstance(values, list) or any(isinstance(v, (dict, list)) for v in values):
            self.fail(node.at("enum"), "'enum' must be a list of plain values", "e.g. 'enum: [open, closed]'")
            return []
        unique = list(dict.fromkeys(values))
        return [{"value": v} for v in unique]

    def _reference(self, node: _Node, out: dict[str, Any], extras: dict[str, Any]) -> None:
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

    def _nested(self, node: _Node, logical: str | None, out: dict[str, Any]) -> None:
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

    # --- quality --------------------------------------------------------------------------------

    def _quality(self, value: Any, path: JsonPath) -> list[dict[str, Any]]:
        if value is None:
            return []
        if isinstance(value, dict):  # one rule written without the list
            return [r for r in [self._rule(value, path)] if r]
        if not isinstance(value, list):
            self.fail(path, "'quality' must be a list of rules", "e.g. '- type: sql'")
            return []
        rules = [self._rule(raw, (*path, i)) for i, raw in enumerate(value)]
        return [r for r in rules if r]

    def _rule(self, raw: Any, path: JsonPath) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.fail(path, f"a quality rule must be a mapping, got {_describe(raw)}")
            return {}
        before = len(self.problems)
        kind = raw.get("type") or ("library" if "metric" in raw or "rule" in raw else None)
        rule: dict[str, Any] = {"type": kind if kind in ("text", "sql", "library") else "custom"}
        rule.update({k: raw[k] for k in _RULE_KEYS if k in raw})
        used = {"type", *_RULE_KEYS}
        if raw.get("dimension") in _DIMENSIONS:  # any other dimension is kept as a custom property
            rule["dimension"] = raw["dimension"]
            used.add("dimension")
        if kind is None:
            self.fail(path, "quality rule has no 'type'", "set type: text, sql, library or custom")
        elif kind == "sql":
            used |= self._query(raw, path, rule)
        elif kind == "library":
            used |= self._metric(raw, path, rule)
        elif kind != "text":  # custom, or a DCS 0.9 engine name such as SodaCL
            rule["engine"] = str(raw.get("engine", kind))
            rule["implementation"] = raw.get("implementation", raw.get("specification"))
            if not isinstance(rule["implementation"], (str, dict)):
                self.fail(path, "a custom quality rule needs an 'implementation'", "e.g. the SodaCL checks")
            used |= {"engine", "implementation", "specification"}
        extras = {k: v for k, v in raw.items() if k not in used}
        if extras:
            rule["customProperties"] = custom(extras)
        if len(self.problems) == before:  # report what the official schema finds only if nothing else did
            self.check(rule, "DataQuality", path, raw)
        return rule

    def _query(self, raw: dict[str, Any], path: JsonPath, rule: dict[str, Any]) -> set[str]:
        if not isinstance(raw.get("query"), str):
            self.fail(path, "a sql quality rule needs a 'query'", "e.g. 'query: SELECT COUNT(*) FROM orders'")
        rule["query"] = str(raw.get("query", ""))
        return {"query", *self._comparator(raw, path, rule)}

    def _metric(self, raw: dict[str, Any], path: JsonPath, rule: dict[str, Any]) -> set[str]:
        metric = raw.get("metric", raw.get("rule"))
        if metric not in _METRICS:
            self.fail(path, f"unknown quality metric {metric!r}", f"use one of: {', '.join(_METRICS)}")
        rule["metric"] = metric
        if isinstance(raw.get("arguments"), dict):
            rule["arguments"] = raw["arguments"]
        return {"metric", "rule", "arguments", *self._comparator(raw, path, rule)}

    def _comparator(self, raw: dict[str, Any], path: JsonPath, rule: dict[str, Any]) -> set[str]:
        found = [c for c in _COMPARATORS if c in raw]
        if len(found) != 1:
            got = f"found {', '.join(found)}" if found else "found none"
            self.fail(path, f"a quality rule needs exactly one comparator ({got})", "e.g. 'mustBe: 0'")
        for name in found[:1]:
            if not _fits({name: raw[name]}, _odcs_defs()["DataQualityOperators"]):
                self.fail((*path, name), f"{name} {raw[name]!r} is not a valid threshold", "use a number")
            rule[name] = raw[name]
        return set(found)


def _support(contact: dict[str, Any]) -> list[dict[str, Any]]:
    name = contact.get("name")
    items: list[dict[str, Any]] = []
    if contact.get("email"):
        items.append({"channel": str(name or "email"), "tool": "email", "url": f"mailto:{contact['email']}"})
    if contact.get("url"):
        items.append({"channel": str(name or "web"), "url": str(contact["url"])})
    if name and not items:
        items.append({"channel": str(name)})
    return items


def _role(raw: dict[str, Any]) -> dict[str, Any]:
    role = {"role": str(raw["name"])}
    if isinstance(raw.get("description"), str):
        role["description"] = raw["description"]
    extras = {k: v for k, v in raw.items() if k not in ("name", "description")}
    return {**role, "customProperties": custom(extras)} if extras else role


def _server_as(base: dict[str, Any], kind: str, rest: dict[str, Any]) -> dict[str, Any]:
    allowed = server_fields(kind) or frozenset()
    server = {**base, **{k: v for k, v in rest.items() if k in allowed}}
    extras = {k: v for k, v in rest.items() if k not in allowed}
    if extras:
        server["customProperties"] = custom(extras)
    return server


# --- service levels -------------------------------------------------------------------------------

_UNITS = {
    "y": "years",
    "mo": "months",
    "w": "weeks",
    "d": "days",
    "h": "hours",
    "m": "minutes",
    "s": "seconds",
}
_ALIASES = {"year": "y", "yr": "y", "month": "mo", "week": "w", "day": "d", "hour": "h", "hr": "h"}
_ALIASES |= {"min": "m", "minute": "m", "sec": "s", "second": "s"}
_ISO = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_SIMPLE = re.compile(r"^(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]+)$")


def duration(text: Any) -> dict[str, Any]:
    """``25h`` / ``P1Y`` / ``30 days`` as an ODCS value and unit; anything else kept as written."""
    raw = str(text).strip()
    iso = _ISO.match(raw)
    if iso and len([v for v in iso.groupdict().values() if v]) == 1:
        unit, value = next((k, v) for k, v in iso.groupdict().items() if v)
        return {"value": int(value), "unit": _UNITS[unit]}
    simple = _SIMPLE.match(raw)
    if simple:
        word = simple["unit"].lower().removesuffix("s") if len(simple["unit"]) > 2 else simple["unit"].lower()
        unit = _ALIASES.get(word, word)
        if unit in _UNITS:
            number = float(simple["value"])
            return {"value": int(number) if number.is_integer() else number, "unit": _UNITS[unit]}
    return {"value": raw}


def service_levels(levels: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """DCS ``servicelevels`` as ODCS ``slaProperties``; sections ODCS has no place for are returned apart."""
    out: list[dict[str, Any]] = []
    unknown: dict[str, Any] = {}
    for section, spec in levels.items():
        builder = _SLA_BUILDERS.get(section)
        if builder is None or not isinstance(spec, dict):
            unknown[section] = spec
            continue
        items = [item for item in builder(spec) if item.get("value") is not None]
        if items and isinstance(spec.get("description"), str):
            items[0]["description"] = spec["description"]
        if all(odcs_validator("ServiceLevelAgreementProperty").is_valid(item) for item in items):
            out += items
        else:  # e.g. a list where ODCS wants one value: keep the section as written
            unknown[section] = spec
    return out, unknown


def _sla(prop: str, value: Any, element: str | None = None, **extra: Any) -> dict[str, Any]:
    item = {"property": prop, **(duration(value) if value is not None else {"value": None})}
    if element:
        item["element"] = element
    return {**item, **{k: v for k, v in extra.items() if v is not None}}


def _availability(spec: dict[str, Any]) -> list[dict[str, Any]]:
    text = str(spec.get("percentage", "")).strip()
    match = re.match(r"^(\d+(?:\.\d+)?)\s*%$", text)
    value: Any = float(match[1]) if match else text or None
    return [{"property": "availability", "value": value, **({"unit": "percent"} if match else {})}]


def _retention(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if spec.get("unlimited") is True:
        return [{"property": "retention", "value": "unlimited"}]
    return [_sla("retention", spec.get("period"), spec.get("timestampField"))]


def _latency(spec: dict[str, Any]) -> list[dict[str, Any]]:
    fields = [spec.get(k) for k in ("sourceTimestampField", "processedTimestampField") if spec.get(k)]
    return [_sla("latency", spec.get("threshold"), ", ".join(map(str, fields)) or None)]


def _freshness(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [_sla("freshness", spec.get("threshold"), spec.get("timestampField"))]


def _frequency(spec: dict[str, Any]) -> list[dict[str, Any]]:
    cron = spec.get("cron")
    schedule = {"scheduler": "cron", "schedule": str(cron)} if cron else {}
    if spec.get("interval") is not None:
        return [_sla("frequency", spec["interval"], **schedule)]
    return [{"property": "frequency", "value": spec.get("type") or cron, **schedule}]


def _support_level(spec: dict[str, Any]) -> list[dict[str, Any]]:
    items = [{"property": "supportTime", "value": spec.get("time")}]
    return [*items, _sla("responseTime", spec.get("responseTime"))]


def _backup(spec: dict[str, Any]) -> list[dict[str, Any]]:
    cron = spec.get("cron")
    schedule = {"scheduler": "cron", "schedule": str(cron)} if cron else {}
    first = _sla("backup", spec["interval"], **schedule) if "interval" in spec else None
    items = [first or {"property": "backup", "value": cron, **schedule}]
    return [
        *items,
        _sla("recoveryTime", spec.get("recoveryTime")),
        _sla("recoveryPoint", spec.get("recoveryPoint")),
    ]


_SLA_BUILDERS = {
    "availability": _availability,
    "retention": _retention,
    "latency": _latency,
    "freshness": _freshness,
    "frequency": _frequency,
    "support": _support_level,
    "backup": _backup,
}
