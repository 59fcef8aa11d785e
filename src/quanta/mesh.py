"""The ``Mesh`` facade: the one object every interface (CLI, API, web, SDK) calls.

It wires the workspace, the specs and the registry together; interfaces only translate between their
protocol and these methods. The core never prints: results come back as data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.errors import NotFoundError, Problem, SpecError, WorkspaceError
from quanta.mesh_discovery import MeshDiscovery
from quanta.mesh_grants import MeshGrants
from quanta.mesh_kpis import MeshKpis
from quanta.mesh_lineage import MeshLineage
from quanta.mesh_maturity import MeshMaturity
from quanta.mesh_observability import MeshObservability
from quanta.mesh_versions import older_version_problems
from quanta.settings import Settings
from quanta.spec import Contract, DataProduct, LoadedProduct, Validation, validate_files
from quanta.spec.diff import Change, diff
from quanta.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.build.events import BuildObserver
    from quanta.build.runner import BuildResult
    from quanta.build.scheduler import Schedule
    from quanta.contracts import Run
    from quanta.contracts.selection import Selection, TestOptions

    # SQLAlchemy is a quarter of a second to import: only commands that touch the registry pay for it.
    from quanta.registry import ProductSummary, Registration, Registry, VersionInfo
    from quanta.registry.stores.publishing import PublishRecord, RunRecord
    from quanta.storage import Quarantined, Warehouse


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
class CiReport:
    """What ``quanta ci`` found: lint problems, contract gates, and test runs of published data."""

    problems: list[Any]
    gates: list[tuple[str, Any]]
    tests: dict[str, Any]

    @property
    def ok(self) -> bool:
        lint = not any(p.severity == "error" for p in self.problems)
        return lint and all(g.allowed for _, g in self.gates) and all(r.passed for r in self.tests.values())


@dataclass(frozen=True)
class _Breaking:
    product_id: str
    port: str
    gate: Any


@dataclass(frozen=True)
class ProductView:
    """Everything the registry knows about a product, for ``quanta show`` and the product page."""

    summary: ProductSummary
    descriptor: dict[str, Any]
    contracts: dict[str, dict[str, Any]]
    versions: list[VersionInfo]
    consumers: list[str]


class Mesh(MeshGrants, MeshDiscovery, MeshObservability, MeshLineage, MeshMaturity, MeshKpis):
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
        from quanta.registry import Registry

        return Registry.open(url)

    @cached_property
    def warehouse(self) -> Warehouse:
        from quanta.storage import Warehouse

        workspace = self._workspace()
        return Warehouse(self.registry.url, workspace.state_dir / "warehouse")

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

    def validate(self, paths: list[Path] | None = None, *, lenient: bool = False) -> Validation:
        """Validate descriptors and contracts; references may point at products already registered.
        ``lenient``: a contract's official-schema findings are warnings when it can still be modelled."""
        if self.workspace is None:
            return validate_files(self.files(paths), lenient=lenient)
        known = self.registry.product_ids()
        if not paths:
            validation = validate_files(self.files(), known, lenient=lenient)
        else:
            # Check the chosen files in the context of the whole workspace (references, duplicate ids),
            # then report only what concerns them.
            chosen = self.files(paths)
            selected = {p.resolve() for p in chosen}
            everything = [*chosen, *(f for f in self.files() if f.resolve() not in selected)]
            validation = validate_files(everything, known, lenient=lenient).restricted_to(selected)
        # Policies judge valid products: a document with errors gets those fixed first.
        broken = [Path(p.source).resolve() for p in validation.errors if p.source]
        valid = [
            p
            for p in validation.products
            if not any(b.is_relative_to(p.path.resolve().parent) for b in broken)
        ]
        validation.problems += self.policy_problems(valid)
        validation.problems += self.lineage_problems(valid)
        validation.problems += older_version_problems(self.registry, validation.products)
        return validation

    def apply(self, paths: list[Path] | None = None, *, validation: Validation | None = None) -> ApplyReport:
        """Validate (unless given a validation of the whole workspace), then register every changed
        product as a new immutable version, in one transaction."""
        validation = validation or self.validate(paths)
        validation.raise_for_errors()
        ordered = _dependency_order(validation.products)
        self._may_publish(
            [p.product for p in ordered if not self._registered(p.product.id, p.product.version)]
        )
        breaking = self._breaking_changes(ordered)
        registrations = self.registry.register_all(
            [(p.product, {name: c.contract for name, c in p.contracts.items()}) for p in ordered],
            self.settings.user,
        )
        self._record_lineage(ordered, registrations)
        for result in breaking:
            for consumer in self.registry.consumers(result.product_id):
                self.registry.append_event(
                    "contract.breaking_change",
                    consumer,
                    self.settings.user,
                    {
                        "upstream": result.product_id,
                        "contract": result.gate.contract_id,
                        "from": result.gate.old_version,
                        "to": result.gate.new_version,
                        "changes": [f"{c.path}: {c.reason or c.kind}" for c in result.gate.breaking],
                    },
                )
        changed = [r.product_id for r in registrations if r.status != "unchanged"]
        self.keep_search_current(changed)  # an index exists: keep it current (else built on first search)
        applied = []
        for loaded, registration in zip(ordered, registrations, strict=True):
            previous = registration.previous_descriptor
            changes = diff(previous, loaded.product.to_dict()) if previous is not None else []
            applied.append(Applied(registration, self._relative(loaded.path), changes))
        return ApplyReport(applied, validation.warnings)

    def _registered(self, product_id: str, version: str | None) -> bool:
        try:
            return any(v.version == version for v in self.registry.versions(product_id))
        except NotFoundError:
            return False

    def _may_publish_id(self, product_id: str) -> None:
        from quanta.errors import PermissionDenied

        actor, domain = self.principal(), self.product_facts(product_id).domain
        if not actor.can("publish", domain):
            raise PermissionDenied(
                f"{actor.id} may not manage {product_id}'s versions or quarantine",
                hint=f"producers and owners of domain {domain} can",
            )

    def _may_publish(self, products: list[DataProduct]) -> None:
        """The acting principal may register and publish these products (the role matrix)."""
        from quanta.governance.model import GovernanceError

        actor = self.principal()
        refused = sorted(
            p.id for p in products if not actor.can("publish", p.domain or p.id.partition(".")[0])
        )
        if refused:
            raise GovernanceError(
                f"{actor.id} may not publish {', '.join(refused)}",
                hint="producers and domain owners publish in their own domains (governance.yaml)",
            )

    def _breaking_changes(self, products: list[LoadedProduct]) -> list[_Breaking]:
        """Compare each contract with its registered version: breaking changes need a major bump
        (refused otherwise); allowed ones are returned so consumers can be told."""
        from quanta.contracts.gate import gate, refusal
        from quanta.errors import RegistryError

        refused, allowed = [], []
        for loaded in products:
            for port, new in loaded.contracts.items():
                contract = new.contract
                if not self.registry.has_contract(contract.id):
                    continue
                old = Contract.model_validate(self.registry.contract(contract.id))
                if old.version == contract.version:
                    continue  # same version: the registry refuses changed content on its own
                result = gate(old, contract)
                if not result.allowed:
                    refused.append(result)
                elif result.breaking:
                    allowed.append(_Breaking(loaded.product.id, port, result))
        if refused:
            raise RegistryError(
                refusal(refused),
                hint=f"bump the contract to {refused[0].suggested} (and the product's major version), "
                "or make the change compatible; see quanta diff",
            )
        return allowed

    def ci(self, *, lenient: bool = False) -> CiReport:
        """Everything a pipeline checks before merging: lint, breaking changes, tests of published data."""
        from quanta.contracts.gate import gate

        validation = self.validate(lenient=lenient)
        gates = []
        for loaded in validation.products:
            for new in loaded.contracts.values():
                if self.registry.has_contract(new.contract.id):
                    old = Contract.model_validate(self.registry.contract(new.contract.id))
                    if old.version != new.contract.version or old.to_dict() != new.contract.to_dict():
                        gates.append((str(new.path), gate(old, new.contract)))
        tests: dict[str, Any] = {}
        if validation.ok:
            for product in self.products():
                if self.registry.current_publish(product.id) is not None:
                    tests[product.id] = self._test_product(product.id, _all_checks())
        return CiReport(validation.problems, gates, tests)

    def diff(self, old: str, new: str) -> list[Any]:
        """Classified changes between two contracts (files, or registered ids with @version)."""
        from quanta.contracts.changes import classify

        return list(classify(self._contract(old), self._contract(new)))

    def _contract(self, ref: str) -> Contract:
        path = Path(ref)
        if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
            from quanta.spec.loader import load_contract

            return load_contract(path).contract
        contract_id, _, version = ref.partition("@")
        if self.workspace is None and self.settings.database_url is None:
            raise NotFoundError(
                f"no contract file {ref!r}", hint="pass a .odcs.yaml file or run inside a workspace"
            )
        return Contract.model_validate(self.registry.contract(contract_id, version or None))

    def _relative(self, path: Path) -> str:
        return self.workspace.relative(path) if self.workspace else str(path)

    # --- catalog --------------------------------------------------------------------------------

    def products(
        self, domain: str | None = None, type: str | None = None, status: str | None = None
    ) -> list[ProductSummary]:
        return self.registry.products(domain=domain, type=type, status=status)

    def product(self, ref: str) -> ProductView:
        """A registered product by id (the version consumers read, else the latest registered one),
        optionally ``id@version``."""
        product_id, _, version = ref.partition("@")
        self.registry.descriptor(product_id)  # an unknown id: the helpful NotFoundError
        [summary] = self.registry.products(ids=[product_id])
        descriptor = self.registry.descriptor(product_id, version or summary.served_version)
        contracts = self._immutable(  # a registered version never changes
            ("contracts", product_id, descriptor.get("version")),
            lambda: self.registry.port_contracts(product_id, descriptor.get("version")),
        )
        return ProductView(
            summary=summary,
            descriptor=descriptor,
            contracts=contracts,
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
            contract = Contract.model_validate(self.registry.contract(product_id, version or None))
            return writer.export_contract(contract, **options)
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

    # --- build and publish ----------------------------------------------------------------------

    def build(
        self,
        selectors: list[str] | None = None,
        *,
        force: bool = False,
        trigger: str = "manual",
        progress: Callable[[str, str], None] | None = None,
        workers: int = 2,
    ) -> list[BuildResult]:
        """Validate and register what the selected products need (them and their inputs: another
        domain's broken or unregistered file does not stop them), then build them in dependency
        order, independent ones in parallel; products downstream of a failure are not built."""
        from concurrent.futures import ThreadPoolExecutor

        from quanta.build.planner import layers, upstream
        from quanta.build.runner import BuildContext, BuildResult, build_product
        from quanta.build.scope import needed

        validation, chosen = needed(self.validate(), selectors or [])
        validation.raise_for_errors()
        self.apply(validation=validation)
        self._may_publish([p.product for p in validation.products if p.product.id in chosen])
        ctx = BuildContext(
            self.registry,
            self.warehouse,
            self._workspace().root,
            self.settings.user,
            force=force,
            trigger=trigger,
            progress=progress,
            policies=self.policies,
            observers=self.build_observers(),
            maturity=self.maturity_for_build,
        )
        results: dict[str, BuildResult] = {}
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for layer in layers(validation.products, chosen):
                runnable = []
                for loaded in layer:
                    broken = sorted(
                        u for u in upstream(loaded) if results.get(u) and results[u].status == "failed"
                    )
                    if broken:
                        results[loaded.product.id] = BuildResult(
                            loaded.product.id,
                            "not built",
                            "",
                            loaded.product.version or "",
                            error=f"upstream {', '.join(broken)} failed",
                            hint=f"fix {broken[0]} first, then: quanta build {broken[0]}+",
                        )
                    else:
                        runnable.append(loaded)
                for result in pool.map(lambda p: build_product(ctx, p), runnable):
                    results[result.product_id] = result
        return list(results.values())

    def build_observers(self) -> list[BuildObserver]:
        """Who hears of every build: incidents and alerts, OpenLineage, metrics, maturity scores."""
        found = (
            self.health_observer(),
            self.openlineage_observer(),
            self.metrics_observer(),
            self.maturity_observer(),
        )
        return [observer for observer in found if observer is not None]

    def schedules(self, now: datetime | None = None, *, healthy_only: bool = False) -> list[Schedule]:
        """Every scheduled product: last fire, next fire, and fire times due (missed ones included).
        An error in the workspace is raised, unless ``healthy_only``: then the products whose files
        and inputs are valid are listed (:meth:`schedule_problems` says what holds the others back)."""
        from quanta.build.scheduler import schedules
        from quanta.build.scope import healthy

        validation = self.validate()
        if not healthy_only:
            validation.raise_for_errors()
        ready = healthy(validation)
        crons = {
            p.product.id: p.product.build.schedule
            for p in validation.products
            if p.product.build and p.product.build.schedule and p.product.id in ready
        }
        return schedules(self.registry, crons, now or datetime.now(UTC))

    def schedule_problems(self) -> list[Problem]:
        """The errors in the workspace's descriptors that hold schedules back (positioned)."""
        return self.validate().errors

    def run_schedule(self, now: datetime | None = None, owner: str = "scheduler") -> list[BuildResult]:
        """Build every product whose schedule is due (once, however many fire times were missed);
        those with an error in their files or their inputs' wait (:meth:`schedule_problems`)."""
        from quanta.build.scheduler import claim

        due = [s for s in self.schedules(now, healthy_only=True) if s.due and claim(self.registry, s, owner)]
        if not due:
            return []
        return self.build([s.product_id for s in due], trigger="schedule")

    def test(
        self,
        target: str,
        *,
        server: str | None = None,
        kinds: set[str] | None = None,
        options: TestOptions | None = None,
    ) -> dict[str, Run]:
        """Test data against its contract: a contract file (on one of its ``servers``) or a registered
        product (its current publish). ``kinds`` limits the checks: schema, quality, sla; ``options``
        carries the rest of datacontract-cli's selection (dimension, quality ids, tags, row filters)."""
        from quanta.contracts.selection import Selection, TestOptions

        options = options or TestOptions()
        if kinds is not None:
            options = replace(options, selection=replace(options.selection, categories=kinds))
        path = Path(target)
        if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
            return self._test_file(path, None if server == "all" else server, options)
        if options.filter is not None or options.filters is not None:
            from quanta.contracts.overrides import FilterError

            raise FilterError("--filter/--filters apply to contract files", hint="test a contract file")
        return {target: self._test_product(target, options.selection or Selection())}

    def _test_file(self, path: Path, server_name: str | None, options: TestOptions) -> dict[str, Run]:
        from quanta.contracts.execute import scan_engine_options
        from quanta.contracts.overrides import (
            filtered,
            json_format,
            log,
            only_object,
            row_filters,
            unreadable,
            with_environment,
        )
        from quanta.contracts.servers import choose_server
        from quanta.engines import get_engine
        from quanta.engines.duckdb import DuckDBEngine
        from quanta.mesh_server_data import read_server, search_roots
        from quanta.spec.formats import importer
        from quanta.spec.loader import detect_kind, load_contract_text
        from quanta.spec.yamlsource import load_file

        doc = load_file(path)
        text = importer("dcs").import_text(doc.text, str(path)) if detect_kind(doc) == "dcs" else doc.text
        # What the official schema refuses but the data checks can still run with (datacontract-cli
        # runs it) becomes a warning of the run, not a refusal.
        loaded = load_contract_text(text, str(path), lenient=True)
        contract = loaded.contract
        server = with_environment(choose_server(contract, server_name))
        contract = only_object(contract, options.schema_name)
        predicates = row_filters(contract, options.filter, options.filters)
        engine = get_engine(**scan_engine_options())
        assert isinstance(engine, DuckDBEngine)
        roots = search_roots(path.parent, Path.cwd())
        found = read_server(contract, server, roots, engine, json_format(server))
        inputs = found.inputs
        for name, data in inputs.items():
            log.info("server %r: object %r reads %s", server.server, name, data)
        for name, predicate in predicates.items():
            inputs[name] = filtered(engine, name, inputs[name], predicate)
            log.info("object %r: only rows where %s", name, predicate)
        # Parquet footers answer null-count and bound rules without a scan, but not of filtered rows.
        stats = {name: known for name, known in found.stats.items() if name not in predicates}
        broken = {name: check for name, data in inputs.items() if (check := unreadable(engine, name, data))}
        inputs = {name: data for name, data in inputs.items() if name not in broken}
        run = _run_all(contract, engine, inputs, stats, options.selection, None, options.samples)
        reading = [c for c in found.checks if options.selection.keeps(c)]
        run.checks[:0] = [*(_schema_warning(p) for p in loaded.warnings), *broken.values(), *reading]
        run.notes += found.notes
        return {str(path): run}

    def _test_product(self, ref: str, selection: Selection) -> Run:
        from quanta.engines import get_engine

        product_id, port, snapshot, publish = self.resolve(ref)
        contract = Contract.model_validate(self.registry.port_contracts(product_id, publish.version)[port])
        inputs = {**self._related_tables(contract, product_id)}
        inputs.update(
            {obj.name: self.warehouse.scan(product_id, port, snapshot) for obj in contract.objects[:1]}
        )
        stats = {contract.objects[0].name: self.warehouse.column_stats(product_id, port, snapshot)}
        history = [p.created_at for p in self.registry.publishes(product_id)]
        run = _run_all(contract, get_engine(), inputs, stats, selection, history)
        # Every test of published data is remembered, for observability and maturity scoring.
        self.registry.append_event(
            "contract.tested",
            product_id,
            self.settings.user,
            {
                "run": publish.run_id,
                "version": publish.version,
                "snapshot": snapshot,
                "passed": run.passed,
                "summary": run.summary(),
                "checks": [c.to_dict() for c in run.checks],
            },
        )
        return run

    def _related_tables(self, contract: Contract, product_id: str) -> dict[str, Any]:
        """Tables that relationships point to (``to: customers.customer_id``), found among the other
        products by the name of their contract's schema object; ambiguous names are left out."""
        from quanta.contracts.aggregates import relationship_metrics

        wanted = {table for obj in contract.objects for _, table in relationship_metrics(obj)}
        found: dict[str, list[tuple[str, str]]] = {}
        for other in self.products():
            if other.id == product_id or not wanted:
                continue
            for port, document in self.registry.port_contracts(other.id).items():
                for obj in document.get("schema") or []:
                    if obj.get("name") in wanted:
                        found.setdefault(obj["name"], []).append((other.id, port))
        tables: dict[str, Any] = {}
        for name, owners in found.items():
            if len(owners) == 1 and self.registry.current_publish(owners[0][0]) is not None:
                other_id, port = owners[0]
                _, _, snapshot, _ = self.resolve(other_id)
                tables[name] = self.warehouse.scan(other_id, port, snapshot)
        return tables

    def runs(self, product_id: str | None = None, limit: int = 50) -> list[RunRecord]:
        return self.registry.runs(product_id, limit)

    def publishes(self, product_id: str) -> list[PublishRecord]:
        self.registry.descriptor(product_id)  # raises a helpful NotFoundError for unknown ids
        return self.registry.publishes(product_id)

    def resolve(self, ref: str) -> tuple[str, str, int, PublishRecord]:
        """``id``, ``id@version`` or ``id@ISO-time`` ► (product, port, snapshot, publish) to read."""
        from quanta.query.products import parse_ref

        parsed = parse_ref(ref)
        if parsed is None:
            raise NotFoundError(f"{ref!r} is not a product reference", hint="use domain.name[@version|@time]")
        product_id, at = parsed
        if not at:  # the common case: one row, not the whole history
            current = self.registry.current_publish(product_id)
            if current is None:
                raise NotFoundError(
                    f"{product_id} has no published data yet", hint=f"quanta build {product_id}"
                )
            port, snapshot = next(iter(current.snapshots.items()))
            return product_id, port, snapshot, current
        publishes = self.publishes(product_id)
        if not publishes:
            raise NotFoundError(f"{product_id} has no published data yet", hint=f"quanta build {product_id}")
        chosen = publishes[-1]
        if at:
            chosen = _pick_publish(publishes, at, product_id)
            retired = _retired_on(publishes, chosen, self._grace_days(product_id))
            if retired is not None and retired <= datetime.now(UTC):
                raise NotFoundError(
                    f"{product_id}@{chosen.version} is no longer readable: major version "
                    f"{_major(chosen.version)} was deprecated by {publishes[-1].version} and retired on "
                    f"{retired:%Y-%m-%d}",
                    hint=f"read {product_id} (now {publishes[-1].version}); 'quanta diff' shows what changed",
                )
        port, snapshot = next(iter(chosen.snapshots.items()))
        return product_id, port, snapshot, chosen

    def _grace_days(self, product_id: str) -> int:
        descriptor = self.registry.descriptor(product_id, None)
        for prop in descriptor.get("customProperties") or []:
            if prop.get("property") == "majorGraceDays" and str(prop.get("value")).isdigit():
                return int(prop["value"])
        return self.settings.major_grace_days

    def query(self, sql: str, *, limit: int | None = None, as_principal: str | None = None) -> pa.Table:
        """Run SQL over products by name through the governed query service (audited)."""
        return self.governed_query(sql, as_principal=as_principal, limit=limit).table

    def quarantine(self, product_id: str | None = None) -> list[Quarantined]:
        """Quarantined snapshots of the products the acting principal produces (unpublished data is
        its producers' business only)."""
        if product_id:
            self._may_publish_id(product_id)
        actor = self.principal()
        products = (
            [product_id] if product_id else [p.id for p in self.products() if actor.can("publish", p.domain)]
        )
        found: list[Quarantined] = []
        for pid in products:
            descriptor = self.registry.descriptor(pid)
            for port in descriptor.get("outputPorts") or []:
                found += self.warehouse.quarantined(pid, port["name"])
        return found

    def quarantined_run(self, product_id: str, run_id: str) -> tuple[Quarantined, RunRecord | None]:
        entry = next((q for q in self.quarantine(product_id) if q.run_id == run_id), None)
        if entry is None:
            raise NotFoundError(
                f"no quarantined run {run_id} for {product_id}", hint="see quanta quarantine ls"
            )
        run = next((r for r in self.registry.runs(product_id, 1000) if r.id == run_id), None)
        return entry, run

    def query_quarantine(self, product_id: str, run_id: str, sql: str) -> pa.Table:
        """Query a quarantined snapshot: the product's id in the SQL stands for the failed data."""
        from quanta.query.governed import parse_governed
        from quanta.query.products import QueryError, bind_products

        entry, _ = self.quarantined_run(product_id, run_id)  # checks the right to see it
        parse_governed(sql)  # the same refusals as any query: no files, no catalog, read-only
        rewritten, refs = bind_products(sql, {product_id})
        scan = self.warehouse.scan(product_id, entry.port, entry.snapshot_id)
        domain = product_id.partition(".")[0]
        self.registry.audit("quarantine.query", self.principal().id, product_id, "allow", domain=domain,
                            details={"sql": sql, "run": run_id})  # fmt: skip
        try:
            return self._governed.engine.query(rewritten, {ref.view: scan for ref in refs})
        except Exception as exc:  # translated once, here, without the storage paths
            raise QueryError(
                f"query failed: {self._governed.clean(str(exc))}", hint="check the SQL"
            ) from None

    def rollback(self, product_id: str, version: str) -> PublishRecord:
        """Make an earlier publish current again (recorded as a new publish, so history is kept)."""
        from dataclasses import replace

        self._may_publish_id(product_id)
        _, port, snapshot, target = self.resolve(f"{product_id}@{version}")
        record = replace(
            target,
            run_id="rollback-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f"),
            inputs={"rollback_of": target.run_id},
            created_at=datetime.now(UTC),
            created_by=self.settings.user,
        )
        self.registry.record_publish(record, event="product.rolled_back")
        self.warehouse.set_current(product_id, port, snapshot)
        return record


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


