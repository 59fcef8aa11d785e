"""Search index backends: which one a registry gets, and the fixtures that run one test body on each.

Like dlt's ``destinations_configs``: ``search_backends()`` gives pytest params (PostgreSQL ones marked
``postgres``), and ``new_index`` makes empty indexes of the backend under test: a SQLite file each, or
each in a fresh database on the throwaway cluster of tests/pg.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from quanta.discovery.search.index import SearchIndex, backend, open_search_index
from quanta.discovery.search.postgres import PostgresSearchIndex
from quanta.discovery.search.sqlite import SqliteSearchIndex
from quanta.registry import Registry

BACKENDS = {"sqlite": (), "postgres": (pytest.mark.postgres,)}
NewIndex = Callable[[], SearchIndex]


def search_backends(only: Sequence[str] | None = None) -> list[Any]:
    """pytest params for the search backends, with their markers."""
    return [
        pytest.param(name, id=name, marks=marks)
        for name, marks in BACKENDS.items()
        if not only or name in only
    ]


class Databases:
    """Fresh databases on a cluster, each dropped (with its connections) when the fixture ends."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.names: list[str] = []

    def new(self) -> str:
        name = f"search_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return self.server.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.names:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        import psycopg

        url = self.server
        with psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
        ) as connection:
            connection.execute(statement)  # type: ignore[arg-type]


def index_maker(name: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[NewIndex]:
    """Yields a function making empty indexes of backend ``name``; closes and drops them afterwards."""
    made: list[SearchIndex] = []
    databases = Databases(request.getfixturevalue("postgres_url")) if name == "postgres" else None

    def new() -> SearchIndex:
        index: SearchIndex
        if databases is None:
            index = SqliteSearchIndex(folder / uuid.uuid4().hex[:8] / "search.db")
        else:
            from sqlalchemy import create_engine

            index = PostgresSearchIndex(create_engine(databases.new()))
        made.append(index)
        return index

    yield new
    for index in made:
        index.close()
        if isinstance(index, PostgresSearchIndex):
            index.engine.dispose()
    if databases is not None:
        databases.drop_all()


# --- choosing the backend ------------------------------------------------------------------------------


def test_a_sqlite_registry_gets_the_file_index_in_the_state_folder(tmp_path: Path) -> None:
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    index = open_search_index(registry, tmp_path / ".quanta")
    assert isinstance(index, SqliteSearchIndex)
    assert index.path == tmp_path / ".quanta" / "search.db"
    assert not index.exists()
    registry.close()


def test_an_unknown_dialect_gets_the_file_index() -> None:
    assert backend("mysql") is SqliteSearchIndex
    assert backend("postgresql") is PostgresSearchIndex


@pytest.mark.postgres
def test_a_postgres_registry_gets_the_index_in_its_own_database(pg_database_url: str, tmp_path: Path) -> None:
    registry = Registry.open(pg_database_url)
    index = open_search_index(registry, None)  # no workspace folder needed: the database holds it
    assert isinstance(index, PostgresSearchIndex)
    assert index.engine is registry.engine
    assert not index.exists()
    registry.close()
