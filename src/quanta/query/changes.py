"""Change feeds: the rows inserted, deleted and updated between two versions of a product.

A query names a change feed as a product reference with a version range, ``"sales.orders@1.0.0..1.1.0"``
(``"sales.orders@1.0.0.."`` for "since 1.0.0, up to the current version"). The governed query service
reads each end as the principal would read that version (granted columns, masks, row filters) and
diffs the two governed reads in the engine, so the feed shows nothing a read of either version would
not. The rows carry ``_change`` (``insert``, ``delete``, ``update_before``, ``update_after``) and
``_version`` (the version the row's values are from).

How the two ends are compared:

- **Appends** (Iceberg lineage: the newer snapshot holds every data file of the older one): the rows
  of the added files are the inserts, nothing is read twice.
- **By primary key** (the contract's ``primaryKey`` properties): a key only in the newer version is an
  insert, only in the older a delete, in both with different *visible* values an update (a change
  hidden by a mask does not show as an update). The key is compared unmasked inside the engine, so a
  masked key (a hash, the last digits) still pairs rows correctly; only its masked value is returned.
- **Whole rows, as multisets**, when the contract has no key or the principal's grant leaves a key
  column out: ``EXCEPT ALL`` both ways, inserts and deletes only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from quanta.query.products import QueryError

if TYPE_CHECKING:
    from quanta.engines.base import TableScan
    from quanta.spec.contract import SchemaObject

RANGE = ".."
"""Separates the two versions of a change-feed reference: ``product@since..until``."""
_KEY = "__quanta_key_{}"


def version_range(at: str | None) -> tuple[str, str | None] | None:
    """``(since, until)`` of a change-feed reference's ``@`` part (``until`` None: the current
    version), or None when it names one version."""
    if at is None or RANGE not in at:
        return None
    since, _, until = at.partition(RANGE)
    if not since.strip() or RANGE in until:
        raise QueryError(
            f"bad change-feed range {at!r}",
            hint='name two versions: select * from "sales.orders@1.0.0..1.1.0" (or "@1.0.0.." for '
            "everything since 1.0.0)",
        )
    return since.strip(), until.strip() or None


def primary_key(obj: SchemaObject) -> list[str]:
    """The contract's primary key columns, in key order."""
    props = [p for p in obj.properties or [] if p.primary_key]
    props.sort(key=lambda p: p.primary_key_position or 0)
    return [p.column for p in props]


def appended_files(old: TableScan, new: TableScan) -> TableScan | None:
    """The scan of the files ``new`` added to ``old`` when it only appended to it (same columns, every
    old file still there), else None."""
    if [c.name for c in old.columns] != [c.name for c in new.columns]:
        return None
    before = set(old.files)
    if not before.issubset(new.files):
        return None
    return replace(new, files=[f for f in new.files if f not in before])


@dataclass(frozen=True)
class ChangeEnd:
    """One end of a change feed: the governed read of a version (its SQL, from the raw scan with masks
    and row filter applied, plus the key columns unmasked under hidden names) and its visible columns."""

    version: str
    sql: str
    columns: list[str]


def key_names(count: int) -> list[str]:
    """The hidden names the unmasked key columns of a change end go under."""
    return [_KEY.format(i) for i in range(count)]


def changes_sql(old: ChangeEnd, new: ChangeEnd, *, keys: int, appended: bool) -> str:
    """The change rows between two governed reads (each carrying ``keys`` unmasked key columns; none:
    a whole-row diff): ``_change``, ``_version``, then the columns both versions show (in the newer
    version's order)."""
    shared = [c for c in new.columns if c in set(old.columns)]
    if not shared:
        raise QueryError(
            "the two versions share no column you may see", hint="compare versions with quanta diff"
        )
    cols = ", ".join(_quote(c) for c in shared)
    tagged = ", ".join(f"{{side}}.{_quote(c)}" for c in shared)

    def head(change: str, end: ChangeEnd) -> str:
        return f"select '{change}' as _change, {_literal(end.version)} as _version"

    if appended:
        return f"{head('insert', new)}, {cols} from ({new.sql}) as n"
    if not keys:
        return (
            f"{head('delete', old)}, * from (select {cols} from ({old.sql}) except all "
            f"select {cols} from ({new.sql})) "
            f"union all {head('insert', new)}, * from (select {cols} from ({new.sql}) except all "
            f"select {cols} from ({old.sql}))"
        )
    hidden = key_names(keys)
    on = " and ".join(f"o.{k} is not distinct from n.{k}" for k in hidden)
    differs = " or ".join(f"o.{_quote(c)} is distinct from n.{_quote(c)}" for c in shared)
    o_cols = tagged.format(side="o") + "".join(f", o.{k}" for k in hidden)
    n_cols = tagged.format(side="n") + "".join(f", n.{k}" for k in hidden)
    # In key order, a key's delete or update_before before its insert or update_after; the unmasked
    # keys order the rows inside the engine and are dropped before anything leaves it.
    return (
        f"with o as ({old.sql}), n as ({new.sql}) select _change, _version, {cols} from ("
        f"{head('delete', old)}, {o_cols} from o anti join n on {on} "
        f"union all {head('insert', new)}, {n_cols} from n anti join o on {on} "
        f"union all {head('update_before', old)}, {o_cols} from o join n on {on} where {differs} "
        f"union all {head('update_after', new)}, {n_cols} from o join n on {on} where {differs}"
        f") as c order by {', '.join(hidden)}, _change in ('insert', 'update_after')"
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
