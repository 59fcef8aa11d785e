"""``quanta contract suggest``: tighter rules a product's published history supports ("start loose,
tighten later").

Three sources of evidence: the profiles recorded at each publish (rows, null counts per column), a
profile of the data published now (:func:`quanta.blueprints.inference.profile`) and a scan of the data
of each earlier publish (:func:`quanta.blueprints.inference.scan`: ranges and frequent values), both
read by the caller through the governed query path. A rule is suggested only when every publish and the
current data agree with it, and only when the contract does not already say it (or says something
tighter): allowed values are the union of every publish's, a range spans every publish's, so a
suggestion does not change with the latest publish alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quanta.blueprints.catalog import BlueprintError
from quanta.blueprints.inference import ENUM_LIMIT, ColumnProfile, Profile
from quanta.blueprints.inferred import ID_NAME

if TYPE_CHECKING:
    from pathlib import Path

    from quanta.engines.base import Engine, Input
    from quanta.registry.stores.observations import ProfileRecord
    from quanta.spec.contract import Contract, SchemaProperty
    from quanta.spec.loader import LoadedProduct

MARGIN = 0.1
"""Ranges are widened by this share of the observed spread (lengths by this share of the longest)."""
_OPTION_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


@dataclass(frozen=True)
class Suggestion:
    """One rule to add to one property: where (``key`` under the property, then an optional option
    name), the value, and the evidence the data gives for it."""

    column: str
    rule: str
    key: tuple[str, ...]
    value: object
    evidence: str


@dataclass(frozen=True)
class Evidence:
    """What the published history says: the publishes' profiles (oldest first), the current data, and
    scans of the data of earlier publishes (oldest first; those that could not be read are left out)."""

    history: Sequence[ProfileRecord]
    current: Profile
    published: Sequence[Profile] = ()

    @property
    def read(self) -> list[Profile]:
        """Every publish whose data was read: the earlier ones, then the current data."""
        return [*self.published, self.current]

    def columns(self, name: str) -> list[ColumnProfile] | None:
        """The column in every publish read, oldest first; None when one of them lacks it (a schema
        that changed is no evidence)."""
        found = []
        for scanned in self.read:
            column = next((c for c in scanned.columns if c.name == name), None)
            if column is None:
                return None
            found.append(column)
        return found

    @property
    def publishes(self) -> int:
        return len(self.history)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.history)

    def never_null(self, column: str) -> bool:
        """No nulls in the current data nor in any publish (a publish that did not count them, or
        did not have the column, is no evidence: then False)."""
        return all(p.nulls.get(column) == 0 for p in self.history)


def suggest(
    properties: Sequence[SchemaProperty], evidence: Evidence, engine: Engine, data: Input
) -> list[Suggestion]:
    """The rules each property could add, in property order; ``data`` (bound as ``source``) is the
    current data, used to confirm a pattern the sample suggests on every row."""
    columns = {c.name: c for c in evidence.current.columns}
    found: list[Suggestion] = []
    for prop in properties:
        column = columns.get(prop.column)
        if column is None:
            continue
        found += _required(prop, column, evidence)
        found += _unique(prop, column, evidence)
        enum = _enum(prop, column, evidence)
        found += enum
        found += _range(prop, column, evidence)
        pattern = [] if enum else _pattern(prop, column, evidence, engine, data)
        found += pattern
        found += [] if enum or pattern else _lengths(prop, column, evidence)
    return found


def _required(prop: SchemaProperty, column: ColumnProfile, evidence: Evidence) -> list[Suggestion]:
    if prop.required or prop.primary_key or column.nulls or not evidence.never_null(column.name):
        return []
    text = f"never null in {_publishes(evidence)} ({evidence.rows:,} rows in all)"
    return [Suggestion(column.name, "required", ("required",), True, text)]


def _unique(prop: SchemaProperty, column: ColumnProfile, evidence: Evidence) -> list[Suggestion]:
    # distinct by accident (free text, amounts) is no promise: only columns named like identifiers
    if prop.unique or prop.primary_key or not column.unique or not ID_NAME.search(column.name):
        return []
    rows = evidence.current.rows
    text = f"{rows:,} distinct values in the {rows:,} rows published now (exact count)"
    return [Suggestion(column.name, "unique", ("unique",), True, text)]


def _enum(prop: SchemaProperty, column: ColumnProfile, evidence: Evidence) -> list[Suggestion]:
    """Allowed values: the union of the values of every publish read, when each publish listed all of
    its values and they are few (at most ENUM_LIMIT, each seen at least twice on average)."""
    seen = evidence.columns(column.name)
    if prop.enum or _has_valid_values(prop) or column.unique or seen is None:
        return []
    values: set[str] = set()
    rows = 0
    for found, scanned in zip(seen, evidence.read, strict=True):
        listed = found.frequent or []
        if not found.is_text:
            return []
        # approx_top_k asked for one more than the limit: fewer back means it listed every value
        if len(listed) > ENUM_LIMIT or len(listed) > found.distinct + 1:
            return []
        values.update(listed)
        rows += scanned.rows
    if not 0 < len(values) <= ENUM_LIMIT or len(values) * 2 > rows or not column.frequent:
        return []
    rule = {"metric": "invalidValues", "arguments": {"validValues": sorted(values)}, "mustBe": 0}
    if len(seen) == 1:
        text = f"only these {len(values)} values in the {rows:,} rows published now"
    else:
        text = f"only these {len(values)} values in {_read(evidence)} ({rows:,} rows in all)"
        earlier = sorted(values - set(column.frequent))
        if earlier:
            text += f"; {', '.join(earlier)} only in earlier publishes"
    return [Suggestion(column.name, "enum", ("quality",), rule, text)]


def _range(prop: SchemaProperty, column: ColumnProfile, evidence: Evidence) -> list[Suggestion]:
    """Minimum and maximum: the range every publish read spans, widened by MARGIN of its spread and
    rounded outwards (``minimum: 0`` when nothing was ever negative)."""
    options = prop.logical_type_options or {}
    seen = evidence.columns(column.name)
    if (
        seen is None
        or not all(c.is_numeric for c in seen)
        or not _number(column.minimum)
        or not _number(column.maximum)
        or column.nulls == evidence.current.rows
    ):
        return []
    bounds = [(c.minimum, c.maximum) for c in seen if _number(c.minimum) and _number(c.maximum)]
    low = min(b[0] for b in bounds)  # type: ignore[type-var]
    high = max(b[1] for b in bounds)  # type: ignore[type-var]
    assert isinstance(low, int | float) and isinstance(high, int | float)
    spread = (high - low) or abs(high) or 1
    margin = spread * MARGIN
    lower, upper = low - margin, high + margin
    lower = 0 if low >= 0 and lower < 0 else lower
    integer = column.logical_type == "integer"
    rows = evidence.current.rows
    if len(seen) == 1:
        seen_text = f"observed {low} to {high} in the {rows:,} rows published now"
    else:
        every = sum(p.rows for p in evidence.read)
        seen_text = (
            f"observed {low} to {high} across {_read(evidence)} ({every:,} rows in all; "
            f"{column.minimum} to {column.maximum} now)"
        )
    widened = f"widened by {MARGIN:.0%} of the spread ({_shown(margin)}) and rounded out"
    found = []
    if not any(k in options for k in ("minimum", "exclusiveMinimum")):
        bound = _round(lower, math.floor, integer)
        how = "never negative" if lower == 0 and low >= 0 else widened
        text = f"{seen_text}; {how}"
        found.append(Suggestion(column.name, "range", ("logicalTypeOptions", "minimum"), bound, text))
    if not any(k in options for k in ("maximum", "exclusiveMaximum")):
        bound = _round(upper, math.ceil, integer)
        text = f"{seen_text}; {widened}"
        found.append(Suggestion(column.name, "range", ("logicalTypeOptions", "maximum"), bound, text))
    return found


def _pattern(
    prop: SchemaProperty, column: ColumnProfile, evidence: Evidence, engine: Engine, data: Input
) -> list[Suggestion]:
    options = prop.logical_type_options or {}
    if not column.pattern or "pattern" in options or "format" in options:
        return []
    quoted = '"' + column.name.replace('"', '""') + '"'
    literal = "'" + column.pattern.replace("'", "''") + "'"
    [misses] = engine.first_row(
        f"select count(*) filter (where not regexp_matches({quoted}, {literal})) from source",
        {"source": data},
    )
    if misses:
        return []
    text = f"every one of the {evidence.current.rows:,} values published now fits"
    return [Suggestion(column.name, "pattern", ("logicalTypeOptions", "pattern"), column.pattern, text)]


def _lengths(prop: SchemaProperty, column: ColumnProfile, evidence: Evidence) -> list[Suggestion]:
    options = prop.logical_type_options or {}
    if not column.is_text or column.max_length is None or column.min_length is None:
        return []
    if "pattern" in options or "format" in options or prop.enum or _has_valid_values(prop):
        return []  # the values are held tighter already
    seen = f"lengths {column.min_length} to {column.max_length} in the rows published now"
    found = []
    if "minLength" not in options and column.min_length >= 1:
        found.append(Suggestion(column.name, "length", ("logicalTypeOptions", "minLength"), 1, seen))
    if "maxLength" not in options:
        longest = column.max_length + max(1, math.ceil(column.max_length * MARGIN))
        text = f"{seen}; {MARGIN:.0%} margin"
        found.append(Suggestion(column.name, "length", ("logicalTypeOptions", "maxLength"), longest, text))
    return found


def _version_step(old: Contract, text: str) -> str:
    """major, minor or patch: what the breaking-change gate asks of the tightened contract (tighter
    rules are breaking for data published before them, even when the history shows none broke them)."""
    import semver

    from quanta.contracts.changes import classify, suggest_version
    from quanta.spec.loader import load_contract_text

    new = load_contract_text(text, lenient=True).contract
    version = old.version or "0.1.0"
    if not semver.Version.is_valid(version):
        return "minor"
    before, after = (
        semver.Version.parse(version),
        semver.Version.parse(suggest_version(version, classify(old, new))),
    )
    return "major" if after.major > before.major else "minor" if after.minor > before.minor else "patch"


def _has_valid_values(prop: SchemaProperty) -> bool:
    return any(
        rule.metric == "invalidValues" and "validValues" in (rule.arguments or {})
        for rule in prop.quality or []
    )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _round(value: float, direction: Callable[[float], int], integer: bool) -> int | float:
    """``value`` rounded outwards to two significant digits (an integer for integer columns)."""
    if value == 0:
        return 0
    step = 10 ** (math.floor(math.log10(abs(value))) - 1)
    rounded = direction(value / step) * step
    return int(rounded) if integer or float(rounded).is_integer() else round(rounded, 10)


def _publishes(evidence: Evidence) -> str:
    return f"{evidence.publishes} publish{'es' if evidence.publishes != 1 else ''}"


def _read(evidence: Evidence) -> str:
    """How many publishes' data was read (of how many there are)."""
    read = len(evidence.read)
    total = max(evidence.publishes, read)
    return f"{read} publishes" if read == total else f"the last {read} of {total} publishes"


