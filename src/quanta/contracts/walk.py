"""The side-by-side walk of two contracts: objects, properties, rules, SLAs and servers, change by change."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError

from quanta.contracts.change_rules import RULES, ContractChange
from quanta.contracts.compat import BOUND_OPTIONS, bound_changes, physical_change, sla_change
from quanta.spec.contract import (
    Contract,
    OdcsModel,
    QualityRule,
    SchemaObject,
    SchemaProperty,
    Server,
    SlaProperty,
)

CLASSIFICATION_LEVELS = ("public", "internal", "confidential", "restricted")
SENSITIVE_TAGS = frozenset({"pii", "phi", "financial", "sensitive"})

_INFO_KINDS = {
    "description": "description.changed",
    "businessName": "business_name.changed",
    "status": "status.changed",
    "partitioned": "partitioning.changed",
    "partitionKeyPosition": "partitioning.changed",
}
_PROPERTY_FIELDS = frozenset(
    {"name", "logicalType", "physicalType", "physicalName", "logicalTypeOptions", "required", "unique"}
    | {"primaryKey", "primaryKeyPosition", "classification", "tags", "enum", "items", "properties", "map"}
    | {"quality", "relationships"}
)
_OBJECT_FIELDS = frozenset({"name", "physicalName", "properties", "quality", "relationships", "tags"})
_SERVER_DOCS = frozenset({"id", "description", "roles", "customProperties"})
_HANDLED_OPTIONS = BOUND_OPTIONS | {"uniqueItems", "required"}
_OPTION_KINDS = {
    "pattern": "pattern.changed",
    "format": "format.changed",
    "multipleOf": "multiple_of.changed",
    "timezone": "timezone.changed",
    "defaultTimezone": "timezone.changed",
}


class ContractWalk:
    """Collects changes while walking both contracts side by side."""

    def __init__(self) -> None:
        self.items: list[ContractChange] = []

    def add(self, kind: str, path: str, old: Any = None, new: Any = None) -> None:
        severity, reason = RULES[kind]
        self.items.append(ContractChange(severity, kind, path, _plain(old), _plain(new), reason))

    def objects(self, old: list[SchemaObject], new: list[SchemaObject]) -> None:
        pairs, removed, added = _match(old, new)
        for o, n in pairs:
            if o.name != n.name:
                self.add("object.renamed", f"schema.{o.name}", o.name, n.name)
            self.object(o, n, f"schema.{n.name}")
        for o in removed:
            self.add("object.removed", f"schema.{o.name}", o.name, None)
        for n in added:
            self.add("object.added", f"schema.{n.name}", None, n.name)

    def object(self, old: SchemaObject, new: SchemaObject, path: str) -> None:
        self.physical_name(old.physical_name, new.physical_name, old.table, new.table, path)
        renames = self.properties(old.properties, new.properties, path)
        old_key = [renames.get(name, name) for name in _primary_key(old)]
        if old_key != _primary_key(new):
            self.add("primary_key.changed", f"{path}.primaryKey", _primary_key(old), _primary_key(new))
        self.rules(old.quality, new.quality, f"{path}.quality")
        self.relationships(old.relationships, new.relationships, f"{path}.relationships")
        self.tags(old.tags, new.tags, f"{path}.tags")
        self.rest(old, new, path, _OBJECT_FIELDS)

    def properties(
        self, old: list[SchemaProperty] | None, new: list[SchemaProperty] | None, path: str
    ) -> dict[str, str]:
        """Compare properties matched by name (or by id, for renames); returns old ► new names of renames."""
        pairs, removed, added = _match(old or [], new or [])
        renames: dict[str, str] = {}
        for o, n in pairs:
            if o.name != n.name:
                renames[o.name or ""] = n.name or ""
                self.add("property.renamed", f"{path}.properties.{o.name}", o.name, n.name)
            self.property(o, n, f"{path}.properties.{n.name}")
        for o in removed:
            self.add("property.removed", f"{path}.properties.{o.name}", o.name, None)
        for n in added:
            kind = "property.added.required" if n.required else "property.added"
            self.add(kind, f"{path}.properties.{n.name}", None, n.name)
        return renames

    def property(self, old: SchemaProperty | None, new: SchemaProperty | None, path: str) -> None:
        if old is None or new is None:
            if old is not new:
                self.add("type.added" if old is None else "type.removed", path, _type_of(old), _type_of(new))
            return
        self.types(old, new, path)
        self.physical_name(old.physical_name, new.physical_name, old.column, new.column, path)
        for field in ("required", "unique"):
            was, now = bool(getattr(old, field)), bool(getattr(new, field))
            if was != now:
                self.add(f"{field}.{'added' if now else 'removed'}", f"{path}.{field}", was, now)
        self.options(
            old.logical_type_options or {}, new.logical_type_options or {}, f"{path}.logicalTypeOptions"
        )
        self.enum(old, new, f"{path}.enum")
        self.classification(old.classification, new.classification, f"{path}.classification")
        self.tags(old.tags, new.tags, f"{path}.tags")
        self.property(old.items, new.items, f"{path}.items")
        self.properties(old.properties, new.properties, path)
        for part in sorted({*(old.map or {}), *(new.map or {})}):
            self.property(
                _as_property((old.map or {}).get(part)),
                _as_property((new.map or {}).get(part)),
                f"{path}.map.{part}",
            )
        self.rules(old.quality, new.quality, f"{path}.quality")
        self.relationships(old.relationships, new.relationships, f"{path}.relationships")
        self.rest(old, new, path, _PROPERTY_FIELDS)

    def physical_name(
        self, old: str | None, new: str | None, old_used: str, new_used: str, path: str
    ) -> None:
        """Storage names: breaking when the name in storage changes, info when only its spelling out does."""
        if old != new:
            kind = "physical_name.changed" if old_used != new_used else "metadata.changed"
            self.add(kind, f"{path}.physicalName", old, new)

    def types(self, old: SchemaProperty, new: SchemaProperty, path: str) -> None:
        for field, was, now in (
            ("logicalType", old.logical_type, new.logical_type),
            ("physicalType", old.physical_type, new.physical_type),
        ):
            if was == now:
                continue
            if was is None or now is None:
                kind = "type.added" if was is None else "type.removed"
            elif field == "logicalType":
                kind = "type.widened" if (was, now) == ("integer", "number") else "type.changed"
            else:
                kind = physical_change(was, now)
            self.add(kind, f"{path}.{field}", was, now)

    def options(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        for kind, key, was, now in bound_changes(old, new):
            self.add(kind, f"{path}.{key}", was, now)
        self.option_set(old.get("uniqueItems"), new.get("uniqueItems"), f"{path}.uniqueItems", "unique")
        self.option_set(old.get("required"), new.get("required"), f"{path}.required", "required")
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in _HANDLED_OPTIONS and old.get(key) != new.get(key):
                self.add(
                    _OPTION_KINDS.get(key, "option.changed"), f"{path}.{key}", old.get(key), new.get(key)
                )

    def option_set(self, old: Any, new: Any, path: str, kind: str) -> None:
        """``uniqueItems`` (a flag) or an object's ``required`` (a list of names): stricter or looser."""
        was = set(old) if isinstance(old, list) else {True} if old else set()
        now = set(new) if isinstance(new, list) else {True} if new else set()
        if now - was:
            self.add(f"{kind}.added", path, old, new)
        elif was - now:
            self.add(f"{kind}.removed", path, old, new)

    def enum(self, old: SchemaProperty, new: SchemaProperty, path: str) -> None:
        was, now = _enum_values(old), _enum_values(new)
        if was == now:
            if _key(old.enum) != _key(new.enum):
                self.add("metadata.changed", path, old.enum, new.enum)
            return
        if was is None or (now is not None and now < was):
            kind = "enum.narrowed"
        elif now is None or now > was:
            kind = "enum.widened"
        else:
            kind = "enum.changed"
        self.add(kind, path, _enum_list(old), _enum_list(new))

    def classification(self, old: str | None, new: str | None, path: str) -> None:
        was, now = (old or "").strip().lower(), (new or "").strip().lower()
        if was == now:
            return
        # unset ranks as public: declaring "public" takes no access away
        ranks = {"": 0} | {level: i for i, level in enumerate(CLASSIFICATION_LEVELS)}
        if was not in ranks or now not in ranks:
            kind = "classification.changed" if now else "classification.lowered"
        elif ranks[now] == ranks[was]:
            kind = "metadata.changed"
        else:
            kind = "classification.raised" if ranks[now] > ranks[was] else "classification.lowered"
        self.add(kind, path, old, new)

    def tags(self, old: list[str] | None, new: list[str] | None, path: str) -> None:
        was, now = {t.lower() for t in old or []}, {t.lower() for t in new or []}
        if (now - was) & SENSITIVE_TAGS:
            self.add("classification.raised", path, old, new)
        elif (was - now) & SENSITIVE_TAGS:
            self.add("classification.lowered", path, old, new)
        elif was != now:
            self.add("tags.changed", path, old, new)

    def rules(self, old: list[QualityRule] | None, new: list[QualityRule] | None, path: str) -> None:
        olds, news = {_rule_key(r): r for r in old or []}, {_rule_key(r): r for r in new or []}
        for key, rule in olds.items():
            if key not in news:
                self.add("quality.removed", f"{path}.{_rule_label(rule)}", rule.to_dict(), None)
            elif rule.to_dict() != news[key].to_dict():
                self.add(
                    "quality.changed", f"{path}.{_rule_label(rule)}", rule.to_dict(), news[key].to_dict()
                )
        for key, rule in news.items():
            if key not in olds:
                self.add("quality.added", f"{path}.{_rule_label(rule)}", None, rule.to_dict())

    def relationships(self, old: list[Any] | None, new: list[Any] | None, path: str) -> None:
        was, now = {_key(r): r for r in old or []}, {_key(r): r for r in new or []}
        for key, item in was.items():
            if key not in now:
                self.add("relationship.removed", path, item, None)
        for key, item in now.items():
            if key not in was:
                self.add("relationship.added", path, None, item)

    def slas(self, old: list[SlaProperty], new: list[SlaProperty]) -> None:
        unmatched = list(new)
        for o in old:
            n = next((s for s in unmatched if s.to_dict() == o.to_dict()), None)
            n = n or next((s for s in unmatched if s.property == o.property), None)
            path = f"slaProperties.{o.property}"
            if n is None:
                self.add("sla.removed", path, _sla_value(o), None)
                continue
            unmatched.remove(n)
            if (o.value, o.unit, o.value_ext) != (n.value, n.unit, n.value_ext):
                self.add(f"sla.{sla_change(o, n)}", path, _sla_value(o), _sla_value(n))
            self.rest(o, n, path, frozenset({"property", "value", "unit", "valueExt"}))
        for n in unmatched:
            self.add("sla.added", f"slaProperties.{n.property}", None, _sla_value(n))

    def servers(self, old: Contract, new: Contract) -> None:
        was, now = {s.server: s for s in old.servers or []}, {s.server: s for s in new.servers or []}
        for name, server in was.items():
            if name not in now:
                self.add("server.removed", f"servers.{name}", server, None)
                continue
            a, b = _connection(server), _connection(now[name])
            if a != b:
                self.add("server.changed", f"servers.{name}", a, b)
            else:
                self.rest(server, now[name], f"servers.{name}", frozenset())
        for name, server in now.items():
            if name not in was:
                self.add("server.added", f"servers.{name}", None, server)

    def rest(self, old: OdcsModel, new: OdcsModel, path: str, handled: frozenset[str]) -> None:
        """Every other field: documentation and metadata, reported as info."""
        a, b = old.to_dict(), new.to_dict()
        for key in [*a, *(k for k in b if k not in a)]:
            if key not in handled and a.get(key) != b.get(key):
                self.add(
                    _INFO_KINDS.get(key, "metadata.changed"),
                    f"{path}.{key}" if path else key,
                    a.get(key),
                    b.get(key),
                )


