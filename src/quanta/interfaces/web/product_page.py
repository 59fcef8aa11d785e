"""What the product page shows, read from the registry's documents: columns, predefined queries,
freshness against the contract's SLA, and the changelog between versions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.mesh import Mesh
    from quanta.observability.health import Freshness as HealthFreshness
    from quanta.registry import VersionInfo
    from quanta.registry.stores.publishing import PublishRecord

STRING_TYPES = {"string", "text", "varchar"}
NUMBER_TYPES = {"number", "integer", "decimal", "double", "float", "long", "bigint"}
SENSITIVE = {"confidential", "restricted"}
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks", "y": "days"}


@dataclass(frozen=True)
class Column:
    """One property of an output port's contract, as the schema table and the lab show it."""

    port: str
    name: str
    logical_type: str
    description: str
    classification: str | None
    tags: list[str]
    required: bool
    primary_key: bool
    enum: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SavedQuery:
    name: str
    sql: str


@dataclass(frozen=True)
class Freshness:
    """How old the current publish is, judged against the contract's latency SLA when it has one."""

    status: str  # fresh, stale, unknown, never
    published_at: datetime | None
    age: str
    """How long ago, in words: "just now", "3 hours ago"."""
    expected: str | None
    data_age: str | None = None
    """How old the newest data is, when the SLA measures it on a column ("28 years")."""


@dataclass(frozen=True)
class ChangelogEntry:
    version: str
    at: datetime
    by: str
    changes: list[str]
    label: str = ""
    """The version, marked when its data was never published: ``1.0.8 (not published: ...)``."""


def columns(contracts: dict[str, dict[str, Any]]) -> list[Column]:
    """Every property of every output port's contract."""
    found = []
    for port, contract in contracts.items():
        for obj in contract.get("schema") or []:
            for prop in obj.get("properties") or []:
                found.append(
                    Column(
                        port,
                        str(prop.get("name", "")),
                        str(prop.get("logicalType") or prop.get("physicalType") or ""),
                        str(prop.get("description") or ""),
                        prop.get("classification"),
                        [str(t) for t in prop.get("tags") or []],
                        bool(prop.get("required")),
                        bool(prop.get("primaryKey")),
                        [str(e.get("value")) for e in prop.get("enum") or [] if isinstance(e, dict)],
                    )
                )
    return found


def predefined_queries(product_id: str, descriptor: dict[str, Any], cols: list[Column]) -> list[SavedQuery]:
    """The product's own ``queries`` custom property, else a few generated from its contract."""
    for prop in descriptor.get("customProperties") or []:
        if prop.get("property") == "queries" and isinstance(prop.get("value"), list):
            given = [
                SavedQuery(str(q["name"]), str(q["sql"]))
                for q in prop["value"]
                if isinstance(q, dict) and q.get("name") and q.get("sql")
            ]
            if given:
                return given
    queries = [SavedQuery("First 100 rows", f"select * from {product_id} limit 100")]
    group = _grouping_column(cols)
    if group is not None:
        name = quoted(group.name)
        queries.append(
            SavedQuery(
                f"Rows by {group.name}",
                f"select {name}, count(*) as row_count from {product_id} group by {name} "
                "order by row_count desc",
            )
        )
    numbers = [
        c
        for c in cols
        if c.logical_type in NUMBER_TYPES and not c.primary_key and not re.search(r"(_id|_key)$", c.name)
    ][:3]
    if numbers:
        stats = ", ".join(
            f"min({quoted(c.name)}) as min_{c.name}, max({quoted(c.name)}) as max_{c.name}, "
            f"round(avg({quoted(c.name)}), 2) as avg_{c.name}"
            for c in numbers
        )
        queries.append(
            SavedQuery(
                "Summary of numeric columns", f"select count(*) as row_count, {stats} from {product_id}"
            )
        )
    return queries


def within_grant(queries: list[SavedQuery], granted: frozenset[str] | None) -> list[SavedQuery]:
    """The queries that name only granted columns (a column-scoped grant makes the others fail)."""
    if granted is None:
        return queries
    allowed = {c.lower() for c in granted}
    return [q for q in queries if _columns_named(q.sql) <= allowed]


