"""The SQLite search index's own concerns: its generation files, a rebuild under load, a damaged file."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quanta.discovery.search.index import SearchError
from quanta.discovery.search.sqlite import SqliteSearchIndex as SearchIndex
from quanta.registry import Registry
from tests.test_search import ids, open_demo


@dataclass(frozen=True)
class Demo:
    registry: Registry
    index: SearchIndex


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    mesh = open_demo(tmp_path_factory.mktemp("search") / "mesh")
    index = SearchIndex(tmp_path_factory.mktemp("index") / "search.db")
    assert index.rebuild(mesh.registry) == 7
    yield Demo(mesh.registry, index)
    index.close()


def test_an_index_from_another_version_is_rebuilt_by_update(demo: Demo, tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "search.db")
    index.rebuild(demo.registry)
    with sqlite3.connect(index.path) as conn:
        conn.execute("UPDATE meta SET value = 'old' WHERE key = 'schema'")
    stale = SearchIndex(index.path)
    with pytest.raises(SearchError, match="another Quanta version"):
        stale.search("orders")
    stale.update(demo.registry, ["sales.orders"])
    assert stale.search("orders").hits[0].product_id == "sales.orders"
    index.close()
    stale.close()


def test_an_unreadable_index_is_a_search_error_and_a_rebuild_repairs_it(demo: Demo, tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "search.db")
    index.rebuild(demo.registry)
    Path(os.path.realpath(index.path)).write_bytes(b"not a database" * 1000)
    broken = SearchIndex(index.path)
    with pytest.raises(SearchError, match="cannot read the search index") as raised:
        broken.search("orders")
    assert "rebuild" in (raised.value.hint or "")
    assert broken.rebuild(demo.registry) == 7
    assert ids(broken.search("orders"))[0] == "sales.orders"
    broken.close()
    index.close()


# --- concurrency: threads, and a rebuild under load ---------------------------------------------------------


def test_rebuild_is_atomic_for_concurrent_searches(demo: Demo, tmp_path: Path) -> None:
    writer = SearchIndex(tmp_path / "search.db")
    writer.rebuild(demo.registry)
    reader = SearchIndex(tmp_path / "search.db")  # another worker on the same file
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
        assert writer.rebuild(demo.registry) == 7
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(totals) > 10
    assert set(totals) == {(7, demo.index.search("customer").total)}
    generations = [
        p.name for p in tmp_path.iterdir() if p.name.startswith("search.db.") and "-" not in p.name
    ]
    assert len(generations) == 1  # the old ones are gone
    writer.close()
    reader.close()


def test_a_search_racing_a_swap_follows_the_link_again(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = SearchIndex(tmp_path / "search.db")
    index.rebuild(demo.registry)
    old = os.path.realpath(index.path)
    index.rebuild(demo.registry)
    assert not Path(old).exists()  # the swap deleted the generation the link pointed at
    stale, realpath = [old], os.path.realpath

    def racing(path: Any, *args: Any, **kwargs: Any) -> Any:
        """The link as read just before the swap, then as it is."""
        return stale.pop() if stale else realpath(path, *args, **kwargs)

    monkeypatch.setattr(os.path, "realpath", racing)
    reader = SearchIndex(index.path)
    assert ids(reader.search("orders"))[0] == "sales.orders"
    assert stale == []
    reader.close()
    index.close()
