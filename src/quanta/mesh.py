"""The ``Mesh`` facade: the one object every interface (CLI, API, web, SDK) calls.

It wires the workspace, the specs and the registry together; interfaces only translate between their
protocol and these methods. The core never prints: results come back as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from quanta.errors import NotFoundError, SpecError, WorkspaceError
from quanta.registry import ProductSummary, Registration, Registry, VersionInfo
from quanta.settings import Settings
from quanta.spec import Contract, DataProduct, LoadedProduct, Validation, validate_files
from quanta.spec.diff import Change, diff
from quanta.workspace import Workspace


@dataclass(frozen=True)
class Applied:
    """One product after ``apply``: its registration outcome and what changed since the last version."""

    registration: Registration
    source: str
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class ApplyReport:
    applied: list[Applied]
    warnings: list[Any]


@dataclass(frozen=True)
class ProductView:
    """Everything the registry knows about a product, for ``quanta show`` and the product page."""

    summary: ProductSummary
    descriptor: dict[str, Any]
    contracts: dict[str, dict[str, Any]]
    versions: list[VersionInfo]
    consumers: list[str]


class Mesh:
    """Facade over a workspace and its registry."""

    def __init__(self, workspace: Workspace | None, settings: Settings | None = None) -> None:
        self.workspace = workspace
        self.settings = settings or Settings()

    @classmethod
    def open(
        cls, path: Path | None = None, *, required: bool = True, settings: Settings | None = None
    ) -> Mesh:
        """The mesh of the workspace at or above ``path``; ``required=False`` allows loose files."""
        settings = settings or Settings()
        start = path or settings.workspace
        try:
            workspace = Workspace.find(start)
        except WorkspaceError:
            if required:
                raise
            workspace = None
        return cls(workspace, settings)

    @staticmethod
    def init(directory: Path, *, demo: bool = False, name: str | None = None) -> list[Path]:
        """Create a workspace (optionally with the demo mesh); returns the files written."""
        from quanta.blueprints.init import create_workspace

        return create_workspace(directory, demo=demo, name=name)

    @cached_property
    def registry(self) -> Registry:
        url = self.settings.database_url.get_secret_value() if self.settings.database_url else None
        if url is None:
            if self.workspace is None:
                raise WorkspaceError(
                    "no workspace, so no registry",
                    hint="run inside a workspace ('quanta init') or set QUANTA_DATABASE_URL",
                )
            self.workspace.state_dir.mkdir(parents=True, exist_ok=True)
            url = self.workspace.database_url
        return Registry.open(url)

    def _workspace(self) -> Workspace:
        if self.workspace is None:
            raise WorkspaceError("not inside a workspace", hint="run 'quanta init DIR' and cd into it")
        return self.workspace

    # --- specs ----------------------------------------------------------------------------------

    def files(self, paths: list[Path] | None = None) -> list[Path]:
        if self.workspace is None:
            if not paths:
                raise WorkspaceError(
                    "not inside a workspace and no files given", hint="pass files to validate"
                )
            return [p for p in paths]
        return self.workspace.descriptor_files(paths)

    def validate(self, paths: list[Path] | None = None) -> Validation:
        """Validate descriptors and contracts; references may point at products already registered."""
        if self.workspace is None:
            return validate_files(self.files(paths))
        known = self.registry.product_ids()
        if not paths:
            return validate_files(self.files(), known)
        # Check the chosen files in the context of the whole workspace (references, duplicate ids),
        # then report only what concerns them.
        chosen = self.files(paths)
        selected = {p.resolve() for p in chosen}
        everything = [*chosen, *(f for f in self.files() if f.resolve() not in selected)]
        return validate_files(everything, known).restricted_to(selected)

    def apply(self, paths: list[Path] | None = None) -> ApplyReport:
        """Validate, then register every changed product as a new immutable version, in one transaction."""
        validation = self.validate(paths)
        validation.raise_for_errors()
        ordered = _dependency_order(validation.products)
        registrations = self.registry.register_all(
            [(p.product, {name: c.contract for name, c in p.contracts.items()}) for p in ordered],
            self.settings.user,
        )
        applied = []
        for loaded, registration in zip(ordered, registrations, strict=True):
            previous = registration.previous_descriptor
            changes = diff(previous, loaded.product.to_dict()) if previous is not None else []
            applied.append(Applied(registration, self._relative(loaded.path), changes))
        return ApplyReport(applied, validation.warnings)

    def _relative(self, path: Path) -> str:
        return self.workspace.relative(path) if self.workspace else str(path)

    # --- catalog --------------------------------------------------------------------------------

    def products(
        self, domain: str | None = None, type: str | None = None, status: str | None = None
    ) -> list[ProductSummary]:
        return self.registry.products(domain=domain, type=type, status=status)

    def product(self, ref: str) -> ProductView:
        """A registered product by id, optionally ``id@version``."""
        product_id, _, version = ref.partition("@")
        descriptor = self.registry.descriptor(product_id, version or None)
        summary = next(p for p in self.registry.products() if p.id == product_id)
        return ProductView(
            summary=summary,
            descriptor=descriptor,
            contracts=self.registry.port_contracts(product_id, descriptor.get("version")),
            versions=self.registry.versions(product_id),
            consumers=self.registry.consumers(product_id),
        )

    # --- formats --------------------------------------------------------------------------------

    def import_document(self, fmt: str, file: Path) -> str:
        """Read ``file`` in format ``fmt``; returns Quanta-native YAML (ODCS for contracts)."""
        from quanta.spec.formats import importer

        reader = importer(fmt)
        if not file.is_file():
            raise NotFoundError(f"file not found: {file}", hint="check the path")
        return reader.import_text(file.read_text(encoding="utf-8"), str(file))

    def export(self, fmt: str, target: str, **options: Any) -> str:
        """Write a product or contract in format ``fmt``; ``target`` is a YAML file or a registered id."""
        from quanta.spec.formats import ProductExport, exporter

        writer = exporter(fmt)
        path = Path(target)
        if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
            validation = validate_files([path], known_products=self._known_for_export())
            validation.raise_for_errors()
            products = validation.products or validation.odps
            if products:
                return writer.export_product(self._product_export(products[0]), **options)
            return writer.export_contract(validation.contracts[0].contract, **options)
        product_id, _, version = target.partition("@")
        if product_id in self.registry.product_ids():
            product = DataProduct.model_validate(self.registry.descriptor(product_id, version or None))
            contracts = {
                name: Contract.model_validate(doc)
                for name, doc in self.registry.port_contracts(product_id, product.version).items()
            }
            return writer.export_product(
                self._fill_contract_ids(ProductExport(product, contracts)), **options
            )
        if self.registry.has_contract(product_id):
            return writer.export_contract(
                Contract.model_validate(self.registry.contract(product_id, version or None))
            )
        raise NotFoundError(
            f"{target!r} is neither a file nor a registered product or contract",
            hint="pass a path to a .yaml file, or an id from 'quanta ls'",
        )

    def _known_for_export(self) -> set[str]:
        if self.workspace is None:
            return set()
        try:
            return self.registry.product_ids() | {
                p.product.id for p in validate_files(self.workspace.descriptor_files()).products
            }
        except SpecError:
            return self.registry.product_ids()

    def _product_export(self, loaded: LoadedProduct) -> Any:
        from quanta.spec.formats import ProductExport

        contracts = {name: c.contract for name, c in loaded.contracts.items()}
        return self._fill_contract_ids(ProductExport(loaded.product, contracts))

    def _fill_contract_ids(self, export: Any) -> Any:
        """Input ports that read another product carry that product's output contract id (ODPS needs it)."""
        if self.workspace is None and self.settings.database_url is None:
            return export
        product: DataProduct = export.product
        for port in product.input_ports or []:
            if port.product and port.contract_id is None and port.product in self.registry.product_ids():
                upstream = self.registry.port_contracts(port.product)
                chosen = upstream.get(port.port or "") or next(iter(upstream.values()), None)
                if chosen is not None:
                    port.contract_id = chosen["id"]
        return export


def _dependency_order(products: list[LoadedProduct]) -> list[LoadedProduct]:
    """Upstream products first, so registration order matches how data flows."""
    by_id = {p.product.id: p for p in products}
    ordered: list[LoadedProduct] = []
    visiting: set[str] = set()

    def visit(loaded: LoadedProduct) -> None:
        pid = loaded.product.id
        if loaded in ordered or pid in visiting:
            return
        visiting.add(pid)
        for port in loaded.product.input_ports or []:
            if port.product in by_id:
                visit(by_id[port.product])
        ordered.append(loaded)

    for loaded in products:
        visit(loaded)
    return ordered