def _columns_named(sql: str) -> set[str]:
    """Columns a query names (lower case), its own aliases (``as row_count``) left out."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError

    try:
        tree = parse_one(sql, dialect="duckdb")
    except SqlglotError:
        return set()  # offered as it is: running it says what is wrong
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    return {c.name.lower() for c in tree.find_all(exp.Column)} - aliases


def _grouping_column(cols: list[Column]) -> Column | None:
    """A string column likely to have few values: an enum first, else a non-key, non-sensitive one."""
    strings = [
        c
        for c in cols
        if c.logical_type in STRING_TYPES
        and not c.primary_key
        and c.classification not in SENSITIVE
        and not {"pii", "financial", "health"} & set(c.tags)
    ]
    with_enum = [c for c in strings if c.enum]
    if with_enum:
        return with_enum[0]
    named = [c for c in strings if re.search(r"(segment|status|type|region|category|tier|flag)", c.name)]
    return named[0] if named else None


def quoted(name: str) -> str:
    return name if _IDENTIFIER.match(name) else '"' + name.replace('"', '""') + '"'


def freshness(
    publishes: list[PublishRecord],
    contracts: dict[str, dict[str, Any]],
    now: datetime | None = None,
    measured: HealthFreshness | None = None,
) -> Freshness:
    """The current publish's age against the shortest ``latency`` (or ``frequency``) SLA; with the
    health monitor's ``measured`` freshness (the SLA's own column), its verdict wins, so the page
    never says "fresh" beside an open freshness incident."""
    expected = _latency(contracts)
    if not publishes:
        return Freshness("never", None, "never", _say(expected))
    last = publishes[-1]
    age = (now or datetime.now(UTC)) - last.created_at
    ago = f"{_say(age)} ago" if _say(age) else "just now"
    if measured is not None and measured.status in ("ok", "breached"):
        data_age = None
        if measured.measured_from == "data" and measured.age_seconds is not None:
            data_age = _say(timedelta(seconds=measured.age_seconds)) or "under a minute"
        status = "fresh" if measured.status == "ok" else "stale"
        return Freshness(status, last.created_at, ago, _say(expected), data_age)
    if expected is None:
        return Freshness("unknown", last.created_at, ago, None)
    return Freshness("fresh" if age <= expected else "stale", last.created_at, ago, _say(expected))


def _latency(contracts: dict[str, dict[str, Any]]) -> timedelta | None:
    found: dict[str, list[timedelta]] = {"latency": [], "frequency": []}
    for contract in contracts.values():
        for sla in contract.get("slaProperties") or []:
            name, value = sla.get("property"), sla.get("value")
            if name not in found or not isinstance(value, (int, float)):
                continue
            unit = _UNITS.get(str(sla.get("unit") or "d").lower(), "days")
            found[name].append(timedelta(**{unit: float(value)}))
    chosen = found["latency"] or found["frequency"]
    return min(chosen) if chosen else None


def _say(delta: timedelta | None) -> str | None:
    if delta is None:
        return None
    seconds = int(delta.total_seconds())
    for size, unit in ((365 * 86400, "year"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return None


def changelog(
    mesh: Mesh, product_id: str, versions: list[VersionInfo], most: int = 10
) -> list[ChangelogEntry]:
    """The last ``most`` registered versions, newest first, with the contract changes each brought."""
    entries = []
    for i in range(max(0, len(versions) - most), len(versions)):
        version = versions[i]
        changes = (
            _contract_changes(mesh, product_id, versions[i - 1].version, version.version)
            if i
            else ["first registered version"]
        )
        entries.append(
            ChangelogEntry(version.version, version.created_at, version.created_by, changes, version.label)
        )
    return list(reversed(entries))


def _contract_changes(mesh: Mesh, product_id: str, old: str, new: str) -> list[str]:
    before = mesh.product(f"{product_id}@{old}").contracts
    after = mesh.product(f"{product_id}@{new}").contracts
    changes = []
    for port, contract in after.items():
        was = before.get(port)
        if was is None:
            changes.append(f"new output port {port}")
        elif was.get("version") != contract.get("version"):
            found = mesh.diff(f"{was['id']}@{was['version']}", f"{contract['id']}@{contract['version']}")
            changes.append(f"contract {port} {was.get('version')} ► {contract.get('version')}")
            changes += [_change(c) for c in found]
    changes += [f"output port {port} removed" for port in before if port not in after]
    return changes or ["no contract change"]


def _change(change: Any) -> str:
    """One classified contract change (``ContractChange``) in a line."""
    text = f"{change.path}: {change.reason or change.kind}"
    return f"{text} ({change.severity})"
