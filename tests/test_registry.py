"""The registry on every backend it supports: one test body, run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text

from quanta.errors import NotFoundError, RegistryError
from quanta.registry import Registry
from quanta.registry.catalog import CATALOG_RECHECK_SECONDS
from quanta.registry.models import Base
from quanta.spec.contract import Contract
from quanta.spec.product import DataProduct

BACKENDS = {
    "sqlite": (),
    "postgres": (pytest.mark.postgres,),
}


def registry_backends(only: Sequence[str] | None = None) -> list[Any]:
    """pytest params for the registry backends, with their markers (like dlt's ``destinations_configs``)."""
    return [
        pytest.param(name, id=name, marks=marks)
        for name, marks in BACKENDS.items()
        if not only or name in only
    ]


@pytest.fixture(params=registry_backends())
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on one backend: a SQLite file, or a fresh database on a throwaway cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    reg = Registry.open(registry_url)
    yield reg
    reg.close()


def make_contract(
    cid: str = "sales.orders", version: str = "1.0.0", columns: Sequence[str] = ("order_id",)
) -> Contract:
    return Contract.model_validate(
        {
            "apiVersion": "v3.2.0",
            "kind": "DataContract",
            "id": cid,
            "version": version,
            "status": "active",
            "schema": [
                {
                    "name": cid.rpartition(".")[2],
                    "properties": [{"name": c, "logicalType": "string", "required": True} for c in columns],
                }
            ],
        }
    )


def make_product(
    pid: str = "sales.orders",
    version: str = "1.0.0",
    *,
    inputs: Sequence[str] = (),
    description: str = "Every order placed in the shop.",
    team: str | None = None,
) -> DataProduct:
    doc: dict[str, Any] = {
        "apiVersion": "v1.0.0",
        "kind": "DataProduct",
        "id": pid,
        "version": version,
        "status": "active",
        "type": "aggregate" if inputs else "source-aligned",
        "owner": "alice",
        "description": {"purpose": description},
        "outputPorts": [{"name": "main", "contract": "contracts/main.yaml", "contractId": pid}],
    }
    if inputs:
        doc["inputPorts"] = [{"name": up.replace(".", "_"), "product": up, "port": "main"} for up in inputs]
    if team:
        doc["team"] = {"name": team}
    return DataProduct.model_validate(doc)


def register(
    reg: Registry,
    pid: str = "sales.orders",
    version: str = "1.0.0",
    *,
    contract: Contract | None = None,
    **kw: Any,
) -> Any:
    """Register a product with one output port ``main`` bound to its contract."""
    return reg.register(
        make_product(pid, version, **kw), {"main": contract or make_contract(pid)}, actor="alice"
    )


def row_counts(reg: Registry) -> dict[str, int]:
    with reg.engine.connect() as conn:
        return {
            t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables
        }


# --- schema --------------------------------------------------------------------------------------


def test_migrations_apply_on_empty_database_and_reopen_is_idempotent(registry_url: str) -> None:
    reg = Registry.open(registry_url)
    tables = set(inspect(reg.engine).get_table_names())
    assert tables == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    register(reg)
    reg.close()

    again = Registry.open(registry_url)  # a second upgrade finds the schema at head and changes nothing
    with again.engine.connect() as conn:
        heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert heads == [_head_revision()]
    assert [v.version for v in again.versions("sales.orders")] == ["1.0.0"]
    again.close()


def test_the_fast_head_check_names_alembics_head() -> None:
    # Registry.open skips alembic when the database is at head_revision(): it must be alembic's head.
    from quanta.registry.catalog import head_revision

    assert head_revision() == _head_revision()


def test_a_database_behind_head_is_still_migrated(registry_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    reg = Registry.open(registry_url)
    config = Config()
    config.set_main_option("script_location", str(resources.files("quanta.registry") / "migrations"))
    with reg.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    assert "feedback" not in inspect(reg.engine).get_table_names()
    reg.close()
    again = Registry.open(registry_url)  # behind head: alembic runs 0009 and 0010 again
    assert "feedback" in inspect(again.engine).get_table_names()
    assert again.schema_revision() == _head_revision()
    again.close()


def test_catalog_writes_count_and_reads_audits_and_failed_writes_do_not(registry: Registry) -> None:
    # Server workers and CLIs cache catalog views while this counter stands still.
    start = registry.catalog_version()
    register(registry)
    registered = registry.catalog_version()
    assert registered == start + 1  # one transaction, one change, whatever it wrote
    registry.audit("query", "alice", "sales.orders", "allowed")
    assert registry.catalog_version() == registered  # a read's audit entry leaves views current
    with pytest.raises(RegistryError):
        register(registry, contract=make_contract(columns=("order_id", "other")))  # refused: same version
    assert registry.catalog_version() == registered
    register(registry, version="1.1.0")
    assert registry.catalog_version() == registered + 1
    other = Registry.open(registry.url)  # another process or worker sees the same count
    assert other.catalog_version() == registered + 1
    register(other, version="1.2.0")  # and its change reaches this one within the recheck interval
    time.sleep(CATALOG_RECHECK_SECONDS)
    assert registry.catalog_version() == registered + 2
    other.close()


def test_a_lapsed_counter_is_read_again_by_one_thread_at_a_time(tmp_path: Path) -> None:
    """Request threads finding the counter's interval lapsed at once send one read, not one each
    (each read takes a database connection: on PostgreSQL a herd of them made requests wait seconds);
    the others answer with the value they had. An exact read always reads."""
    from concurrent.futures import ThreadPoolExecutor

    from quanta.registry.catalog import CATALOG_VERSION

    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    register(registry)
    known = registry.catalog_version()
    time.sleep(CATALOG_RECHECK_SECONDS)
    reads: list[str] = []
    release = threading.Event()
    rows = registry._rows

    def counted(sql: str, params: dict[str, Any] | None = None) -> Sequence[Sequence[Any]]:
        if sql == CATALOG_VERSION:
            reads.append(sql)
            release.wait(10)  # the first reader is still waiting for the database
        return rows(sql, params)

    registry._rows = counted  # type: ignore[method-assign]
    with ThreadPoolExecutor(8) as pool:
        answers = [pool.submit(registry.catalog_version) for _ in range(8)]
        time.sleep(0.3)
        release.set()
        assert [a.result() for a in answers] == [known] * 8
    assert len(reads) == 1
    assert registry.catalog_version(0) == known and len(reads) == 2
    registry.close()


def test_the_sqlite_catalog_reads_what_the_registry_reads(tmp_path: Path) -> None:
    """`quanta ls` and `quanta show` read a local registry through sqlite3, without SQLAlchemy: the
    catalog's statements give the same answers on either executor, errors included."""
    from datetime import UTC, datetime

    from quanta.registry.catalog import SqliteCatalog
    from quanta.registry.stores.publishing import PublishRecord

    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    register(registry, "sales.orders")
    register(registry, "sales.orders", "1.1.0", contract=make_contract(version="1.1.0"))
    register(registry, "finance.revenue", inputs=["sales.orders"])
    registry.start_run("r1", "sales.orders", "1.0.0", "manual")
    record = PublishRecord(
        "sales.orders", "1.0.0", "r1", {"main": 1}, {"main": 10}, {}, {}, {}, "f", datetime.now(UTC), "alice"
    )
    registry.record_publish(record)
    registry.start_run("r2", "sales.orders", "1.1.0", "manual")
    registry.finish_run("r2", "failed", "contract checks failed", checks=[])
    catalog = SqliteCatalog.open(registry.url)
    assert catalog is not None

    reads: list[Any] = [
        lambda r: r.products(),
        lambda r: r.products(domain="sales", type="source-aligned", status="active"),
        lambda r: r.products(ids=["sales.orders", "finance.revenue"]),
        lambda r: r.products(ids=[]),
        lambda r: r.served_versions(),
        lambda r: r.served_versions(["finance.revenue"]),
        lambda r: r.versions("sales.orders"),
        lambda r: r.build_outcomes("sales.orders"),
        lambda r: r.descriptor("sales.orders"),
        lambda r: r.descriptor("sales.orders", "1.0.0"),
        lambda r: r.port_contracts("sales.orders"),
        lambda r: r.port_contracts("sales.orders", "1.0.0"),
        lambda r: r.consumers("sales.orders"),
        lambda r: r.product_ids(),
        lambda r: r.catalog_version(0),
        lambda r: r.schema_revision(),
    ]
    for read in reads:
        assert read(catalog) == read(registry)
    [orders] = catalog.products(ids=["sales.orders"])
    assert orders.served_version == "1.0.0" and orders.updated_at.tzinfo is not None
    assert [v.outcome for v in catalog.versions("sales.orders")] == ["published", "contract failed"]

    for failing in (
        lambda r: r.descriptor("sales.order"),
        lambda r: r.versions("nosuch.product"),
        lambda r: r.descriptor("sales.orders", "9.9.9"),
        lambda r: r.port_contracts("sales.orders", "9.9.9"),
    ):
        with pytest.raises(NotFoundError) as light:
            failing(catalog)
        with pytest.raises(NotFoundError) as full:
            failing(registry)
        assert (light.value.message, light.value.hint) == (full.value.message, full.value.hint)

    # Only a plain SQLite file at the newest migration is read this way; anything else is the registry's.
    assert SqliteCatalog.open(f"sqlite:///{tmp_path / 'missing.db'}") is None
    assert SqliteCatalog.open(f"sqlite:///{tmp_path / 'registry.db'}?mode=ro") is None
    assert SqliteCatalog.open("postgresql+psycopg://localhost/quanta") is None
    with registry.engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '0001'"))
    assert SqliteCatalog.open(registry.url) is None
    catalog.close()
    registry.close()


def test_models_and_migrations_agree(registry: Registry) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with registry.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


# --- products and versions -----------------------------------------------------------------------


def test_new_product_registers(registry: Registry) -> None:
    result = register(registry)
    assert (result.product_id, result.version, result.status) == ("sales.orders", "1.0.0", "new")
    assert result.previous_version is None
    assert registry.product_ids() == {"sales.orders"}
    [summary] = registry.products()
    assert (summary.domain, summary.name, summary.type, summary.status) == (
        "sales",
        "orders",
        "source-aligned",
        "active",
    )
    assert (summary.owner, summary.latest_version) == ("alice", "1.0.0")
    assert registry.products(domain="sales", type="source-aligned", status="active") == [summary]
    assert registry.products(domain="finance") == []


def test_same_version_with_identical_content_is_unchanged(registry: Registry) -> None:
    register(registry)
    before = row_counts(registry)
    assert register(registry).status == "unchanged"
    assert row_counts(registry) == before


def test_same_version_with_different_content_is_refused(registry: Registry) -> None:
    register(registry)
    with pytest.raises(RegistryError, match=re.escape("sales.orders 1.0.0 is already registered")) as info:
        register(registry, description="Orders, now with returns.")
    assert info.value.hint is not None
    assert "bump the version" in info.value.hint
    assert "1.0.1" in info.value.hint


def test_older_version_is_refused(registry: Registry) -> None:
    register(registry, version="2.0.0")
    with pytest.raises(RegistryError, match=re.escape("older than the registered 2.0.0")) as info:
        register(registry, version="1.5.0")
    assert info.value.hint == "use a version greater than 2.0.0"
    assert [v.version for v in registry.versions("sales.orders")] == ["2.0.0"]


def test_new_version_is_recorded_and_descriptors_are_immutable_snapshots(registry: Registry) -> None:
    register(registry, version="1.0.0", description="first")
    result = register(registry, version="1.1.0", description="second")
    assert (result.status, result.previous_version) == ("new-version", "1.0.0")
    assert result.previous_descriptor is not None
    assert result.previous_descriptor["description"] == {"purpose": "first"}

    versions = registry.versions("sales.orders")
    assert [v.version for v in versions] == ["1.0.0", "1.1.0"]
    assert all(v.created_by == "alice" and len(v.fingerprint) == 64 for v in versions)
    assert registry.products()[0].latest_version == "1.1.0"

    assert registry.descriptor("sales.orders", "1.0.0")["description"] == {"purpose": "first"}
    assert registry.descriptor("sales.orders", "1.1.0")["description"] == {"purpose": "second"}
    assert registry.descriptor("sales.orders")["version"] == "1.1.0"
    assert registry.descriptor("sales.orders", "1.0.0") == make_product(description="first").to_dict()
    with pytest.raises(NotFoundError, match=re.escape("has no version 9.9.9")) as info:
        registry.descriptor("sales.orders", "9.9.9")
    assert info.value.hint == "registered versions: 1.0.0, 1.1.0"


# --- contracts, ports, consumers ------------------------------------------------------------------


def test_contracts_are_stored_by_id_and_version(registry: Registry) -> None:
    v1 = make_contract(columns=("order_id",))
    v2 = make_contract(version="2.0.0", columns=("order_id", "amount"))
    register(registry, "sales.orders", "1.0.0", contract=v1)
    register(registry, "sales.orders", "2.0.0", contract=v2)

    assert registry.has_contract("sales.orders")
    assert not registry.has_contract("sales.nothing")
    assert registry.contract("sales.orders", "1.0.0") == v1.to_dict()
    assert registry.contract("sales.orders", "2.0.0") == v2.to_dict()
    assert registry.contract("sales.orders") == v2.to_dict()  # latest by default
    assert registry.port_contracts("sales.orders", "1.0.0") == {"main": v1.to_dict()}
    assert registry.port_contracts("sales.orders") == {"main": v2.to_dict()}
    with pytest.raises(NotFoundError, match=re.escape("no contract 'sales.orders' version 3.0.0")):
        registry.contract("sales.orders", "3.0.0")


def test_changed_contract_under_the_same_version_is_refused(registry: Registry) -> None:
    register(registry, "sales.orders", "1.0.0")
    changed = make_contract(columns=("order_id", "amount"))  # still version 1.0.0
    with pytest.raises(
        RegistryError, match=re.escape("contract sales.orders 1.0.0 is already registered")
    ) as info:
        register(registry, "sales.orders", "1.1.0", contract=changed)
    assert info.value.hint is not None
    assert "bump the contract's 'version'" in info.value.hint


def test_ports_are_recorded_and_consumers_are_found(registry: Registry) -> None:
    register(registry, "sales.orders")
    register(registry, "sales.customers")
    register(registry, "finance.revenue", inputs=["sales.orders", "sales.customers"])
    register(registry, "marketing.churn", inputs=["sales.customers"])

    assert registry.consumers("sales.orders") == ["finance.revenue"]
    assert registry.consumers("sales.customers") == ["finance.revenue", "marketing.churn"]
    assert registry.consumers("finance.revenue") == []

    with registry.engine.connect() as conn:
        ports = conn.execute(
            text(
                "SELECT p.direction, p.name, p.upstream_product, p.contract_pk IS NOT NULL FROM ports p "
                "JOIN product_versions v ON v.id = p.product_version_id "
                "WHERE v.product_id = 'finance.revenue' ORDER BY p.id"
            )
        ).all()
    assert [tuple(p) for p in ports] == [
        ("input", "sales_orders", "sales.orders", False),
        ("input", "sales_customers", "sales.customers", False),
        ("output", "main", None, True),
    ]

    # consumers() follows the latest version only: a version that stops reading drops the link
    register(registry, "marketing.churn", "2.0.0", contract=make_contract("marketing.churn", "2.0.0"))
    assert registry.consumers("sales.customers") == ["finance.revenue"]


# --- events and atomicity -------------------------------------------------------------------------


def test_each_registration_records_an_event(registry: Registry) -> None:
    register(registry, version="1.0.0")
    register(registry, version="1.0.0")  # unchanged: nothing happened, nothing recorded
    register(registry, version="1.1.0")
    register(registry, "sales.customers")

    events = registry.events(subject="sales.orders", kind="product.registered")
    assert [e.payload for e in events] == [  # newest first
        {"version": "1.1.0", "previous": "1.0.0"},
        {"version": "1.0.0", "previous": None},
    ]
    assert all(e.actor == "alice" and e.subject == "sales.orders" for e in events)
    assert len(registry.events(kind="product.registered")) == 3

    registry.append_event("product.built", "sales.orders", "scheduler", {"rows": 10})
    [latest] = registry.events(limit=1)
    assert (latest.kind, latest.actor, latest.payload) == ("product.built", "scheduler", {"rows": 10})
    assert [e.kind for e in registry.events(subject="sales.orders", limit=2)] == [
        "product.built",
        "product.registered",
    ]


def test_failed_registration_writes_nothing(registry: Registry) -> None:
    register(registry, "sales.orders")
    before = row_counts(registry)
    # A product in a new domain and team whose contract clashes with a registered one: the domain,
    # team, product and version rows are written before the clash is found, and must all roll back.
    clash = make_contract("sales.orders", columns=("something_else",))
    with pytest.raises(RegistryError, match=re.escape("contract sales.orders 1.0.0")):
        register(registry, "finance.revenue", contract=clash, team="finance-team")

    assert row_counts(registry) == before
    assert registry.product_ids() == {"sales.orders"}
    assert len(registry.events()) == 1


def register_concurrently(reg: Registry, pids: Sequence[str], team: str) -> dict[str, Any]:
    """Register each product from its own thread, all released at once; product id ► status or error."""
    start = threading.Barrier(len(pids))
    results: dict[str, Any] = {}

    def worker(pid: str) -> None:
        start.wait()
        try:
            results[pid] = register(reg, pid, team=team).status
        except Exception as exc:
            results[pid] = exc

    threads = [threading.Thread(target=worker, args=(pid,)) for pid in pids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_registrations_of_different_products_both_succeed(registry: Registry) -> None:
    # A new domain and team each round, so both threads find them missing and race to create them.
    for round_ in range(5):
        pids = [f"domain{round_}.left", f"domain{round_}.right"]
        assert register_concurrently(registry, pids, team=f"team{round_}") == dict.fromkeys(pids, "new")
    assert len(registry.product_ids()) == 10
    assert len(registry.events(limit=1000)) == 10


# --- errors a user sees ---------------------------------------------------------------------------


def test_misspelt_product_id_suggests_the_closest(registry: Registry) -> None:
    register(registry, "sales.orders")
    with pytest.raises(NotFoundError, match=re.escape("no product 'sales.order' in the registry")) as info:
        registry.versions("sales.order")
    assert info.value.hint == "did you mean 'sales.orders'?"
    with pytest.raises(NotFoundError) as info:
        registry.descriptor("zzz.qqq")
    assert info.value.hint == "see 'quanta ls' for registered products"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://nobody@127.0.0.1:1/x",
        "sqlite:////nonexistent/folder/registry.db",
        "nosuchdriver://somewhere/db",
    ],
)
def test_unreachable_or_malformed_url_is_a_registry_error_with_a_hint(url: str) -> None:
    with pytest.raises(RegistryError) as info:
        Registry.open(url)
    error = info.value
    assert error.hint is not None
    assert "postgresql+psycopg://" in error.hint or "QUANTA_DATABASE_URL" in error.hint
    assert error.__suppress_context__  # raised 'from None': the driver traceback is not chained


def test_timestamps_are_utc_aware_on_every_backend(registry: Registry) -> None:
    register(registry)
    (version,) = registry.versions("sales.orders")
    assert version.created_at.utcoffset() is not None
    assert registry.events()[0].at.utcoffset() is not None


def test_non_semver_version_is_a_registry_error(registry: Registry) -> None:
    with pytest.raises(RegistryError) as info:
        register(registry, version="1.0")
    assert "MAJOR.MINOR.PATCH" in (info.value.hint or "")
    assert registry.product_ids() == set()


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(resources.files("quanta.registry") / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_fingerprints_do_not_depend_on_number_spelling() -> None:
    from quanta.registry import fingerprint

    assert fingerprint({"a": [1.0, {"b": 0.0}]}) == fingerprint({"a": [1, {"b": 0}]})
    assert fingerprint({"a": 1.5}) != fingerprint({"a": 1})


@pytest.mark.parametrize(
    ("pin", "admitted"),
    [
        ("1.2.0", ["1.2.0"]),
        ("^1", ["1.0.0", "1.2.0", "1.10.1"]),
        ("^1.2", ["1.2.0", "1.10.1"]),
        ("~1.2", ["1.2.0"]),
        (">=1.1,<2", ["1.2.0", "1.10.1"]),
        ("v2.0.0", ["2.0.0"]),
    ],
)
def test_input_port_pins_admit_the_versions_they_say(pin: str, admitted: list[str]) -> None:
    from types import SimpleNamespace
    from typing import cast

    from quanta.registry.versions import matching

    publishes = [SimpleNamespace(version=v) for v in ("1.0.0", "1.2.0", "1.10.1", "2.0.0")]
    assert [p.version for p in matching(cast(Any, publishes), pin)] == admitted
