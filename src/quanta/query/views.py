"""A product as one principal sees it, in SQL: the granted columns, masked where they must be, and
its row filter, over the snapshot's files (what the governed views and the change feed's ends read)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.governance.masks import column_views, masked_sql
from quanta.query.products import QueryError

if TYPE_CHECKING:
    from quanta.governance.model import Principal
    from quanta.query.governed import ProductRead


def view_sql(principal: Principal, read: ProductRead, mask_key: bytes, extra: list[str] | None = None) -> str:
    """The product as this principal sees it: granted columns, masks, row filters (``extra``: more
    expressions over the raw scan, for the engine's own use, e.g. a change feed's keys)."""
    from quanta.engines.duckdb import scan_sql

    exprs = [*projection(principal, read, mask_key).values(), *(extra or [])]
    where = f" where {read.access.row_filter}" if read.access.row_filter else ""
    return f"select {', '.join(exprs)} from ({scan_sql(read.scan)}) as __raw{where}"


def projection(principal: Principal, read: ProductRead, mask_key: bytes) -> dict[str, str]:
    """Each column the principal sees, and the expression that shows it (masked where it must be)."""
    views = {v.column: v for v in column_views(read.obj, principal)}
    exprs = {}
    for column in read.scan.columns:
        if read.access.columns is not None and column.name not in read.access.columns:
            continue
        quoted = '"' + column.name.replace('"', '""') + '"'
        view = views.get(column.name)
        if view is None and not principal.cleared_for(None, set()):
            continue  # a column the contract does not describe: only for those cleared for internal
        if view is not None and view.mask:
            mask = masked_sql(column.name, view.mask, column.sql_type, mask_key)
            exprs[column.name] = f"{mask} as {quoted}"
        else:
            exprs[column.name] = quoted
    if not exprs:
        raise QueryError(
            f"no column of {read.product_id} is visible to {principal.id}", hint="request access"
        )
    return exprs
