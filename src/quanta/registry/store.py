"""The registry: versioned metadata in SQLite (default) or PostgreSQL, behind one small API."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import TextClause, bindparam, create_engine, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from quanta.errors import NotFoundError, RegistryError
from quanta.registry.catalog import (
    SCHEMA_REVISION,
    CatalogReads,
    head_revision,
)
from quanta.registry.models import CatalogChanges, ContractVersion, Event, Grant, Product, Publish
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


class Registry(
    CatalogReads,
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
    """Versioned metadata of the mesh. Every write is one transaction; versions are immutable. The
    catalog's reads (:class:`~quanta.registry.catalog.CatalogReads`) run their SQL on this engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._catalog_seen: tuple[int, float] | None = None  # (counter, when it was read)
        self._statements: dict[str, TextClause] = {}
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

    def schema_revision(self) -> str | None:
        """The migration the database is at (None for a new or unreadable one: alembic decides)."""
        try:
            with self.engine.connect() as connection:
                return connection.execute(text(SCHEMA_REVISION)).scalar()
        except SQLAlchemyError:
            return None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; driver errors are translated here, once."""
        with _translated(), self._sessions.begin() as session:
            yield session

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> Sequence[Sequence[Any]]:
        statement = self._statements.get(sql)
        if statement is None:  # built once per statement: SQLAlchemy then reuses its compiled form
            statement = self._statements[sql] = text(sql)
        with _translated(), self.engine.connect() as connection:
            return connection.execute(statement, params or {}).all()

    # --- governed reads ---------------------------------------------------------------------------

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


@contextmanager
def _translated() -> Iterator[None]:
    """Driver errors as :class:`RegistryError`, translated here, once."""
    try:
        yield
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
