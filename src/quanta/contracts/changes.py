"""Breaking-change classification: what a new contract version means for the consumers of the old one.

Every difference between two contracts becomes a :class:`ContractChange` with a severity seen from
the consumer's side: ``breaking`` (previously valid consumer code or published data may now be wrong;
needs a major version), ``non-breaking`` (an addition or a stronger promise; minor) or ``info``
(documentation only; patch). :data:`RULES` is the whole rule table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import ValidationError

from quanta.errors import QuantaError
from quanta.spec.contract import (
    Contract,
    OdcsModel,
    QualityRule,
    SchemaObject,
    SchemaProperty,
    Server,
    SlaProperty,
)
from quanta.spec.loader import LoadedContract
from quanta.spec.yamlsource import JsonPath

Severity = Literal["breaking", "non-breaking", "info"]

RULES: dict[str, tuple[Severity, str]] = {
    "object.removed": ("breaking", "Consumers that read this object lose it."),
    "object.renamed": ("breaking", "Queries naming the object by its old name fail."),
    "object.added": ("non-breaking", "A new object leaves what consumers read unchanged."),
    "property.removed": ("breaking", "Queries and code that read this property fail."),
    "property.renamed": ("breaking", "Queries naming the old property fail (same id, new name)."),
    "property.added": ("non-breaking", "A new optional property leaves what consumers read unchanged."),
    "property.added.required": ("non-breaking", "Readers are unaffected; producers must fill it in."),
    "physical_name.changed": ("breaking", "Consumers reading storage directly use the old physical name."),
    "type.changed": ("breaking", "Values of the new type may not parse where the old type was expected."),
    "type.widened": ("non-breaking", "Every value of the old type fits the new type exactly."),
    "type.respelled": ("info", "The new type name is an alias of the old one."),
    "type.added": ("non-breaking", "Declaring a type only adds a guarantee."),
    "type.removed": ("breaking", "Consumers can no longer rely on the type of the values."),
    "required.added": ("breaking", "Data already published with nulls no longer conforms."),
    "required.removed": (
        "non-breaking",
        "Nulls may now arrive; data that was valid stays valid.",
    ),
    "unique.added": ("breaking", "Data already published with duplicates no longer conforms."),
    "unique.removed": (
        "non-breaking",
        "Duplicates may now arrive; data that was valid stays valid.",
    ),
    "primary_key.changed": ("breaking", "Joins, deduplication and merges on the key give other results."),
    "enum.narrowed": ("breaking", "Values already published may no longer be allowed."),
    "enum.widened": (
        "non-breaking",
        "New values may arrive; data that was valid stays valid.",
    ),
    "enum.changed": ("breaking", "Old values may no longer be allowed and new ones may arrive."),
    "bounds.tightened": ("breaking", "Values already published may fall outside the tighter bound."),
    "bounds.loosened": (
        "non-breaking",
        "Values outside the old range may arrive; data that was valid stays valid.",
    ),
    "bounds.changed": ("breaking", "The old and new bound cannot be compared; assume consumers break."),
    "length.tightened": ("breaking", "Values already published may no longer have an allowed length."),
    "length.loosened": (
        "non-breaking",
        "Longer or shorter values may arrive; data that was valid stays valid.",
    ),
    "length.changed": ("breaking", "The old and new length cannot be compared; assume consumers break."),
    "pattern.changed": ("breaking", "Values may match the old pattern but not the new one, or vice versa."),
    "format.changed": ("breaking", "Consumers that parse values in the old format break."),
    "multiple_of.changed": ("breaking", "Values may fall between the steps consumers relied on."),
    "timezone.changed": ("breaking", "Timestamps are read in another time zone than consumers assume."),
    "option.changed": ("breaking", "Quanta does not know this type option; assume consumers break."),
    "classification.raised": ("breaking", "Consumers cleared only for the old level may lose access."),
    "classification.lowered": ("info", "More consumers may be granted access; nobody loses it."),
    "classification.changed": ("breaking", "The level has no known rank; consumers may lose access."),
    "quality.added": ("non-breaking", "A new rule adds a guarantee; the shape of the data is unchanged."),
    "quality.removed": ("info", "The rule is no longer checked; consumers relying on it should look."),
    "quality.changed": ("non-breaking", "The rule changed; the shape of the data is unchanged."),
    "relationship.added": ("non-breaking", "A declared relationship adds a guarantee to join on."),
    "relationship.removed": ("info", "The relationship is no longer declared; the data is unchanged."),
    "sla.worsened": ("breaking", "Consumers planning on the old service level are served worse."),
    "sla.improved": ("non-breaking", "Consumers are served at least as well as before."),
    "sla.added": ("non-breaking", "A new service-level promise only adds a guarantee."),
    "sla.removed": ("breaking", "Consumers lose a service-level promise they may plan on."),
    "sla.changed": ("info", "Quanta cannot rank this service-level change; review it."),
    "server.added": ("non-breaking", "A new server adds a way to read the data."),
    "server.removed": ("breaking", "Consumers reading from this server lose it."),
    "server.changed": ("breaking", "Consumers connecting to the old location or format break."),
    "description.changed": ("info", "Documentation only; the data and its guarantees are unchanged."),
    "business_name.changed": ("info", "Documentation only; the data and its guarantees are unchanged."),
    "tags.changed": ("info", "Tags help discovery; the data and its guarantees are unchanged."),
    "status.changed": ("info", "The lifecycle status changed; consumers may plan a migration."),
    "partitioning.changed": ("info", "Partitioning changes how fast queries run, not what they return."),
    "metadata.changed": ("info", "Metadata only; the data and its guarantees are unchanged."),
}

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
_CONTRACT_FIELDS = frozenset({"version", "schema", "slaProperties", "servers", "tags"})
_SERVER_DOCS = frozenset({"id", "description", "roles", "customProperties"})
# (kind, option, its exclusive twin, whether it is a lower bound)
_BOUNDS: tuple[tuple[str, str, str | None, bool], ...] = (
    ("bounds", "minimum", "exclusiveMinimum", True),
    ("bounds", "maximum", "exclusiveMaximum", False),
    ("length", "minLength", None, True),
    ("length", "maxLength", None, False),
    ("length", "minItems", None, True),
    ("length", "maxItems", None, False),
    ("length", "minProperties", None, True),
    ("length", "maxProperties", None, False),
)
_HANDLED_OPTIONS = frozenset(
    {k for _, key, twin, _ in _BOUNDS for k in (key, twin) if k} | {"uniqueItems", "required"}
)
_OPTION_KINDS = {
    "pattern": "pattern.changed",
    "format": "format.changed",
    "multipleOf": "multiple_of.changed",
    "timezone": "timezone.changed",
    "defaultTimezone": "timezone.changed",
}


@dataclass(frozen=True)
class ContractChange:
    """One difference between two contract versions and what it means for consumers."""

    severity: Severity
    kind: str
    path: str
    old: Any = None
    new: Any = None
    reason: str = ""

    def __str__(self) -> str:
        change = f"{_short(self.old)} ► {_short(self.new)}"
        return f"{self.severity}: {self.kind} at {self.path}: {change}. {self.reason}"


def classify(old: Contract, new: Contract) -> list[ContractChange]:
    """Every change from ``old`` to ``new``: schema objects first, then SLAs, servers and metadata."""
    found = _Changes()
    found.objects(old.objects, new.objects)
    found.slas(old.sla_properties or [], new.sla_properties or [])
    found.servers(old, new)
    found.tags(old.tags, new.tags, "tags")
    found.rest(old, new, "", _CONTRACT_FIELDS)
    return found.items


def requires_major(changes: Sequence[ContractChange]) -> bool:
    """Whether publishing these changes needs a new major version."""
    return any(c.severity == "breaking" for c in changes)


def suggest_version(old_version: str, changes: Sequence[ContractChange]) -> str:
    """The next semantic version: major if anything breaks, minor for additions, patch for info only."""
    import semver

    prefix = "v" if old_version.startswith("v") else ""
    try:
        version = semver.Version.parse(old_version.removeprefix("v"))
    except ValueError:
        raise QuantaError(
            f"version {old_version!r} is not a semantic version", hint="use MAJOR.MINOR.PATCH, e.g. 1.0.0"
        ) from None
    severities = {c.severity for c in changes}
    if "breaking" in severities:
        version = version.bump_major()
    elif "non-breaking" in severities:
        version = version.bump_minor()
    elif "info" in severities:
        version = version.bump_patch()
    else:
        return old_version
    return f"{prefix}{version}"


def locate(
    change: ContractChange, old: LoadedContract, new: LoadedContract
) -> tuple[str, int | None, int | None]:
    """(file, line, column) of a change: in the new document, or in the old one for what was removed."""
    new_path, new_complete = _json_path(new.doc.data, change.path)
    old_path, old_complete = _json_path(old.doc.data, change.path)
    doc, path = (old.doc, old_path) if old_complete and not new_complete else (new.doc, new_path)
    return (doc.source, *doc.locate(path))


class _Changes:
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
        for kind, key, strict, lower in _BOUNDS:
            was, now = _bound(old, key, strict, lower), _bound(new, key, strict, lower)
            direction = _direction(was, now, lower)
            if direction:
                where = next(bound.key for bound in (now, was) if bound)
                self.add(f"{kind}.{direction}", f"{path}.{where}", _show(was), _show(now))
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


# --- types ----------------------------------------------------------------------------------------

_TYPE = re.compile(r"^([a-z][a-z0-9_ ]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")
_INT_BYTES = dict.fromkeys(("tinyint", "int1", "byte"), 1) | dict.fromkeys(("smallint", "int2", "short"), 2)
_INT_BYTES |= dict.fromkeys(("int", "integer", "int4", "signed"), 4) | dict.fromkeys(
    ("bigint", "int8", "long"), 8
)
_INT_BYTES |= dict.fromkeys(("hugeint", "int128"), 16)
_INT_DIGITS = {1: 3, 2: 5, 4: 10, 8: 19, 16: 39}
_FLOAT_BYTES = {"real": 4, "float4": 4, "float": 4, "double": 8, "float8": 8, "double precision": 8}
_DECIMALS = frozenset({"decimal", "numeric", "number", "dec"})
_STRINGS = frozenset({"varchar", "character varying", "nvarchar", "varchar2", "string", "text"})
_ALIASES = {"boolean": "bool", "logical": "bool"}


def physical_change(old: str, new: str) -> str:
    """``type.respelled``, ``type.widened`` (every old value fits exactly) or ``type.changed``."""
    a, b = _parse_type(old), _parse_type(new)
    if a is None or b is None:
        same = " ".join(old.lower().split()) == " ".join(new.lower().split())
        return "type.respelled" if same else "type.changed"
    (was, was_args), (now, now_args) = a, b
    if a == b:
        return "type.respelled"
    if was in _INT_BYTES and now in _INT_BYTES:
        return _rank(_INT_BYTES[was], _INT_BYTES[now])
    if was in _FLOAT_BYTES and now in _FLOAT_BYTES:
        return _rank(_FLOAT_BYTES[was], _FLOAT_BYTES[now])
    if was in _INT_BYTES and now in _FLOAT_BYTES and 2 * _INT_BYTES[was] <= _FLOAT_BYTES[now]:
        return "type.widened"
    if was in _INT_BYTES and now in _DECIMALS and now_args:
        precision, scale = now_args[0], (now_args[1:] or (0,))[0]
        return "type.widened" if precision - scale >= _INT_DIGITS[_INT_BYTES[was]] else "type.changed"
    if was in _DECIMALS and now in _DECIMALS and was_args and now_args:
        same_scale = (was_args[1:] or (0,)) == (now_args[1:] or (0,))
        return _rank(was_args[0], now_args[0]) if same_scale else "type.changed"
    if was in _STRINGS and now in _STRINGS:
        unbounded = 1 << 62
        return _rank((was_args or (unbounded,))[0], (now_args or (unbounded,))[0])
    return "type.changed"


def _parse_type(text: str) -> tuple[str, tuple[int, ...]] | None:
    found = _TYPE.match(" ".join(text.lower().split()))
    if not found:
        return None
    base = _ALIASES.get(found[1], found[1])
    return base, tuple(int(g) for g in found.groups()[1:] if g is not None)


def _rank(was: int, now: int) -> str:
    return "type.respelled" if was == now else "type.widened" if now > was else "type.changed"


def _type_of(prop: SchemaProperty | None) -> str | None:
    return None if prop is None else prop.logical_type or prop.physical_type


def _as_property(value: Any) -> SchemaProperty | None:
    try:
        return SchemaProperty.model_validate(value) if isinstance(value, dict) else None
    except ValidationError:
        return None


# --- bounds and values ----------------------------------------------------------------------------


class _Bound(NamedTuple):
    value: Any
    exclusive: bool
    key: str
    lower: bool


def _bound(options: dict[str, Any], key: str, twin: str | None, lower: bool) -> _Bound | None:
    """One side's effective bound: the tighter of ``minimum`` and ``exclusiveMinimum`` when both are set."""
    found = [_Bound(options[k], k == twin, k, lower) for k in (key, twin) if k and options.get(k) is not None]
    if len(found) < 2:
        return found[0] if found else None
    order = _compare(found[0].value, found[1].value)
    if not order:
        return found[1]  # equal or incomparable: the exclusive one is at least as tight
    return found[0] if (order > 0) == lower else found[1]


