"""Registry tables and queries for registering product versions: the descriptor and its contracts,
ports, owning domain and team, each version immutable once written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quanta.errors import RegistryError
from quanta.registry.models import ContractVersion, Domain, Event, Port, Product, ProductVersion, Team, utcnow

if TYPE_CHECKING:
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


class RegistrationStore:
    """Mixin of :class:`Registry`: registering product versions and their contracts."""

    session: Callable[[], AbstractContextManager[Session]]

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
        descriptor = product.to_dict()
        version = _semantic_version(product)
        digest = fingerprint(
            {"product": descriptor, "contracts": {k: c.to_dict() for k, c in contracts.items()}}
        )
        row = s.get(Product, product.id)
        if _registered_before(s, product.id, version, digest, row):
            return Registration(product.id, version, "unchanged")
        previous = _previous_version(s, product.id, version, row)
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


def _semantic_version(product: DataProduct) -> str:
    import semver

    version = product.version or "0.0.0"
    if not semver.Version.is_valid(version):
        raise RegistryError(
            f"{product.id}: version {version!r} is not a semantic version",
            hint="use MAJOR.MINOR.PATCH, e.g. 1.0.0",
        )
    return version


def _registered_before(s: Session, product_id: str, version: str, digest: str, row: Product | None) -> bool:
    """Whether this very version is registered already with the same content; refused if it differs."""
    import semver

    existing = s.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == product_id, ProductVersion.version == version
        )
    )
    if existing is None:
        return False
    if existing.fingerprint == digest:
        return True
    newest = max(semver.Version.parse(version), semver.Version.parse(row.latest_version if row else version))
    raise RegistryError(
        f"{product_id} {version} is already registered with different content",
        hint=f"versions are immutable: bump the version above {newest} (e.g. {newest.bump_patch()})",
    )


def _previous_version(
    s: Session, product_id: str, version: str, row: Product | None
) -> ProductVersion | None:
    """The latest registered version, which ``version`` follows; refused if it is older."""
    import semver

    if row is None:
        return None
    if semver.Version.parse(version) < semver.Version.parse(row.latest_version):
        raise RegistryError(
            f"{product_id} {version} is older than the registered {row.latest_version}",
            hint=f"use a version greater than {row.latest_version}",
        )
    return s.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == product_id, ProductVersion.version == row.latest_version
        )
    )


def _insert_if_absent(s: Session, model: type[Domain] | type[Team], **values: Any) -> None:
    """Create a row shared by many products; concurrent registrations may race to create it first."""
    if s.get(model, values["name"]) is not None:
        return
    from sqlalchemy.dialects import postgresql, sqlite  # a tenth of the registry's import: only here

    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        s.execute(postgresql.insert(model).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        s.execute(sqlite.insert(model).values(**values).on_conflict_do_nothing())
    else:
        s.add(model(**values))
        s.flush()