def _major(version: str) -> int:
    return int(version.lstrip("v").split(".")[0])


def _retired_on(publishes: list[PublishRecord], chosen: PublishRecord, grace_days: int) -> datetime | None:
    """When ``chosen`` stops being readable: ``grace_days`` after the first publish of a later major
    version (None while it is the current major)."""
    from datetime import timedelta

    later = [p for p in publishes if _major(p.version) > _major(chosen.version)]
    return later[0].created_at + timedelta(days=grace_days) if later else None


def _pick_publish(publishes: list[PublishRecord], at: str, product_id: str) -> PublishRecord:
    """The publish a version or a point in time refers to."""
    from quanta.spec.checks import is_semver

    if is_semver(at.lstrip("v")):
        matching = [p for p in publishes if p.version == at.lstrip("v")]
        if not matching:
            known = ", ".join(sorted({p.version for p in publishes}))
            raise NotFoundError(f"{product_id} has no published version {at}", hint=f"published: {known}")
        return matching[-1]
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise NotFoundError(
            f"{at!r} is neither a version nor a time", hint="use @1.2.0 or @2026-11-21T10:00:00"
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    before = [p for p in publishes if p.created_at <= when]
    if not before:
        raise NotFoundError(f"{product_id} had no published data at {at}", hint="pick a later time")
    return before[-1]


def _schema_warning(problem: Any) -> Any:
    """An official-schema finding that did not stop the test, as a warning check of the run."""
    from quanta.contracts import Check

    return Check(
        f"{problem.location}: {problem.message}", "lint", "warning", severity="warning", message=problem.hint
    )


def _all_checks() -> Selection:
    from quanta.contracts.selection import Selection

    return Selection()


def _run_all(
    contract: Contract,
    engine: Any,
    inputs: dict[str, Any],
    stats: dict[str, dict[str, Any]],
    selection: Selection,
    history: list[datetime] | None = None,
    samples: bool = True,
) -> Run:
    """Every object's checks, then the SLA checks, as far as ``selection`` keeps them. ``stats`` holds
    what metadata knows of each object's columns (by object name)."""
    from quanta.contracts import Run, check_object
    from quanta.contracts.sla import sla_checks

    run = Run(contract.id)
    contract = selection.apply(contract)
    for obj in contract.objects:
        if obj.name in inputs:
            found = check_object(
                contract, obj, engine, inputs[obj.name], stats.get(obj.name), related=inputs, samples=samples
            )
            run.checks += [c for c in found.checks if selection.keeps(c)]
    if selection.wants("sla") and not selection.metadata_only:
        run.checks += [c for c in sla_checks(contract, engine, inputs, history) if selection.keeps(c)]
    return run
