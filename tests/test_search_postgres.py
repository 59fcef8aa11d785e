"""PostgreSQL full text in server mode: workers share one index in the registry's database, and keep it
current when any of them applies, at the same time as the others, without corrupting or duplicating it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from quanta.discovery.search.index import SearchError
from quanta.discovery.search.postgres import PostgresSearchIndex
from quanta.mesh import Mesh
from quanta.registry import Registry
from quanta.settings import Settings
from tests.test_search import DEMO_IDS, ids

pytestmark = pytest.mark.postgres


def worker(root: Path, url: str) -> Mesh:
    """One API worker: the workspace, with its registry (and so its search index) in PostgreSQL."""
    return Mesh.open(root, settings=Settings(database_url=url, workspace=root))


@pytest.fixture
def server(tmp_path: Path, pg_database_url: str) -> Iterator[tuple[Path, str]]:
    """The demo mesh applied to a PostgreSQL registry: (workspace, database URL)."""
    root = tmp_path / "mesh"
    Mesh.init(root, demo=True)
    mesh = worker(root, pg_database_url)
    mesh.apply()
    mesh.registry.close()
    yield root, pg_database_url


def bump(root: Path, tag: str) -> None:
    """A new version of marketing.customer_segments tagged ``tag``."""
    descriptor = root / "domains/marketing/customer_segments/product.yaml"
    text_ = descriptor.read_text(encoding="utf-8")
    version = next(line for line in text_.splitlines() if line.startswith("version: "))
    major, minor, patch = version.removeprefix("version: ").split(".")
    text_ = text_.replace(version, f"version: {major}.{int(minor) + 1}.{patch}", 1)
    old_tags = next(line for line in text_.splitlines() if line.startswith("tags: "))
    descriptor.write_text(text_.replace(old_tags, f"tags: [marketing, {tag}]"), encoding="utf-8")


def index_rows(url: str) -> tuple[int, int, int]:
    """Products indexed, distinct ids among them, and the products the facet combinations count."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows, distinct = conn.execute(text("SELECT count(*), count(DISTINCT id) FROM search_products")).one()
        counted = conn.execute(text("SELECT sum(products) FROM search_combos")).scalar()
    engine.dispose()
    return int(rows), int(distinct), int(counted or 0)


def test_workers_share_one_index_in_the_registry_database(server: tuple[Path, str]) -> None:
    root, url = server
    first, second = worker(root, url), worker(root, url)
    assert set(ids(first.search(""))) == DEMO_IDS  # built on first use, in the database
    assert not (root / ".quanta" / "search.db").exists()  # no file per worker
    assert isinstance(second.search_index, PostgresSearchIndex)
    assert second.search_index.exists()
    bump(root, "zebrafish")
    second.apply()  # applied by one worker ...
    found = first.search("zebrafish")  # ... found by the other at once
    assert ids(found) == ["marketing.customer_segments"]
    assert "tag zebrafish" in found.hits[0].matched
    assert first.search("segmentation").total == 0
    for mesh in (first, second):
        mesh.registry.close()


def test_two_workers_applying_at_once_neither_corrupt_nor_duplicate(server: tuple[Path, str]) -> None:
    root, url = server
    workers = [worker(root, url) for _ in range(2)]
    workers[0].search("")  # the index exists
    registry = workers[0].registry
    everything = sorted(DEMO_IDS)

    def update(n: int) -> None:  # overlapping sets of products, from both workers, many times over
        workers[n % 2].search_index.update(registry, everything[n % 3 :: 2])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(update, range(24)))
    assert index_rows(url) == (7, 7, 7)
    result = workers[1].search("")
    assert (result.total, set(ids(result))) == (7, DEMO_IDS)
    assert sum(result.facets["domain"].values()) == 7
    for mesh in workers:
        mesh.registry.close()


def test_the_last_apply_wins_when_two_race_on_one_product(server: tuple[Path, str]) -> None:
    root, url = server
    first, second = worker(root, url), worker(root, url)
    first.search("")
    bump(root, "okapi")
    first.apply()
    bump(root, "narwhal")  # registered while the first worker's update may still be running
    threads = [
        threading.Thread(target=m.search_index.update, args=(m.registry, ["marketing.customer_segments"]))
        for m in (first, second)
    ]
    for thread in threads:
        thread.start()
    second.apply()
    for thread in threads:
        thread.join()
    assert first.search("okapi").total == 0  # every update read the registry under the lock
    assert ids(first.search("narwhal")) == ["marketing.customer_segments"]
    assert index_rows(url) == (7, 7, 7)
    for mesh in (first, second):
        mesh.registry.close()


def test_a_rebuild_is_atomic_for_concurrent_searches(server: tuple[Path, str]) -> None:
    root, url = server
    writer, reader = worker(root, url), worker(root, url)
    writer.search("")
    customer = reader.search("customer").total
    stop, errors, totals = threading.Event(), list[BaseException](), list[tuple[int, int]]()

    def search_until_stopped() -> None:
        while not stop.is_set():
            try:
                totals.append((reader.search("").total, reader.search("customer").total))
            except BaseException as exc:  # any failure is what this test looks for
                errors.append(exc)

    threads = [threading.Thread(target=search_until_stopped) for _ in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(4):
        assert writer.search_index.rebuild(writer.registry) == 7
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(totals) > 10
    assert set(totals) == {(7, customer)}
    assert index_rows(url) == (7, 7, 7)
    for mesh in (writer, reader):
        mesh.registry.close()


def test_an_index_of_another_version_is_rebuilt(server: tuple[Path, str]) -> None:
    root, url = server
    mesh = worker(root, url)
    mesh.search("")
    with mesh.registry.engine.begin() as conn:
        conn.execute(text("UPDATE search_meta SET value = 'old' WHERE key = 'schema'"))
    with pytest.raises(SearchError, match="no search index of this Quanta version") as raised:
        mesh.search_index.search("orders")
    assert "rebuild" in (raised.value.hint or "")
    assert ids(mesh.search("orders"))[0] == "sales.orders"  # the facade rebuilds it once
    mesh.registry.close()


def test_an_unreachable_database_is_a_search_error(postgres_url: str) -> None:
    index = PostgresSearchIndex(create_engine(postgres_url.rsplit("/", 1)[0] + "/no_such_database"))
    with pytest.raises(SearchError, match="cannot read the search index in postgresql") as raised:
        index.search("orders")
    assert raised.value.hint
    index.engine.dispose()


def test_the_registry_schema_check_ignores_the_index_tables(server: tuple[Path, str]) -> None:
    """The index tables are the backend's, like PyIceberg's catalog tables: Alembic's migrations
    neither create nor touch them, and upgrading a registry that has them changes nothing."""
    root, url = server
    worker(root, url).search("")
    registry = Registry.open(url)  # runs the migrations again
    with registry.engine.connect() as conn:
        tables = {
            r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'search%'"))
        }
    assert tables == {"search_meta", "search_combos", "search_products", "search_texts", "search_words"}
    assert index_rows(url) == (7, 7, 7)
    registry.close()
