"""A first contract from a profile: loose rules (types, required, keys, ranges, classifications), each
with its evidence as a YAML comment; tighter ones (enums, patterns) written as comments to adopt later.

The text is the ``properties:`` list of one schema object, indented to sit under it in a blueprint's
contract; names are written as JSON strings, which YAML reads as they are.
"""

from __future__ import annotations

import json
import re

from quanta.blueprints.inference import ENUM_LIMIT, ColumnProfile, Profile

ID_NAME = re.compile(r"(^|_)(id|key|code|uuid)$|[a-z](Id|ID|Key)$|^id[a-z_]", re.IGNORECASE)


def primary_key(found: Profile) -> str | None:
    """The candidate key a producer would pick: the first one named like an identifier, else the first
    column when it is a key and holds integers or short text."""
    for column in found.columns:
        if column.unique and ID_NAME.search(column.name):
            return column.name
    first = found.columns[0]
    if first.unique and (first.logical_type == "integer" or (first.max_length or 99) <= 36):
        return first.name
    return None


def properties_yaml(found: Profile, indent: int = 6) -> str:
    """The ``properties:`` items (without the key) for ``found``, each rule with its evidence."""
    key = primary_key(found)
    lines = [f"# inferred from {found.source}: {found.rows:,} rows, first {found.sample_rows:,} sampled"]
    for column in found.columns:
        lines += _property(column, found.rows, is_key=column.name == key)
    pad = " " * indent
    return "\n".join(pad + line if line else "" for line in lines)


def _property(column: ColumnProfile, rows: int, *, is_key: bool) -> list[str]:
    out = [f"- name: {json.dumps(column.name)}", f"  logicalType: {column.logical_type}"]
    out.append(f"  physicalType: {json.dumps(column.engine_type.lower())}  # as read: {column.engine_type}")
    if column.nulls == 0:
        out.append(f"  required: true  # no nulls in {rows:,} rows")
    else:
        out.append(f"  # optional: {column.nulls:,} nulls in {rows:,} rows ({column.nulls / rows:.1%})")
    if is_key:
        out += [
            f"  unique: true  # {rows:,} distinct values in {rows:,} rows (exact count)",
            "  primaryKey: true  # the candidate key named like an identifier",
            "  primaryKeyPosition: 1",
        ]
    elif column.unique:
        out.append(
            f"  # candidate key: {rows:,} distinct values in {rows:,} rows; add 'unique: true' to keep it"
        )
    out += _range(column)
    out += _classification(column)
    out += _suggestions(column, rows)
    return out


def _range(column: ColumnProfile) -> list[str]:
    low, high = column.minimum, column.maximum
    if not column.is_numeric or not isinstance(low, int | float) or isinstance(low, bool) or low < 0:
        return []
    return [
        "  logicalTypeOptions:",
        f"    minimum: 0  # every value is at least 0 (observed {low} to {high})",
    ]


def _classification(column: ColumnProfile) -> list[str]:
    found = column.detection
    if found is None:
        return []
    evidence = found.evidence.replace("#", "no.")
    return [
        f"  classification: {found.level}  # {found.kind}: {evidence}",
        f"  tags: [{found.tag}]",
    ]


def _suggestions(column: ColumnProfile, rows: int) -> list[str]:
    """Tighter rules the data supports, left as comments: start loose, tighten later."""
    out = []
    values = column.frequent or []
    if column.is_text and 0 < len(values) <= ENUM_LIMIT and column.distinct * 2 <= rows:
        listed = ", ".join(json.dumps(v) for v in sorted(values))
        out.append(f"  # enum? only {len(values)} values in {rows:,} rows: {listed}")
    if column.pattern:
        out.append(f"  # pattern? every sampled value fits {column.pattern}")
    if column.is_text and column.max_length is not None:
        out.append(f"  # lengths {column.min_length} to {column.max_length}")
    return out