# --- matching -------------------------------------------------------------------------------------

_Named = TypeVar("_Named", SchemaObject, SchemaProperty)


def _match(
    old: list[_Named], new: list[_Named]
) -> tuple[list[tuple[_Named, _Named]], list[_Named], list[_Named]]:
    """Pairs matched by name, else by stable id (a rename); then the removed and the added ones."""
    by_name = {n.name: n for n in new}
    old_names = {o.name for o in old}
    by_id = {n.id: n for n in new if n.id and n.name not in old_names}
    pairs: list[tuple[_Named, _Named]] = []
    removed: list[_Named] = []
    used: set[int] = set()
    for o in old:
        n = by_name.get(o.name) or (by_id.get(o.id) if o.id else None)
        if n is None or id(n) in used:
            removed.append(o)
        else:
            used.add(id(n))
            pairs.append((o, n))
    return pairs, removed, [n for n in new if id(n) not in used]


def _primary_key(obj: SchemaObject) -> list[str]:
    """Names of the key properties in key order (unpositioned ones last, in document order)."""
    keyed = [
        (p.primary_key_position if (p.primary_key_position or 0) > 0 else 1 << 30, i, p.name or "")
        for i, p in enumerate(obj.properties or [])
        if p.primary_key
    ]
    return [name for *_, name in sorted(keyed)]


