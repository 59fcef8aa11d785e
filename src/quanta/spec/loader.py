"""Turn YAML files into validated models, collecting every problem with its position."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from quanta.errors import Problem, SpecError
from quanta.spec.contract import Contract
from quanta.spec.product import DataProduct
from quanta.spec.standards import schema_for, validate_document
from quanta.spec.yamlsource import Document, JsonPath, load_file, parse_yaml


@dataclass
class LoadedContract:
    """A contract together with the document it was read from."""

    contract: Contract
    doc: Document

    @property
    def path(self) -> Path:
        return Path(self.doc.source)


@dataclass
class LoadedProduct:
    """A product descriptor, its document, and the contracts its output ports are bound to."""

    product: DataProduct
    doc: Document
    contracts: dict[str, LoadedContract] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.doc.source)

    @property
    def folder(self) -> Path:
        return self.path.parent


QUANTA_PRODUCT_KEYS = frozenset({"type", "owner", "build"})
QUANTA_PORT_KEYS = frozenset({"product", "source", "contract", "object", "port"})


def detect_kind(doc: Document) -> str:
    """``contract``, ``dcs`` (Data Contract Specification), ``product`` (a Quanta descriptor), ``odps``
    (a plain ODPS document, validated against the official schema only) or ``unknown``."""
    data = doc.data
    if not isinstance(data, dict):
        return "unknown"
    if data.get("kind") == "DataContract" or ("apiVersion" in data and "schema" in data):
        return "contract"
    if "dataContractSpecification" in data:
        return "dcs"
    if data.get("kind") == "DataProduct":
        ports = [
            p for key in ("inputPorts", "outputPorts") for p in data.get(key) or [] if isinstance(p, dict)
        ]
        quanta = QUANTA_PRODUCT_KEYS & set(data) or any(QUANTA_PORT_KEYS & set(p) for p in ports)
        return "product" if quanta or Path(doc.source).name == "product.yaml" else "odps"
    return "unknown"


def _require_mapping(doc: Document, what: str) -> dict[str, Any]:
    if not isinstance(doc.data, dict):
        got = "an empty file" if doc.data is None else f"a {type(doc.data).__name__}"
        raise SpecError([doc.problem((), f"expected {what} (a YAML mapping), got {got}")])
    return doc.data


def pydantic_problems(doc: Document, error: ValidationError, base: JsonPath = ()) -> list[Problem]:
    """Positioned problems from a pydantic error, with locations mapped onto the document's paths."""
    problems = []
    for item in error.errors():
        path = _data_path(doc.data, base, item["loc"])
        kind = item["type"]
        if kind == "extra_forbidden":
            message, hint = f"unknown field '{path[-1]}'", _did_you_mean(item, path)
        elif kind == "missing":
            message, hint = f"missing required field '{item['loc'][-1]}'", f"add '{item['loc'][-1]}:' here"
        elif kind == "literal_error":
            message, hint = f"{item.get('input')!r} is not allowed here", f"use {item['ctx']['expected']}"
        elif kind == "union_tag_invalid":
            message = f"unknown type {item.get('input', {}).get('type')!r}"
            hint = f"use one of: {item['ctx']['expected_tags']}"
        else:
            message, hint = item["msg"], None
        problems.append(doc.problem(path, message, hint))
    return problems


def _data_path(data: Any, base: JsonPath, loc: tuple[Any, ...]) -> JsonPath:
    """pydantic locations include union tags and model names; keep only what exists in the data."""
    node, path = data, list(base)
    for part in base:
        node = _child(node, part)
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and part not in node and isinstance(part, str) and part == loc[-1]:
            path.append(part)
    return tuple(path)


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _did_you_mean(item: Any, path: JsonPath) -> str:
    import difflib

    from quanta.spec.product import DataProduct

    vocabulary: set[str] = set()
    for model in _all_models(DataProduct):
        vocabulary.update(f.alias or name for name, f in model.model_fields.items())
    close = difflib.get_close_matches(str(path[-1]), sorted(vocabulary), n=1)
    return f"did you mean '{close[0]}'?" if close else "remove it, or move it under customProperties"


def _all_models(root: type[Any], seen: set[type[Any]] | None = None) -> set[type[Any]]:
    from pydantic import BaseModel

    seen = seen if seen is not None else set()
    if root in seen:
        return seen
    seen.add(root)
    for info in root.model_fields.values():
        for arg in _type_args(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                _all_models(arg, seen)
    return seen


def _type_args(tp: Any) -> list[Any]:
    from typing import get_args

    args = list(get_args(tp))
    out = [tp]
    for arg in args:
        out.extend(_type_args(arg))
    return out


def load_contract_doc(doc: Document) -> LoadedContract:
    """Validate a contract document against the official ODCS schema of its apiVersion, then model it."""
    data = _require_mapping(doc, "an ODCS data contract")
    api_version = data.get("apiVersion")
    schema_file, reason = schema_for("odcs", api_version if isinstance(api_version, str) else None)
    if schema_file is None:
        raise SpecError(
            [doc.problem(("apiVersion",), f"unsupported ODCS apiVersion {api_version!r}", reason)]
        )
    problems = validate_document(doc, schema_file)
    if problems:
        raise SpecError(problems)
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        raise SpecError(pydantic_problems(doc, exc)) from None
    return LoadedContract(contract, doc)


def load_product_doc(doc: Document) -> DataProduct:
    """Model a product descriptor; every field error at once, positioned."""
    data = _require_mapping(doc, "a data product descriptor")
    try:
        return DataProduct.model_validate(data)
    except ValidationError as exc:
        raise SpecError(pydantic_problems(doc, exc)) from None


def load_odps_doc(doc: Document) -> LoadedProduct:
    """A plain ODPS document: official schema first, then read as a descriptor (Quanta fields lifted)."""
    from quanta.spec.formats.odps import from_odps

    data = _require_mapping(doc, "an ODPS data product")
    schema_file, reason = schema_for(
        "odps", data.get("apiVersion") if isinstance(data.get("apiVersion"), str) else None
    )
    if schema_file is None:
        raise SpecError(
            [doc.problem(("apiVersion",), f"unsupported ODPS apiVersion {data.get('apiVersion')!r}", reason)]
        )
    problems = validate_document(doc, schema_file)
    if problems:
        raise SpecError(problems)
    try:
        return LoadedProduct(DataProduct.model_validate(from_odps(data)), doc)
    except ValidationError as exc:
        raise SpecError(pydantic_problems(doc, exc)) from None


def load_contract(path: Path) -> LoadedContract:
    return load_contract_doc(load_file(path))


def load_contract_text(text: str, source: str = "<input>") -> LoadedContract:
    return load_contract_doc(parse_yaml(text, source))
