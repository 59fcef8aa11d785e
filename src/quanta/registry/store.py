"""The registry: versioned metadata in SQLite (default) or PostgreSQL, behind one small API."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from quanta.errors import NotFoundError, RegistryError
from quanta.registry.models import (
    ContractVersion,
    Domain,
    Event,
    Grant,
    Port,
    Product,
    ProductVersion,
    Publish,
    Team,
    utcnow,
)
from quanta.registry.stores.audit_grants import GovernanceStore, GrantRecord, grant_record
from quanta.registry.stores.check_tallies import CheckTallyStore
from quanta.registry.stores.column_lineage import LineageStore
from quanta.registry.stores.feedback import FeedbackStore
from quanta.registry.stores.maturity_scores import MaturityStore
from quanta.registry.stores.observations import ObservabilityStore
from quanta.registry.stores.publishing import PublishingStore, PublishRecord, publish_record
from quanta.spec.contract import Contract
from quanta.spec.product import DataProduct


def fingerprint(data: Any) -> str:
    """Stable content hash of a JSON-able document (1 and 1.0 are the same number)."""
    return hashlib.sha256(
        json.dumps(_canonical(data), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def _canonical(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _canonical(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_canonical(v) for v in data]
    if isinstance(data, float) and data.is_integer():
        return int(data)
    return data


@dataclass(frozen=True)
class Registration:
    """The outcome of registering one product: ``new``, ``new-version`` or ``unchanged``."""

    product_id: str
    version: str
    status: str
    previous_version: str | None = None
    previous_descriptor: dict[str, Any] | None = None


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


class Registry(
    PublishingStore,
    GovernanceStore,
    ObservabilityStore,
    LineageStore,
    MaturityStore,
    FeedbackStore,
    CheckTallyStore,
):
    """Versioned metadata of the mesh. Every write is one transaction; versions are immutable."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Registry:
        """Connect and bring the schema up to date (migrations are idempotent)."""
        registry = cls(url)
        registry.upgrade()
        return registry

    def upgrade(self) -> None:
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

    def register(self, product: DataProduct, contracts: dict[str, Contract], actor: str) -> Registration:
        """Record a product version and its contracts atomically; same version twice must be identical."""
        return self.register_all([(product, contracts)], actor)[0]

    def register_all(
        self, items: list[tuple[DataProduct, dict[str, Contract]]], actor: str
    ) -> list[Registration]:
        """Register several products in one transaction: all of them or, on any refusal, none."""
        with self.session() as s:
            return [self._register(s, product, contracts, actor) for product, contracts in items]

    def _register(
        self, s: Session, product: DataProduct, contracts: dict[str, Contract], actor: str
    ) -> Registration:
        import semver

        descriptor = product.to_dict()
        version = product.version or "0.0.0"
        if not semver.Version.is_valid(version):
            raise RegistryError(
                f"{product.id}: version {version!r} is not a semantic version",
                hint="use MAJOR.MINOR.PATCH, e.g. 1.0.0",
            )
        digest = fingerprint(
            {"product": descriptor, "contracts": {k: c.to_dict() for k, c in contracts.items()}}
        )
        row = s.get(Product, product.id)
        existing = s.scalar(
            select(ProductVersion).where(
                ProductVersion.product_id == product.id, ProductVersion.version == version
            )
        )
        if existing is not None:
            if existing.fingerprint == digest:
                return Registration(product.id, version, "unchanged")
            newest = max(
                semver.Version.parse(version), semver.Version.parse(row.latest_version if row else version)
            )
            raise RegistryError(
                f"{product.id} {version} is already registered with different content",
                hint=f"versions are immutable: bump the version above {newest} (e.g. {newest.bump_patch()})",
            )
        previous = None
        if row is not None:
            if semver.Version.parse(version) < semver.Version.parse(row.latest_version):
                raise RegistryError(
                    f"{product.id} {version} is older than the registered {row.latest_version}",
                    hint=f"use a version greater than {row.latest_version}",
                )
            previous = s.scalar(
                select(ProductVersion).where(
                    ProductVersion.product_id == product.id, ProductVersion.version == row.latest_version
                )
            )
        self._upsert_product(s, row, product, version)
        contract_rows = {name: self._contract_row(s, c) for name, c in contracts.items()}
        pv = ProductVersion(
            product_id=product.id,
            version=version,
            descriptor=descriptor,
            fingerprint=digest,
            created_by=actor,
        )
        s.add(pv)
        s.flush()
        self._add_ports(s, pv, product, contract_rows)
        s.add(
            Event(
                kind="product.registered",
                subject=product.id,
                actor=actor,
                payload={"version": version, "previous": previous.version if previous else None},
            )
        )
        return Registration(
            product.id,
            version,
            "new-version" if previous else "new",
            previous.version if previous else None,
            previous.descriptor if previous else None,
        )

    def _upsert_product(self, s: Session, row: Product | None, product: DataProduct, version: str) -> None:
        domain = product.domain or product.id.split(".")[0]
        _insert_if_absent(s, Domain, name=domain)
        team = product.team.name if product.team and product.team.name else None
        if team:
            _insert_if_absent(s, Team, name=team, domain=domain)
        if row is None:
            row = Product(id=product.id, domain=domain)
            s.add(row)
        row.name = product.name or product.id.split(".")[-1]
        row.type = product.type
        row.status = product.status
        row.owner = product.owner_name
        row.team = team
        row.latest_version = version
        row.updated_at = utcnow()

    def _contract_row(self, s: Session, contract: Contract) -> ContractVersion:
        document = contract.to_dict()
        digest = fingerprint(document)
        existing = s.scalar(
            select(ContractVersion).where(
                ContractVersion.contract_id == contract.id, ContractVersion.version == contract.version
            )
        )
        if existing is not None:
            if existing.fingerprint != digest:
                raise RegistryError(
                    f"contract {contract.id} {contract.version} is already registered with different content",
                    hint="contract versions are immutable: bump the contract's 'version'",
                )
            return existing
        row = ContractVersion(
            contract_id=contract.id,
            version=contract.version,
            api_version=contract.api_version,
            name=contract.name,
            document=document,
            fingerprint=digest,
        )
        s.add(row)
        s.flush()
        return row

    def _add_ports(
        self, s: Session, pv: ProductVersion, product: DataProduct, contracts: dict[str, ContractVersion]
    ) -> None:
        for port in product.input_ports or []:
            s.add(
                Port(
                    product_version=pv,
                    direction="input",
                    name=port.name,
                    upstream_product=port.product,
                    spec=port.to_dict(),
                )
            )
        for out in product.output_ports or []:
            contract = contracts.get(out.name)
            s.add(
                Port(
                    product_version=pv,
                    direction="output",
                    name=out.name,
                    spec=out.to_dict(),
                    contract_pk=contract.pk if contract else None,
                )
            )
        for mgmt in product.management_ports or []:
            s.add(Port(product_version=pv, direction="management", name=mgmt.name, spec=mgmt.to_dict()))

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
        these keys. Plain SQL expressions, not ORM loading: this runs on every query."""
        with self.engine.connect() as c:
            found = c.execute(
                select(
                    Product.latest_version,
                    select(func.max(Publish.id)).where(Publish.product_id == product_id).scalar_subquery(),
                ).where(Product.id == product_id)
            ).first()
            if found is None:
                return None
            grants = c.execute(
                select(Grant.__table__).where(Grant.product_id == product_id, Grant.principal.in_(principals))
            )
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


def _insert_if_absent(s: Session, model: type[Domain] | type[Team], **values: Any) -> None:
    """Create a row shared by many products; concurrent registrations may race to create it first."""
    if s.get(model, values["name"]) is not None:
        return
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        s.execute(postgresql.insert(model).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        s.execute(sqlite.insert(model).values(**values).on_conflict_do_nothing())
    else:
        s.add(model(**values))
        s.flush()


def _make_engine(url: str) -> Engine:
    try:
        engine = create_engine(url, future=True)
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
