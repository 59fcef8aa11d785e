"""Specs: the descriptors and contracts of a workspace (validate, apply, ci, diff, import, export).

An area of the :class:`~quanta.mesh.Mesh` facade over the shared :class:`~quanta.mesh.core.MeshCore`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.errors import NotFoundError, Problem, SpecError, WorkspaceError

if TYPE_CHECKING:
    from quanta.contracts import Run
    from quanta.contracts.changes import ContractChange
    from quanta.contracts.gate import GateResult
    from quanta.mesh.core import MeshCore
    from quanta.mesh.discovery import DiscoveryArea
    from quanta.mesh.governance import GovernanceArea
    from quanta.mesh.lineage import LineageArea
    from quanta.mesh.testing import TestingArea
    from quanta.registry import Registration
    from quanta.spec import Contract, DataProduct, LoadedProduct, Validation
    from quanta.spec.diff import Change
    from quanta.spec.formats import ProductExport


@dataclass(frozen=True)
class Applied:
    """One product after ``apply``: its registration outcome and what changed since the last version."""

    registration: Registration
    source: str
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class ApplyReport:
    applied: list[Applied]
    warnings: list[Problem]


@dataclass(frozen=True)
class CiReport:
    """What ``quanta ci`` found: lint problems, contract gates, and test runs of published data."""

    problems: list[Problem]
    gates: list[tuple[str, GateResult]]
    tests: dict[str, Run]

    @property
    def ok(self) -> bool:
        lint = not any(p.severity == "error" for p in self.problems)
        return lint and all(g.allowed for _, g in self.gates) and all(r.passed for r in self.tests.values())


@dataclass(frozen=True)
class CiRuns:
    """``quanta ci``'s findings as one ``Run`` per step: ``lint``, ``breaking-changes``, then
    ``test <product>`` for every published product."""

    ok: bool
    runs: dict[str, Run]


@dataclass(frozen=True)
class _Breaking:
    product_id: str
    port: str
    gate: GateResult


class SpecsArea:
    """Validate and register what the workspace's files say."""

    def __init__(
        self,
        core: MeshCore,
        governance: GovernanceArea,
        lineage: LineageArea,
        discovery: DiscoveryArea,
        testing: TestingArea,
    ) -> None:
        self.core = core
        self._governance, self._lineage, self._discovery, self._testing = (
            governance,
            lineage,
            discovery,
            testing,
        )

    def files(self, paths: list[Path] | None = None) -> list[Path]:
        if self.core.workspace is None:
            if not paths:
                raise WorkspaceError(
                    "not inside a workspace and no files given", hint="pass files to validate"
                )
            return [p for p in paths]
        return self.core.workspace.descriptor_files(paths)

    def validate(self, paths: list[Path] | None = None, *, lenient: bool = False) -> Validation:
        """Validate descriptors and contracts; references may point at products already registered.
        ``lenient``: a contract's official-schema findings are warnings when it can still be modelled."""
        from quanta.spec import validate_files

        if self.core.workspace is None:
            return validate_files(self.files(paths), lenient=lenient)
        known = self.core.registry.product_ids()
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
        validation.problems += self._governance.policy_problems(valid)
        validation.problems += self._lineage.lineage_problems(valid)
        from quanta.registry.versions import older_version_problems

        validation.problems += older_version_problems(self.core.registry, validation.products)
        return validation

    def apply(self, paths: list[Path] | None = None, *, validation: Validation | None = None) -> ApplyReport:
        """Validate (unless given a validation of the whole workspace), then register every changed
        product as a new immutable version, in one transaction."""
        from quanta.spec.diff import diff

        validation = validation or self.validate(paths)
        validation.raise_for_errors()
        ordered = _dependency_order(validation.products)
        self.core.may_publish(
            [p.product for p in ordered if not self._registered(p.product.id, p.product.version)]
        )
        breaking = self._breaking_changes(ordered)
        registrations = self.core.registry.register_all(
            [(p.product, {name: c.contract for name, c in p.contracts.items()}) for p in ordered],
            self.core.settings.user,
        )
        self._lineage.record_lineage(ordered, registrations)
        for result in breaking:
            for consumer in self.core.registry.consumers(result.product_id):
                self.core.registry.append_event(
                    "contract.breaking_change",
                    consumer,
                    self.core.settings.user,
                    {
                        "upstream": result.product_id,
                        "contract": result.gate.contract_id,
                        "from": result.gate.old_version,
                        "to": result.gate.new_version,
                        "changes": [f"{c.path}: {c.reason or c.kind}" for c in result.gate.breaking],
                    },
                )
        changed = [r.product_id for r in registrations if r.status != "unchanged"]
        self._discovery.keep_search_current(
            changed
        )  # an index exists: keep it current (else built on first search)
        applied = []
        for loaded, registration in zip(ordered, registrations, strict=True):
            previous = registration.previous_descriptor
            changes = diff(previous, loaded.product.to_dict()) if previous is not None else []
            applied.append(Applied(registration, self.core.relative(loaded.path), changes))
        return ApplyReport(applied, validation.warnings)

    def _registered(self, product_id: str, version: str | None) -> bool:
        try:
            return any(v.version == version for v in self.core.registry.versions(product_id))
        except NotFoundError:
            return False

    def _breaking_changes(self, products: list[LoadedProduct]) -> list[_Breaking]:
        """Compare each contract with its registered version: breaking changes need a major bump
        (refused otherwise); allowed ones are returned so consumers can be told."""
        from quanta.contracts.gate import gate, refusal
        from quanta.errors import RegistryError
        from quanta.spec import Contract

        refused, allowed = [], []
        for loaded in products:
            for port, new in loaded.contracts.items():
                contract = new.contract
                if not self.core.registry.has_contract(contract.id):
                    continue
                old = Contract.model_validate(self.core.registry.contract(contract.id))
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
        from quanta.contracts.selection import Selection
        from quanta.spec import Contract

        validation = self.validate(lenient=lenient)
        gates = []
        for loaded in validation.products:
            for new in loaded.contracts.values():
                if self.core.registry.has_contract(new.contract.id):
                    old = Contract.model_validate(self.core.registry.contract(new.contract.id))
                    if old.version != new.contract.version or old.to_dict() != new.contract.to_dict():
                        gates.append((str(new.path), gate(old, new.contract)))
        tests: dict[str, Run] = {}
        if validation.ok:
            for product in self.core.registry.products():
                if self.core.registry.current_publish(product.id) is not None:
                    tests[product.id] = self._testing.test_product(product.id, Selection())
        return CiReport(validation.problems, gates, tests)

    def ci_runs(self, *, lenient: bool = False) -> CiRuns:
        """:meth:`ci` with lint problems and breaking-change gates as checks, like the data tests."""
        report = self.ci(lenient=lenient)
        return CiRuns(report.ok, {**_lint_run(report), **_gate_run(report), **_test_runs(report)})

    def diff(self, old: str, new: str) -> list[ContractChange]:
        """Classified changes between two contracts (files, or registered ids with @version)."""
        from quanta.contracts.changes import classify

        return list(classify(self._contract(old), self._contract(new)))

    def _contract(self, ref: str) -> Contract:
        from quanta.spec import Contract

        path = Path(ref)
        if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
            from quanta.spec.loader import load_contract

            return load_contract(path).contract
        contract_id, _, version = ref.partition("@")
        if self.core.workspace is None and self.core.settings.database_url is None:
            raise NotFoundError(
                f"no contract file {ref!r}", hint="pass a .odcs.yaml file or run inside a workspace"
            )
        return Contract.model_validate(self.core.registry.contract(contract_id, version or None))

    def import_document(self, fmt: str, file: Path) -> str:
        """Read ``file`` in format ``fmt``; returns Quanta-native YAML (ODCS for contracts)."""
        from quanta.spec.formats import importer

        reader = importer(fmt)
        if not file.is_file():
            raise NotFoundError(f"file not found: {file}", hint="check the path")
        return reader.import_text(file.read_text(encoding="utf-8"), str(file))

    def export(self, fmt: str, target: str, **options: object) -> str:
        """Write a product or contract in format ``fmt``; ``target`` is a YAML file or a registered id."""
        return self.export_checked(fmt, target, **options)[0]

    def export_checked(self, fmt: str, target: str, **options: object) -> tuple[str, list[Problem]]:
        """:meth:`export`, with the warnings about a file that still converts: a relationship to a
        property that does not exist (the official schema allows it; ``validate`` reports it)."""
        from quanta.spec import Contract, DataProduct, validate_files
        from quanta.spec.formats import ProductExport, exporter

        writer = exporter(fmt)
        path = Path(target)
        if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
            validation = validate_files([path], known_products=self._known_for_export())
            validation.problems = [_dangling_as_warning(p) for p in validation.problems]
            validation.raise_for_errors()
            products = validation.products or validation.odps
            if products:
                text = writer.export_product(self._product_export(products[0]), **options)
            else:
                text = writer.export_contract(validation.contracts[0].contract, **options)
            return text, validation.warnings
        product_id, _, version = target.partition("@")
        if product_id in self.core.registry.product_ids():
            product = DataProduct.model_validate(self.core.registry.descriptor(product_id, version or None))
            contracts = {
                name: Contract.model_validate(doc)
                for name, doc in self.core.registry.port_contracts(product_id, product.version).items()
            }
            product_export = self._fill_contract_ids(ProductExport(product, contracts))
            return writer.export_product(product_export, **options), []
        if self.core.registry.has_contract(product_id):
            contract = Contract.model_validate(self.core.registry.contract(product_id, version or None))
            return writer.export_contract(contract, **options), []
        raise NotFoundError(
            f"{target!r} is neither a file nor a registered product or contract",
            hint="pass a path to a .yaml file, or an id from 'quanta ls'",
        )

    def _known_for_export(self) -> set[str]:
        from quanta.spec import validate_files

        if self.core.workspace is None:
            return set()
        try:
            return self.core.registry.product_ids() | {
                p.product.id for p in validate_files(self.core.workspace.descriptor_files()).products
            }
        except SpecError:
            return self.core.registry.product_ids()

    def _product_export(self, loaded: LoadedProduct) -> ProductExport:
        from quanta.spec.formats import ProductExport

        contracts = {name: c.contract for name, c in loaded.contracts.items()}
        return self._fill_contract_ids(ProductExport(loaded.product, contracts))

    def _fill_contract_ids(self, export: ProductExport) -> ProductExport:
        """Input ports that read another product carry that product's output contract id (ODPS needs it)."""
        if self.core.workspace is None and self.core.settings.database_url is None:
            return export
        product: DataProduct = export.product
        for port in product.input_ports or []:
            if port.product and port.contract_id is None and port.product in self.core.registry.product_ids():
                upstream = self.core.registry.port_contracts(port.product)
                chosen = upstream.get(port.port or "") or next(iter(upstream.values()), None)
                if chosen is not None:
                    port.contract_id = chosen["id"]
        return export


