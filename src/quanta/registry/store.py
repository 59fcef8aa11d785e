"""The registry: versioned metadata in SQLite (default) or PostgreSQL, behind one small API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, event, func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from quanta.errors import NotFoundError, RegistryError
from quanta.registry.models import (
    CatalogChanges,
    ContractVersion,
    Event,
    Grant,
    Port,
    Product,
    ProductVersion,
    Publish,
)
from quanta.registry.stores.audit_grants import GovernanceStore, GrantRecord, grant_record
from quanta.registry.stores.check_tallies import CheckTallyStore
from quanta.registry.stores.column_lineage import LineageStore
from quanta.registry.stores.feedback import FeedbackStore
from quanta.registry.stores.file_deliveries import FileDeliveryStore
from quanta.registry.stores.maturity_scores import MaturityStore
from quanta.registry.stores.observations import ObservabilityStore
from quanta.registry.stores.publishing import PublishingStore, PublishRecord, publish_record
from quanta.registry.stores.registrations import RegistrationStore


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


@dataclass(frozen=True)
class EventRecord:
    id: int
    at: datetime
    kind: str
    subject: str
    actor: str
    payload: dict[str, Any]


# Writes to these tables change what catalog views show; reads write audit entries, builds write
# observations and locks, and none of those make a cached view of the catalog stale.
CATALOG_TABLES = frozenset(
    {"domains", "teams", "products", "product_versions", "contracts", "ports", "publishes", "runs", "grants"}
    | {"subscriptions", "delivery_subscriptions"}  # what pages show of the viewer's own following
)
CATALOG_RECHECK_SECONDS = 0.2
_CATALOG_VERSION = text("select counter from catalog_changes where id = 1")
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


# What every governed read asks, built once (SQLAlchemy then reuses their compiled form).
_READ_PRODUCT = select(
    Product.latest_version,
    select(func.max(Publish.id)).where(Publish.product_id == bindparam("product")).scalar_subquery(),
).where(Product.id == bindparam("product"))
_READ_GRANTS = select(Grant.__table__).where(
    Grant.product_id == bindparam("product"), Grant.principal.in_(bindparam("principals", expanding=True))
)


def count_catalog_changes(sessions: sessionmaker[Session], changed: Callable[[], None]) -> None:
    """Bump ``catalog_changes.counter`` in every transaction that writes a catalog table, in that
    same transaction: a reader that sees the new rows also sees the new counter. ``changed()`` is
    called after such a commit (this process knows at once; others within the recheck interval)."""

    @event.listens_for(sessions, "after_flush")
    def flushed(session: Session, _context: object) -> None:
        for row in (*session.new, *session.dirty, *session.deleted):
            if getattr(row, "__tablename__", None) in CATALOG_TABLES:
                session.info["catalog_changed"] = True

    @event.listens_for(sessions, "do_orm_execute")
    def executed(state: ORMExecuteState) -> None:
        writes = state.is_insert or state.is_update or state.is_delete
        mapper = state.bind_mapper
        if (
            writes
            and mapper is not None
            and getattr(mapper.persist_selectable, "name", None) in CATALOG_TABLES
        ):
            state.session.info["catalog_changed"] = True

    @event.listens_for(sessions, "before_commit")
    def committing(session: Session) -> None:
        if session.info.pop("catalog_changed", False):
            session.execute(update(CatalogChanges).values(counter=CatalogChanges.counter + 1))
            session.info["catalog_bumped"] = True

    @event.listens_for(sessions, "after_commit")
    def committed(session: Session) -> None:
        if session.info.pop("catalog_bumped", False):
            changed()

    @event.listens_for(sessions, "after_rollback")
    def rolled_back(session: Session) -> None:
        session.info.pop("catalog_changed", None)
        session.info.pop("catalog_bumped", None)


def head_revision() -> str:
    """The newest migration: migrations are named ``NNNN_what.py`` with revision ``NNNN``, each after
    the one before (a test holds this equal to alembic's own head)."""
    versions = resources.files("quanta.registry") / "migrations" / "versions"
    return max(entry.name[:4] for entry in versions.iterdir() if entry.name[:4].isdigit())


class Registry(
    RegistrationStore,
    PublishingStore,
    GovernanceStore,
    ObservabilityStore,
    LineageStore,
    MaturityStore,
    FeedbackStore,
    CheckTallyStore,
    FileDeliveryStore,
):
    """Versioned metadata of the mesh. Every write is one transaction; versions are immutable."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._catalog_seen: tuple[int, float] | None = None  # (counter, when it was read)
        count_catalog_changes(self._sessions, self._forget_catalog_version)

    @classmethod
    def open(cls, url: str) -> Registry:
        """Connect and bring the schema up to date (migrations are idempotent)."""
        registry = cls(url)
        registry.upgrade()
        return registry

    def upgrade(self) -> None:
        if self.schema_revision() == head_revision():
            return  # up to date: no need to load alembic (a quarter of a CLI command's start-up)
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(resources.files("quanta.registry") / "migrations"))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise RegistryError(
                f"cannot open the registry database: {exc.orig}",
                hint="check QUANTA_DATABASE_URL, that the server is running and the credentials are right",
            ) from None

    def catalog_version(self, max_age: float = CATALOG_RECHECK_SECONDS) -> int:
        """How many transactions have changed the catalog so far: what a cache of catalog views
        compares with. Read at most every ``CATALOG_RECHECK_SECONDS`` (one page asks a dozen times),
        at once after this process's own catalog writes: another process's change shows within
        that interval, this process's immediately. ``max_age=0``: read it now (what access
        decisions use: a revoked grant never outlives its commit; within :func:`one_catalog_view`, the
        block's first such read)."""
        now = time.monotonic()
        seen = self._catalog_seen
        if seen is not None and now - seen[1] < max_age:
            return seen[0]
        view = _VIEW.get() if max_age <= 0 else None
        if view is not None and id(self) in view:
            return view[id(self)]
        with self.engine.connect() as connection:
            version = int(connection.execute(_CATALOG_VERSION).scalar() or 0)
        self._catalog_seen = (version, now)
        if view is not None:
            view[id(self)] = version
        return version

    def _forget_catalog_version(self) -> None:
        self._catalog_seen = None
        view = _VIEW.get()
        if view is not None:
            view.pop(id(self), None)

    def schema_revision(self) -> str | None:
        """The migration the database is at (None for a new or unreadable one: alembic decides)."""
        try:
            with self.engine.connect() as connection:
                return connection.execute(text("select version_num from alembic_version")).scalar()
        except SQLAlchemyError:
            return None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; driver errors are translated here, once."""
        try:
            with self._sessions.begin() as session:
                yield session
        except IntegrityError:
            raise RegistryError(
                "the registry changed while this write was in progress (another apply at the same time?)",
                hint="run the command again; nothing was written",
            ) from None
        except OperationalError as exc:
            raise RegistryError(
                f"registry database unavailable: {exc.orig}", hint="check QUANTA_DATABASE_URL and the server"
            ) from None
        except SQLAlchemyError as exc:
            raise RegistryError(
                f"registry write failed: {type(exc).__name__}: {exc.orig if hasattr(exc, 'orig') else exc}"
            ) from None

    # --- products -------------------------------------------------------------------------------

    def product_ids(self) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(Product.id)))

    def products(
        self,
        domain: str | None = None,
        type: str | None = None,
        status: str | None = None,
        ids: list[str] | None = None,
    ) -> list[ProductSummary]:
        query = select(Product).order_by(Product.id)
        if ids is not None:
            query = query.where(Product.id.in_(ids))
        if domain:
            query = query.where(Product.domain == domain)
        if type:
            query = query.where(Product.type == type)
        if status:
            query = query.where(Product.status == status)
        served = self.served_versions(ids)
        with self.session() as s:
            return [
                ProductSummary(
                    p.id,
                    p.domain,
                    p.name,
                    p.type,
                    p.status,
                    p.owner,
                    p.latest_version,
                    p.updated_at,
                    served.get(p.id),
                )
                for p in s.scalars(query)
            ]

    def versions(self, product_id: str) -> list[VersionInfo]:
        """Every registered version, oldest first, each with whether its data was ever published."""
        outcomes = self.build_outcomes(product_id)
        with self.session() as s:
            self._product(s, product_id)
            rows = s.scalars(
                select(ProductVersion)
                .where(ProductVersion.product_id == product_id)
                .order_by(ProductVersion.id)
            )
            return [
                VersionInfo(
                    r.product_id,
                    r.version,
                    r.created_at,
                    r.created_by,
                    r.fingerprint,
                    outcomes.get(r.version, "not built yet"),
                )
                for r in rows
            ]

    def descriptor(self, product_id: str, version: str | None = None) -> dict[str, Any]:
        """The registered descriptor of a product version (latest by default)."""
        with self.session() as s:
            row = self._product(s, product_id)
            wanted = version or row.latest_version
            pv = s.scalar(
                select(ProductVersion).where(
                    ProductVersion.product_id == product_id, ProductVersion.version == wanted
                )
            )
            if pv is None:
                known = ", ".join(v.version for v in row.versions)
                raise NotFoundError(
                    f"{product_id} has no version {wanted}", hint=f"registered versions: {known}"
                )
            return dict(pv.descriptor)

    def read_state(
        self, product_id: str, principals: list[str]
    ) -> tuple[str, int | None, list[GrantRecord]] | None:
        """What changes between two governed reads of a product, in one connection: its latest
        registered version, the id of its current publish, and the grants of ``principals`` on it
        (None for an unknown product). Versions and publishes are immutable, so callers cache them by
        these keys; grants are read every time (an edit made outside Quanta counts too). Statements
        built once, not ORM loading: this runs on every query."""
        with self.engine.connect() as c:
            found = c.execute(_READ_PRODUCT, {"product": product_id}).first()
            if found is None:
                return None
            grants = c.execute(_READ_GRANTS, {"product": product_id, "principals": principals})
            # Rows carry the columns as attributes, as the ORM objects would.
            records = sorted((grant_record(row) for row in grants), key=lambda g: g.id)
        return str(found[0]), found[1], records

    def publish_by_id(self, publish_id: int) -> PublishRecord:
        with self.session() as s:
            row = s.get(Publish, publish_id)
            if row is None:
                raise NotFoundError(f"no publish {publish_id}", hint="see quanta versions")
            return publish_record(row)

    def port_contracts(self, product_id: str, version: str | None = None) -> dict[str, dict[str, Any]]:
        """Output port name ► registered ODCS document, for one product version."""
        with self.session() as s:
            row = self._product(s, product_id)
            pv = s.scalar(
                select(ProductVersion).where(
                    ProductVersion.product_id == product_id,
                    ProductVersion.version == (version or row.latest_version),
                )
            )
            if pv is None:
                raise NotFoundError(f"{product_id} has no version {version}")
            return {p.name: dict(p.contract.document) for p in pv.ports if p.contract is not None}

    def contract(self, contract_id: str, version: str | None = None) -> dict[str, Any]:
        with self.session() as s:
            query = select(ContractVersion).where(ContractVersion.contract_id == contract_id)
            if version:
                query = query.where(ContractVersion.version == version)
            rows = list(s.scalars(query.order_by(ContractVersion.pk)))
            if not rows:
                raise NotFoundError(
                    f"no contract {contract_id!r}" + (f" version {version}" if version else "")
                )
            return dict(rows[-1].document)

    def has_contract(self, contract_id: str) -> bool:
        with self.session() as s:
            return (
                s.scalar(select(ContractVersion.pk).where(ContractVersion.contract_id == contract_id))
                is not None
            )

    def consumers(self, product_id: str) -> list[str]:
        """Products whose latest version reads from ``product_id``."""
        with self.session() as s:
            rows = s.execute(
                select(Product.id)
                .join(
                    ProductVersion,
                    (ProductVersion.product_id == Product.id)
                    & (ProductVersion.version == Product.latest_version),
                )
                .join(Port, Port.product_version_id == ProductVersion.id)
                .where(Port.upstream_product == product_id)
                .distinct()
            )
            return sorted(r[0] for r in rows)

    def _product(self, s: Session, product_id: str) -> Product:
        row = s.get(Product, product_id)
        if row is None:
            import difflib

            close = difflib.get_close_matches(product_id, list(s.scalars(select(Product.id))), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see 'quanta ls' for registered products"
            raise NotFoundError(f"no product {product_id!r} in the registry", hint=hint)
        return row

    # --- events ---------------------------------------------------------------------------------

    def append_event(
        self, kind: str, subject: str, actor: str, payload: dict[str, Any] | None = None
    ) -> None:
        with self.session() as s:
            s.add(Event(kind=kind, subject=subject, actor=actor, payload=payload or {}))

    def events(
        self, subject: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[EventRecord]:
        query = select(Event).order_by(Event.id.desc()).limit(limit)
        if subject:
            query = query.where(Event.subject == subject)
        if kind:
            query = query.where(Event.kind == kind)
        with self.session() as s:
            return [
                EventRecord(e.id, e.at, e.kind, e.subject, e.actor, dict(e.payload)) for e in s.scalars(query)
            ]


def _make_engine(url: str) -> Engine:
    try:
        # A server's request threads each hold a connection for a moment: keep enough open that a busy
        # page neither opens and closes one per request nor queues for one (a worker serves 40 threads;
        # two workers stay well inside PostgreSQL's default 100 connections).
        engine = create_engine(url, future=True, pool_size=16, max_overflow=16)
    except Exception as exc:  # sqlalchemy raises several types for malformed URLs and missing drivers
        raise RegistryError(
            f"cannot use registry URL: {exc}",
            hint="use sqlite:///path/registry.db or postgresql+psycopg://user@host/db",
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL loses nothing when a process crashes (only on power loss), and saves an fsync
    # per commit: every governed query appends to the audit log.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