def _shown(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class Current:
    """The data published now, bound as ``source`` for ``engine``, and how to name it; ``earlier``:
    the data of earlier publishes (oldest first) as (how to name it, the data)."""

    engine: Engine
    data: Input
    shown: str
    earlier: Sequence[tuple[str, Input]] = ()


@dataclass(frozen=True)
class Tightened:
    """A product's contract with suggested rules: the suggestions, and each file's new text (the contract,
    and the descriptor with its version raised) with the diff of both."""

    product_id: str
    path: Path
    suggestions: list[Suggestion]
    texts: dict[str, str]
    diff: str
    publishes: int
    rows: int


def tighten(
    loaded: LoadedProduct, history: Sequence[ProfileRecord], current: Current, root: Path
) -> Tightened:
    """Suggestions for the contract of ``loaded``'s first output port with one (the one publishes
    profile), from ``history`` and the ``current`` data; the diff names files relative to ``root``."""
    import os

    from quanta.blueprints.contract_edit import unified_diff, with_suggestions, with_versions_bumped
    from quanta.blueprints.inference import profile
    from quanta.spec.yamlsource import parse_yaml

    ports = loaded.product.output_ports or []
    number = next((i for i, p in enumerate(ports) if p.name in loaded.contracts), None)
    if number is None:
        raise BlueprintError(
            f"{loaded.product.id} has no output port bound to a contract file",
            hint="add 'contract: FILE.odcs.yaml' to an output port",
        )
    contract = loaded.contracts[ports[number].name]
    objects = contract.contract.schema_ or []
    wanted = ports[number].object or ports[number].name
    index = next((i for i, o in enumerate(objects) if o.name == wanted), 0)
    from quanta.blueprints.inference import scan

    published = [scan(current.engine, data, shown) for shown, data in current.earlier]
    evidence = Evidence(history, profile(current.engine, current.data, current.shown), published)
    found = suggest(
        objects[index].properties or [] if objects else [], evidence, current.engine, current.data
    )
    texts: dict[str, str] = {}
    if found:
        text = with_suggestions(contract.doc, index, found)
        level = _version_step(contract.contract, text)
        texts[contract.doc.source] = with_versions_bumped(parse_yaml(text), [("version",)], level)
        paths = [("version",), ("outputPorts", number, "version")]
        texts[loaded.doc.source] = with_versions_bumped(loaded.doc, paths, level)
    before = {contract.doc.source: contract.doc.text, loaded.doc.source: loaded.doc.text}
    diff = "".join(
        unified_diff(before[path], text, os.path.relpath(path, root)) for path, text in texts.items()
    )
    return Tightened(loaded.product.id, contract.path, found, texts, diff, evidence.publishes, evidence.rows)
