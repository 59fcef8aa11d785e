"""Validate a set of files as one mesh: each document, then the references between them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from quanta.errors import Problem, SpecError
from quanta.spec.checks import check_contract, check_product, contract_files
from quanta.spec.loader import (
    LoadedContract,
    LoadedProduct,
    detect_kind,
    load_contract_doc,
    load_odps_doc,
    load_product_doc,
    not_a_mapping,
)
from quanta.spec.rule_references import Scope, Tables, columns_of, reference_problems
from quanta.spec.yamlsource import Document, load_file


@dataclass
class Validation:
    """What a set of files holds and every problem found in it."""

    products: list[LoadedProduct] = field(default_factory=list)
    contracts: list[LoadedContract] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    odps: list[LoadedProduct] = field(default_factory=list)
    """Plain ODPS documents (not Quanta descriptors): checked against the official schema only."""
    lenient: bool = False
    """Contracts' official-schema findings are warnings when the contract can still be modelled."""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def restricted_to(self, files: set[Path]) -> Validation:
        """The part of this validation that concerns ``files`` (resolved paths)."""

        def inside(source: str | None) -> bool:
            return source is not None and Path(source).resolve() in files

        chosen = [p for p in self.products if p.path.resolve() in files]
        # A product's contracts and transform file belong to it: their problems are its problems.
        bound = {c.path.resolve() for p in chosen for c in p.contracts.values()} | {
            f.resolve() for p in chosen for f in p.transform_files
        }
        return Validation(
            products=chosen,
            contracts=[c for c in self.contracts if c.path.resolve() in files | bound],
            problems=[
                p
                for p in self.problems
                if inside(p.source) or (p.source and Path(p.source).resolve() in bound)
            ],
            files=len(files),
            odps=[p for p in self.odps if p.path.resolve() in files],
        )

    def raise_for_errors(self) -> None:
        if not self.ok:
            raise SpecError(self.problems)


def validate_files(
    files: Iterable[Path], known_products: Iterable[str] = (), *, lenient: bool = False
) -> Validation:
    """Load and check every file; products may reference each other and ``known_products``."""
    result = Validation(lenient=lenient)
    contracts_by_path: dict[Path, LoadedContract | None] = {}
    pending: list[LoadedProduct] = []
    for file in files:
        result.files += 1
        if file.resolve() in contracts_by_path:
            continue  # already loaded (and reported) as the contract of a product
        try:
            doc = load_file(file)
            if not isinstance(doc.data, dict):
                contracts_by_path[file.resolve()] = None
                result.problems.append(not_a_mapping(doc))
                continue
            kind = detect_kind(doc)
            if kind == "product":
                pending.append(_load_product(doc, contracts_by_path, result))
            elif kind == "odps":
                result.odps.append(load_odps_doc(doc))
            elif kind == "contract":
                _load_contract_once(file, contracts_by_path, result, doc)
            elif kind == "dcs":
                result.problems.append(
                    doc.problem(
                        (), "this is a Data Contract Specification file", "convert it: quanta import dcs FILE"
                    )
                )
            else:
                result.problems.append(
                    doc.problem(
                        (),
                        "not a Quanta data product or ODCS data contract",
                        "set 'kind: DataProduct' or 'kind: DataContract'",
                    )
                )
        except SpecError as exc:
            contracts_by_path.setdefault(file.resolve(), None)
            result.problems.extend(exc.problems)
    known = {*known_products, *(p.product.id for p in pending)}
    for loaded in pending:
        result.problems.extend(check_product(loaded, known))
    result.products = pending
    result.contracts = [c for c in contracts_by_path.values() if c is not None]
    result.problems.extend(_cross_file_problems(result))
    result.problems.extend(_rule_reference_problems(result))
    return result


