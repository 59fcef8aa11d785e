"""The result cache: a repeated governed query is answered from the rows kept the first time, and only
when nothing could make them differ. Governance still runs on every query (authorized, audited, a
receipt); principals who see a product differently never share a result; a new version or a revoked
grant is never answered from a kept one; statements that read the clock or chance, large results and
streams closed early are not kept (a bad QUANTA_RESULT_CACHE_MB: tests/test_settings.py).
docs/governance.md, "The result cache"."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.errors import QuantaError
from quanta.mesh import Mesh, acting_as
from quanta.query.products import AccessDenied
from tests.conftest import mesh_as
from tests.test_changes import publish_changed_customers

MASKED = "select customer_id, name, phone, market_segment from customers.customers order by customer_id"
FILTERED = "select nation, region, order_year, revenue from finance.revenue_by_nation order by 1, 3"


def _mesh(root: Path, user: str, cache_mb: int | None = None) -> Mesh:
    base = mesh_as(root, user)
    if cache_mb is None:
        return base
    return Mesh.open(root, settings=base.settings.model_copy(update={"result_cache_mb": cache_mb}))


def _entry(root: Path, seq: int) -> dict[str, object]:
    [entry] = [e for e in Mesh.open(root).audit_log() if e.seq == seq]
    return entry.details


def test_a_repeated_query_is_answered_from_the_kept_rows_and_audited_each_time(granted_demo: Path) -> None:
    ana = _mesh(granted_demo, "ana")
    first, second = ana.governed_query(MASKED), ana.governed_query(MASKED)
    assert (first.cached, second.cached) == (False, True)
    assert second.table.equals(first.table) and second.masked == first.masked
    assert second.audit_ids and second.audit_ids != first.audit_ids  # a new entry for every read
    assert "result_cache" not in _entry(granted_demo, first.audit_ids[0])
    assert _entry(granted_demo, second.audit_ids[0])["result_cache"] == "hit"
    assert second.receipt is not None and second.receipt["rows"] == first.table.num_rows
    assert ana.verify_receipt(second.receipt).valid


def test_principals_who_see_a_product_differently_never_share_a_kept_result(granted_demo: Path) -> None:
    server = Mesh.open(granted_demo)  # one mesh serves every caller, as `quanta serve` does
    uncached = _mesh(granted_demo, "ana", cache_mb=0)
    for sql in (MASKED, FILTERED):
        with acting_as("gina"):  # cleared for everything, exempt from the row filter
            clear = server.governed_query(sql)
            assert server.governed_query(sql).cached
        with acting_as("ana"):
            seen = server.governed_query(sql)
        assert not seen.cached and seen.table.equals(uncached.governed_query(sql).table)
        assert not seen.table.equals(clear.table)
    with acting_as("ana"):
        again = server.governed_query(FILTERED)
    assert again.cached and set(again.table.column("region").to_pylist()) == {"EUROPE"}


@pytest.mark.parametrize(
    "sql",
    [
        "select customer_id, random() as r from customers.customers limit 3",
        "select customer_id, now() as t from customers.customers limit 3",
        "select customer_id from customers.customers where current_date > date '2000-01-01' limit 3",
        "select customer_id, uuid() as u from customers.customers limit 3",
        "select count(*) as n from customers.customers using sample 50 percent (bernoulli)",
    ],
)
def test_statements_that_read_the_clock_or_chance_are_never_kept(granted_demo: Path, sql: str) -> None:
    ana = _mesh(granted_demo, "ana")
    assert [ana.governed_query(sql).cached for _ in range(2)] == [False, False]


def test_large_results_and_streams_closed_early_are_not_kept(granted_demo: Path) -> None:
    small = _mesh(granted_demo, "sam", cache_mb=1)  # entries of 64 KiB at most
    wide = "select * from sales.lineitems"
    assert [small.governed_query(wide).cached for _ in range(2)] == [False, False]
    keys = "select order_id from sales.lineitems order by order_id limit 8000"  # 64,000 bytes
    assert [small.governed_query(keys).cached for _ in range(2)] == [False, True]

    sam = _mesh(granted_demo, "sam")
    several = "select order_id, line_number from sales.lineitems"  # several batches, a few hundred KiB
    with sam.governed_stream(several) as stream:
        next(iter(stream))  # one batch, then closed
    assert [sam.governed_query(several).cached for _ in range(2)] == [False, True]
    failing = "select cast(comment as integer) as n from sales.lineitems"
    for _ in range(2):
        with pytest.raises(QuantaError):
            sam.governed_query(failing)


def test_no_result_is_kept_with_a_cache_of_zero(granted_demo: Path) -> None:
    off = _mesh(granted_demo, "ana", cache_mb=0)
    assert [off.governed_query(MASKED).cached for _ in range(2)] == [False, False]


def test_a_new_version_or_a_revoked_grant_is_never_answered_from_a_kept_result(own_demo: Path) -> None:
    admin, ana = Mesh.open(own_demo), _mesh(own_demo, "ana")
    request = ana.request_access(
        "customers.customers", "churn analysis", columns=["customer_id", "name"], accept_terms=True
    )
    grant = admin.decide_access(request, True, "ok")
    sql = "select customer_id, name from customers.customers order by customer_id"
    assert [ana.governed_query(sql).cached for _ in range(2)] == [False, True]

    publish_changed_customers(own_demo)  # 1.1.0: customer 2 gone, 999999 new
    newer = ana.governed_query(sql)
    assert not newer.cached and newer.versions == {"customers.customers": "1.1.0"}
    ids = newer.table.column("customer_id").to_pylist()
    assert 999999 in ids and 2 not in ids

    admin.revoke_access(grant.id, "project over")
    with pytest.raises(AccessDenied):
        ana.governed_query(sql)