def _direction(was: _Bound | None, now: _Bound | None, lower: bool) -> str | None:
    if was is None or now is None:
        return None if was is now else "tightened" if was is None else "loosened"
    order = _compare(now.value, was.value)
    if order is None:
        return "changed"
    # at the same value an exclusive lower bound sits higher, an exclusive upper bound lower
    order = order or (now.exclusive - was.exclusive) * (1 if lower else -1)
    if not order:
        return None
    return "tightened" if (order > 0) == lower else "loosened"


def _show(bound: _Bound | None) -> str | None:
    if bound is None:
        return None
    sign = (">" if bound.lower else "<") + ("" if bound.exclusive else "=")
    return f"{sign} {bound.value}"


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(value)
    return float(value)


_PARSERS: tuple[Callable[[Any], Any], ...] = (_number, datetime.fromisoformat, date.fromisoformat)
_PARSERS += (time.fromisoformat,)


def _compare(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 for numbers, dates, timestamps or times (also written as strings); None if incomparable."""
    for parse in _PARSERS:
        try:
            x, y = parse(a), parse(b)
            return int(x > y) - int(x < y)
        except (TypeError, ValueError):
            continue
    return None


def _enum_values(prop: SchemaProperty) -> frozenset[str] | None:
    return frozenset(_key(e.value) for e in prop.enum) if prop.enum else None


def _enum_list(prop: SchemaProperty) -> list[Any] | None:
    return [e.value for e in prop.enum] if prop.enum else None


# --- service levels -------------------------------------------------------------------------------

_SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("mo", "month", "months"), 30 * 86400),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 365 * 86400),
}
# +1: a higher value is a better service; -1: a lower value (or an earlier time) is better.
_SLA_ORDER = {"latency": -1, "frequency": -1, "timetodetect": -1, "timetonotify": -1, "timetorepair": -1}
_SLA_ORDER |= {"errorrate": -1, "timeofavailability": -1, "retention": 1, "availability": 1, "throughput": 1}
_SLA_ORDER |= {"endofsupport": 1, "endoflife": 1}


def sla_change(old: SlaProperty, new: SlaProperty) -> str:
    """``worsened``, ``improved`` or ``changed`` (when Quanta cannot rank the two values)."""
    order = _SLA_ORDER.get(old.property.replace("_", "").lower())
    if order is None or old.value_ext != new.value_ext:
        return "changed"
    if (old.unit or "").lower() == (new.unit or "").lower():
        compared = _compare(new.value, old.value)
    else:
        compared = _compare(_in_seconds(new), _in_seconds(old))
    if not compared:
        return "changed"
    return "improved" if compared * order > 0 else "worsened"


def _in_seconds(sla: SlaProperty) -> float | None:
    factor = _SECONDS.get((sla.unit or "").lower())
    try:
        return _number(sla.value) * factor if factor else None
    except (TypeError, ValueError):
        return None


def _sla_value(sla: SlaProperty) -> Any:
    return f"{sla.value} {sla.unit}" if sla.unit else sla.value


# --- plumbing -------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Change values are plain data (what ``to_dict`` gives), never models."""
    if isinstance(value, OdcsModel):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _key(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True, default=str)


def _short(value: Any, limit: int = 60) -> str:
    text = " ".join((value if isinstance(value, str) else repr(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_path(data: Any, dotted: str) -> tuple[JsonPath, bool]:
    """The document path of a change path (list items found by name), and whether it was found whole."""
    path: list[str | int] = []
    for part in dotted.split("."):
        if isinstance(data, dict) and part in data:
            path.append(part)
            data = data[part]
            continue
        names = ("name", "property", "server", "id", "metric")
        found = isinstance(data, list) and next(
            (
                i
                for i, item in enumerate(data)
                if isinstance(item, dict) and part in [item.get(n) for n in names]
            ),
            None,
        )
        if found is None or found is False:
            return tuple(path), False
        path.append(found)
        data = data[found]
    return tuple(path), True