def _rule_reference_problems(result: Validation) -> list[Problem]:
    """Rules and relationships naming columns or tables that do not exist, each contract judged
    with what its products' builds can read (input ports) and the other contracts' objects."""
    objects: Tables = {}
    for c in result.contracts:
        for obj in c.contract.objects:
            objects[obj.name.lower()] = (objects.get(obj.name.lower()) or set()) | columns_of(obj)
    inputs: dict[int, Tables] = {}
    for p in result.products:
        ports: Tables = {port.name.lower(): None for port in p.product.input_ports or []}
        for c in p.contracts.values():
            inputs[id(c)] = {**inputs.get(id(c), {}), **ports}
    problems = []
    for c in result.contracts:
        readable = inputs.get(id(c), {})
        problems += reference_problems(c, Scope(readable, objects, strict=id(c) in inputs))
    return problems


def _load_product(
    doc: Document, contracts_by_path: dict[Path, LoadedContract | None], result: Validation
) -> LoadedProduct:
    product = load_product_doc(doc)
    loaded = LoadedProduct(product, doc)
    for port_name, path in contract_files(product, loaded.folder).items():
        index = next(i for i, p in enumerate(product.output_ports or []) if p.name == port_name)
        if not path.is_file():
            result.problems.append(
                doc.problem(
                    ("outputPorts", index, "contract"),
                    f"contract file {path.name!r} not found",
                    f"create {path} or fix the path (relative to {loaded.folder})",
                )
            )
            continue
        contract = _load_contract_once(path, contracts_by_path, result)
        if contract is not None:
            loaded.contracts[port_name] = contract
    return loaded


def _load_contract_once(
    path: Path, cache: dict[Path, LoadedContract | None], result: Validation, doc: Document | None = None
) -> LoadedContract | None:
    key = path.resolve()
    if key in cache:
        return cache[key]
    cache[key] = None
    try:
        loaded = load_contract_doc(doc or load_file(path), lenient=result.lenient)
    except SpecError as exc:
        result.problems.extend(exc.problems)
        return None
    result.problems.extend(loaded.warnings)
    result.problems.extend(check_contract(loaded))
    cache[key] = loaded
    return loaded


def _cycle_problems(products: list[LoadedProduct]) -> list[Problem]:
    """Input ports must form a DAG: a product cannot (indirectly) read its own output."""
    by_id = {p.product.id: p for p in products}
    state: dict[str, str] = {}
    problems: list[Problem] = []

    def visit(pid: str, trail: list[str]) -> None:
        state[pid] = "visiting"
        loaded = by_id[pid]
        for index, port in enumerate(loaded.product.input_ports or []):
            upstream = port.product
            if upstream not in by_id:
                continue
            if upstream == pid:
                continue  # reading itself is reported by the product checks
            if state.get(upstream) == "visiting":
                path = [*trail, pid]
                cycle = " ► ".join([*path[path.index(upstream) :], upstream])
                problems.append(
                    loaded.doc.problem(
                        ("inputPorts", index, "product"),
                        f"input ports form a cycle: {cycle}",
                        "break the cycle",
                    )
                )
            elif upstream not in state and upstream != pid:
                visit(upstream, [*trail, pid])
        state[pid] = "done"

    for pid in by_id:
        if pid not in state:
            visit(pid, [])
    return problems


def _cross_file_problems(result: Validation) -> list[Problem]:
    problems: list[Problem] = _cycle_problems(result.products)
    problems += _duplicate_ids(
        [(p.product.id, p.doc) for p in result.products], "product id", "rename one of them"
    )
    # Only contracts bound to products are registered, so only they must have mesh-unique ids;
    # loose contract files (e.g. several versions of one contract) may share an id.
    bound = {id(c): c for p in result.products for c in p.contracts.values()}
    problems += _duplicate_ids(
        [(c.contract.id, c.doc) for c in bound.values()], "contract id", "give every contract its own id"
    )
    return problems


def _duplicate_ids(items: list[tuple[str, Document]], what: str, hint: str) -> list[Problem]:
    """Each document whose id another document also uses, pointing at the other one(s)."""
    by_id: dict[str, list[Document]] = {}
    for key, doc in items:
        by_id.setdefault(key, []).append(doc)
    problems = []
    for key, docs in by_id.items():
        for doc in docs if len(docs) > 1 else []:
            others = ", ".join(d.source for d in docs if d is not doc)
            problems.append(doc.problem(("id",), f"{what} {key!r} is also used by {others}", hint))
    return problems