def _lint_run(report: CiReport) -> dict[str, Run]:
    from quanta.contracts.run import Check, Run, Verdict

    lint = Run("lint")
    for p in report.problems:
        verdict: Verdict = "failed" if p.severity == "error" else "warning"
        lint.checks.append(
            Check(f"{p.location}: {p.message}", "lint", verdict, severity=p.severity, message=p.hint)
        )
    return {"lint": lint}


def _gate_run(report: CiReport) -> dict[str, Run]:
    from quanta.contracts.run import Check, Run

    gates = Run("breaking-changes")
    for _source, g in report.gates:
        message = "; ".join(f"{c.path}: {c.reason or c.kind}" for c in g.breaking) or None
        gates.checks.append(
            Check(
                f"{g.contract_id} {g.old_version} ► {g.new_version}",
                "breaking-change",
                "passed" if g.allowed else "failed",
                len(g.breaking),
                "major bump if breaking",
                message=message if not g.allowed else None,
            )
        )
    return {"breaking-changes": gates}


def _test_runs(report: CiReport) -> dict[str, Run]:
    return {f"test {pid}": run for pid, run in report.tests.items()}


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


def _dangling_as_warning(problem: Problem) -> Problem:
    """A relationship to a missing property does not stop an export: the document converts as it is."""
    if problem.path.endswith(".to") and problem.message.startswith("relationship points to"):
        return replace(problem, severity="warning")
    return problem
