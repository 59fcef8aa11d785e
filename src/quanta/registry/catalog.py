"""The catalog's reads: products, their versions, descriptors, contracts and consumers, and the change
counter, as SQL written once here and run by either of two executors.

:class:`~quanta.registry.Registry` runs them on its SQLAlchemy engine (SQLite or PostgreSQL), for every
caller. :class:`SqliteCatalog` runs the same statements with the standard library's ``sqlite3``, for
commands that only read the catalog of a local registry (``quanta ls``, ``quanta show``): SQLAlchemy
and the ORM models are more than half a second of such a command's start-up. This module imports
neither; the statements are plain SQL both SQLite and PostgreSQL read, with ``:name`` parameters
(what SQLAlchemy's ``text()`` and ``sqlite3`` both bind).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from quanta.errors import NotFoundError, RegistryError
from quanta.lazy import own_lock


@dataclass(frozen=True)
class ProductSummary:
    id: str
    domain: str
    name: str
    type: str | None
    status: str
    owner: str | None
    latest_version: str
    updated_at: datetime
    served_version: str | None = None
    """The version consumers read (its current publish); None before the first publish."""

    @property
    def version_label(self) -> str:
        """The served version, and the latest registered one when that is not what is served."""
        if self.served_version is None:
            return f"{self.latest_version} (not published)"
        if self.served_version == self.latest_version:
            return self.served_version
        return f"{self.served_version} ({self.latest_version} not published)"


@dataclass(frozen=True)
class VersionInfo:
    product_id: str
    version: str
    created_at: datetime
    created_by: str
    fingerprint: str
    outcome: str = "published"
    """``published``, or why not: ``contract failed``, ``build failed``, ``not built yet``."""

    @property
    def published(self) -> bool:
        return self.outcome == "published"

    @property
    def label(self) -> str:
        """``1.0.8 (not published: contract failed)`` for a version consumers never read."""
        return self.version if self.published else f"{self.version} (not published: {self.outcome})"


CATALOG_RECHECK_SECONDS = 0.2
_VIEW: ContextVar[dict[int, int] | None] = ContextVar("quanta_catalog_view", default=None)


@contextmanager
def one_catalog_view() -> Iterator[None]:
    """Within the block (one request, one statement), exact reads of the change counter read it once:
    the block's access decisions all see the catalog as it was at its first one. This block's own
    catalog writes are seen at once (they forget the version read); another's change, from the next
    block on."""
    token = _VIEW.set({})
    try:
        yield
    finally:
        _VIEW.reset(token)


# --- the statements (each read below runs one or more of these, whichever executor runs it) ---
CATALOG_VERSION = "select counter from catalog_changes where id = 1"
SCHEMA_REVISION = "select version_num from alembic_version"
PRODUCT_IDS = "select id from products"
LATEST_VERSION = "select latest_version from products where id = :product"
PRODUCTS = (
    "select id, domain, name, type, status, owner, latest_version, updated_at from products"
    "{where} order by id"
)
SERVED_VERSIONS = (
    "select product_id, version from publishes"
    " where id in (select max(id) from publishes group by product_id){where}"
)
VERSIONS = (
    "select product_id, version, created_at, created_by, fingerprint from product_versions"
    " where product_id = :product order by id"
)
PUBLISHED_VERSIONS = "select version from publishes where product_id = :product"
FAILED_BUILDS = (
    "select version, details from runs"
    " where product_id = :product and status in ('failed', 'crashed') order by started_at"
)
VERSION_ROW = "select id, descriptor from product_versions where product_id = :product and version = :version"
PORT_CONTRACTS = (
    "select ports.name, contracts.document from ports join contracts on contracts.pk = ports.contract_pk"
    " where ports.product_version_id = :version_id order by ports.id"
)
CONSUMERS = (
    "select distinct products.id from products"
    " join product_versions on product_versions.product_id = products.id"
    " and product_versions.version = products.latest_version"
    " join ports on ports.product_version_id = product_versions.id"
    " where ports.upstream_product = :product"
)


def head_revision() -> str:
    """The newest migration: migrations are named ``NNNN_what.py`` with revision ``NNNN``, each after
    the one before (a test holds this equal to alembic's own head)."""
    versions = resources.files("quanta.registry") / "migrations" / "versions"
    return max(entry.name[:4] for entry in versions.iterdir() if entry.name[:4].isdigit())


class CatalogReads(ABC):
    """The catalog's read API, over one method an executor implements: :meth:`_rows`."""

    _catalog_seen: tuple[int, float] | None = None  # (counter, when it was read)

    @abstractmethod
    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> Sequence[Sequence[Any]]:
        """The rows ``sql`` returns with ``params`` bound (each row a sequence of column values:
        strings for JSON and timestamps where the driver gives them so, see :func:`json_value`)."""

    def catalog_version(self, max_age: float = CATALOG_RECHECK_SECONDS) -> int:
        """How many transactions have changed the catalog so far: what a cache of catalog views
        compares with. Read at most every ``CATALOG_RECHECK_SECONDS`` (one page asks a dozen times),
        at once after this process's own catalog writes: another process's change shows within
        that interval, this process's immediately. ``max_age=0``: read it now (what access
        decisions use: a revoked grant never outlives its commit; within :func:`one_catalog_view`, the
        block's first such read).

        When the interval lapses, one thread reads the counter again and the others keep the value
        they had meanwhile (a view lags by that one read at most): fifty request threads finding it
        stale at once would otherwise each take a database connection for the same answer."""
        now = time.monotonic()
        seen = self._catalog_seen
        if seen is not None and now - seen[1] < max_age:
            return seen[0]
        view = _VIEW.get() if max_age <= 0 else None
        if view is not None and id(self) in view:
            return view[id(self)]
        if seen is None or max_age <= 0:
            return self._read_catalog_version(now, view)
        refreshing = self._refreshing()
        if not refreshing.acquire(blocking=False):
            return seen[0]  # another thread is reading it now
        try:
            return self._read_catalog_version(now, view)
        finally:
            refreshing.release()

    def _read_catalog_version(self, now: float, view: dict[int, int] | None) -> int:
        rows = self._rows(CATALOG_VERSION)
        version = int(rows[0][0] or 0) if rows else 0
        self._catalog_seen = (version, now)
        if view is not None:
            view[id(self)] = version
        return version

    def _refreshing(self) -> threading.Lock:
        """The lock of the thread reading the counter again (one per catalog, made on first use)."""
        return own_lock(self, "_refresh_lock")

    def _forget_catalog_version(self) -> None:
        self._catalog_seen = None
        view = _VIEW.get()
        if view is not None:
            view.pop(id(self), None)

    # --- products -------------------------------------------------------------------------------

    def product_ids(self) -> set[str]:
        return {str(row[0]) for row in self._rows(PRODUCT_IDS)}

    def products(
        self,
        domain: str | None = None,
        type: str | None = None,
        status: str | None = None,
        ids: list[str] | None = None,
    ) -> list[ProductSummary]:
        if ids is not None and not ids:
            return []
        where, params = _where_ids("id", ids)
        for column, value in (("domain", domain), ("type", type), ("status", status)):
            if value:
                where.append(f"{column} = :{column}")
                params[column] = value
        served = self.served_versions(ids)
        rows = self._rows(PRODUCTS.format(where=_clause(where, "where")), params)
        return [
            ProductSummary(pid, domain_, name, type_, status_, owner, latest, utc(updated), served.get(pid))
            for pid, domain_, name, type_, status_, owner, latest, updated in rows
        ]

    def served_versions(self, product_ids: list[str] | None = None) -> dict[str, str]:
        """Product id ► the version consumers read now: that of its current publish (products never
        published are absent). Registered versions whose builds failed are not served."""
        if product_ids is not None and not product_ids:
            return {}
        where, params = _where_ids("product_id", product_ids)
        rows = self._rows(SERVED_VERSIONS.format(where=_clause(where, "and")), params)
        return {str(pid): str(version) for pid, version in rows}

    def versions(self, product_id: str) -> list[VersionInfo]:
        """Every registered version, oldest first, each with whether its data was ever published."""
        outcomes = self.build_outcomes(product_id)
        self._latest_version(product_id)
        return [
            VersionInfo(pid, version, utc(at), by, fingerprint, outcomes.get(version, "not built yet"))
            for pid, version, at, by, fingerprint in self._rows(VERSIONS, {"product": product_id})
        ]

    def build_outcomes(self, product_id: str) -> dict[str, str]:
        """Version ► ``published`` when data of it was ever published, else how its last build
        ended (``contract failed``, ``build failed``); versions never built are absent."""
        published = {row[0] for row in self._rows(PUBLISHED_VERSIONS, {"product": product_id})}
        failed = self._rows(FAILED_BUILDS, {"product": product_id})
        # A run that got as far as the contract checks recorded them: its data failed the contract.
        outcomes = {v: "contract failed" if "checks" in json_value(d) else "build failed" for v, d in failed}
        return {**outcomes, **dict.fromkeys(published, "published")}

    def descriptor(self, product_id: str, version: str | None = None) -> dict[str, Any]:
        """The registered descriptor of a product version (latest by default)."""
        wanted = version or self._latest_version(product_id)
        found = self._rows(VERSION_ROW, {"product": product_id, "version": wanted})
        if not found:
            known = ", ".join(str(row[1]) for row in self._rows(VERSIONS, {"product": product_id}))
            raise NotFoundError(f"{product_id} has no version {wanted}", hint=f"registered versions: {known}")
        return dict(json_value(found[0][1]))

    def port_contracts(self, product_id: str, version: str | None = None) -> dict[str, dict[str, Any]]:
        """Output port name ► registered ODCS document, for one product version."""
        wanted = version or self._latest_version(product_id)
        found = self._rows(VERSION_ROW, {"product": product_id, "version": wanted})
        if not found:
            raise NotFoundError(f"{product_id} has no version {version}")
        return {
            str(name): dict(json_value(document))
            for name, document in self._rows(PORT_CONTRACTS, {"version_id": found[0][0]})
        }

    def consumers(self, product_id: str) -> list[str]:
        """Products whose latest version reads from ``product_id``."""
        return sorted(str(row[0]) for row in self._rows(CONSUMERS, {"product": product_id}))

    def _latest_version(self, product_id: str) -> str:
        """The product's latest registered version; an unknown id: a NotFoundError naming the closest."""
        found = self._rows(LATEST_VERSION, {"product": product_id})
        if not found:
            import difflib

            close = difflib.get_close_matches(product_id, sorted(self.product_ids()), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see 'quanta ls' for registered products"
            raise NotFoundError(f"no product {product_id!r} in the registry", hint=hint)
        return str(found[0][0])


class SqliteCatalog(CatalogReads):
    """The catalog reads of a local SQLite registry through ``sqlite3``: for commands that read the
    catalog and nothing else. It never writes, so a registry that is missing or behind the newest
    migration is left to :class:`~quanta.registry.Registry` (:meth:`open` answers None)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Autocommit: each read sees the latest commit, as a new SQLAlchemy connection would.
        self._connection = sqlite3.connect(path, timeout=10, isolation_level=None)

    @classmethod
    def open(cls, url: str) -> SqliteCatalog | None:
        """The catalog of the registry at ``url`` when that is a SQLite file at the newest schema."""
        path = sqlite_path(url)
        if path is None or not path.is_file():
            return None
        catalog = cls(path)
        if catalog.schema_revision() != head_revision():
            catalog.close()
            return None
        return catalog

    def schema_revision(self) -> str | None:
        try:
            rows = self._rows(SCHEMA_REVISION)
        except RegistryError:
            return None
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        self._connection.close()

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        try:
            return self._connection.execute(sql, params or {}).fetchall()
        except sqlite3.Error as exc:
            raise RegistryError(
                f"registry database unavailable: {exc}", hint="check QUANTA_DATABASE_URL and the server"
            ) from None


def sqlite_path(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL (no driver, no query options); else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or len(url) == len(prefix):
        return None
    return Path(url[len(prefix) :])


def utc(value: datetime | str) -> datetime:
    """A timestamp column's value as an aware UTC datetime (SQLite keeps text without a zone)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def json_value(value: Any) -> Any:
    """A JSON column's value: SQLite gives its text, PostgreSQL drivers the decoded value."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _where_ids(column: str, ids: list[str] | None) -> tuple[list[str], dict[str, Any]]:
    if ids is None:
        return [], {}
    params = {f"id_{i}": value for i, value in enumerate(ids)}
    return [f"{column} in ({', '.join(':' + name for name in params)})"], params


def _clause(conditions: list[str], keyword: str) -> str:
    return f" {keyword} " + " and ".join(conditions) if conditions else ""