def _connection(server: Server) -> dict[str, Any]:
    """What a consumer needs to reach a server (its documentation left out)."""
    return {k: v for k, v in server.to_dict().items() if k not in _SERVER_DOCS}


def _rule_key(rule: QualityRule) -> str:
    return f"id:{rule.id}" if rule.id else f"name:{rule.name}" if rule.name else _key(rule)


def _rule_label(rule: QualityRule) -> str:
    return rule.id or rule.name or rule.metric or rule.kind


# --- values ---------------------------------------------------------------------------------------


def _type_of(prop: SchemaProperty | None) -> str | None:
    return None if prop is None else prop.logical_type or prop.physical_type


def _as_property(value: Any) -> SchemaProperty | None:
    try:
        return SchemaProperty.model_validate(value) if isinstance(value, dict) else None
    except ValidationError:
        return None


def _enum_values(prop: SchemaProperty) -> frozenset[str] | None:
    return frozenset(_key(e.value) for e in prop.enum) if prop.enum else None


def _enum_list(prop: SchemaProperty) -> list[Any] | None:
    return [e.value for e in prop.enum] if prop.enum else None


def _sla_value(sla: SlaProperty) -> Any:
    return f"{sla.value} {sla.unit}" if sla.unit else sla.value


def _plain(value: Any) -> Any:
    """Change values are plain data (what ``to_dict`` gives), never models."""
    if isinstance(value, OdcsModel):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _key(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True, default=str)
