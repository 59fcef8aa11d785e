"""Turn YAML files into validated models, collecting every problem with its position."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    warnings: list[Problem] = field(default_factory=list)
    """Official-schema findings a lenient load let through (the model could still be built)."""

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

    @property
    def transform_files(self) -> list[Path]:
        """The SQL or Python file the build transform names (whether or not it exists)."""
        transform = self.product.build.transform if self.product.build else None
        if transform is None:
            return []
        sql = (transform.sql or "").strip()
        files = [self.folder / sql] if sql.endswith(".sql") and "\n" not in sql else []
        if transform.python:
            files.append(self.folder / transform.python.partition(":")[0])
        return files


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


def not_a_mapping(doc: Document, what: str = "a mapping of fields") -> Problem:
    """The problem of a document whose top level is empty or not a mapping."""
    line, column = doc.locate(())
    if doc.data is None:
        message = "the file is empty (or holds only comments)"
    else:
        message = f"expected {what}, got a {type(doc.data).__name__}"
    return Problem(
        message,
        source=doc.source,
        line=line or 1,
        column=column or 1,
        hint="a product starts with 'kind: DataProduct', a contract with 'kind: DataContract'",
    )


def _require_mapping(doc: Document, what: str) -> dict[str, Any]:
    if not isinstance(doc.data, dict):
        raise SpecError([not_a_mapping(doc, f"{what} (a YAML mapping)")])
    return doc.data


def pydantic_problems(
    doc: Document, error: ValidationError, base: JsonPath = (), model: type[Any] | None = None
) -> list[Problem]:
    """Positioned problems from a pydantic error, with locations mapped onto the document's paths."""
    problems = []
    for item in error.errors():
        hint: str | None
        path = _data_path(doc.data, base, item["loc"])
        kind = item["type"]
        if kind == "extra_forbidden":
            message, hint = f"unknown field '{path[-1]}'", _did_you_mean(model or DataProduct, item["loc"])
        elif kind == "missing":
            message, hint = f"missing required field '{item['loc'][-1]}'", f"add '{item['loc'][-1]}:' here"
        elif kind == "literal_error":
            message, hint = f"{item.get('input')!r} is not allowed here", f"use {item['ctx']['expected']}"
        elif kind in (
            "string_type",
            "int_type",
            "bool_type",
            "float_type",
            "list_type",
            "dict_type",
            "model_type",
        ):
            expected = {
                "string": "a string",
                "int": "an integer",
                "bool": "true or false",
                "float": "a number",
                "list": "a list",
                "dict": "a mapping",
                "model": "a mapping",
            }[kind.removesuffix("_type")]
            message = f"expected {expected}, got {type(item.get('input')).__name__} {item.get('input')!r}"
            hint = "quote the value" if kind == "string_type" else None
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


def _did_you_mean(model: type[Any], loc: tuple[Any, ...]) -> str:
    """Suggest the closest field name of the model the unknown field sits in."""
    import difflib

    vocabulary = sorted(
        {f.alias or name for m in _models_at(model, loc[:-1]) for name, f in m.model_fields.items()}
    )
    # Never propose the very name that was refused (a union's other member may know it).
    close = difflib.get_close_matches(str(loc[-1]), [v for v in vocabulary if v != loc[-1]], n=1)
    return f"did you mean '{close[0]}'?" if close else "remove it, or move it under customProperties"


def _models_at(root: type[Any], loc: tuple[Any, ...]) -> list[type[Any]]:
    """The model class(es) a pydantic location points into (several while a union is unresolved)."""
    from pydantic import BaseModel

    models: list[type[Any]] = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        nested = [
            arg
            for m in models
            for name, f in m.model_fields.items()
            if part in (name, f.alias)
            for arg in _type_args(f.annotation)
            if isinstance(arg, type) and issubclass(arg, BaseModel)
        ]
        if not nested:
            # Not a field: a union tag such as 'file' picks the member whose literal ``type`` matches.
            nested = [m for m in models if _literal_tag(m) == part] or models
        models = nested
    return models


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


def _literal_tag(model: type[Any]) -> Any:
    from typing import get_args

    field = model.model_fields.get("type")
    args = get_args(field.annotation) if field is not None else ()
    return args[0] if len(args) == 1 else None


def _type_args(tp: Any) -> list[Any]:
    from typing import get_args

    args = list(get_args(tp))
    out = [tp]
    for arg in args:
        out.extend(_type_args(arg))
    return out


def validate_standard(
    doc: Document, kind: str, *, lenient: bool = False
) -> tuple[dict[str, Any], list[Problem]]:
    """Check a document against the official schema (``odcs`` or ``odps``) of its apiVersion. Strict:
    any finding raises; lenient: findings come back as warnings, for the caller to report."""
    data = _require_mapping(doc, f"an {kind.upper()} document")
    api_version = data.get("apiVersion")
    schema_file, reason = schema_for(kind, api_version if isinstance(api_version, str) else None)
    if schema_file is None:
        message = f"unsupported {kind.upper()} apiVersion {api_version!r}"
        raise SpecError([doc.problem(("apiVersion",), message, reason)])
    problems = validate_document(doc, schema_file)
    if problems and not lenient:
        raise SpecError(problems)
    return data, [replace(p, severity="warning") for p in problems]


def load_contract_doc(doc: Document, *, lenient: bool = False) -> LoadedContract:
    """Validate a contract document against the official ODCS schema of its apiVersion, then model it.
    ``lenient``: schema findings are warnings as long as the contract can still be modelled (what
    datacontract-cli accepts, such as ``delimiter`` on a local JSON server)."""
    data, warnings = validate_standard(doc, "odcs", lenient=lenient)
    try:
        return LoadedContract(Contract.model_validate(data), doc, warnings)
    except ValidationError as exc:
        causes = [replace(w, severity="error") for w in warnings]
        raise SpecError([*causes, *pydantic_problems(doc, exc)]) from None


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

    data, _ = validate_standard(doc, "odps")
    try:
        return LoadedProduct(DataProduct.model_validate(from_odps(data)), doc)
    except ValidationError as exc:
        raise SpecError(pydantic_problems(doc, exc)) from None


def load_contract(path: Path) -> LoadedContract:
    return load_contract_doc(load_file(path))


def load_contract_text(text: str, source: str = "<input>", *, lenient: bool = False) -> LoadedContract:
    return load_contract_doc(parse_yaml(text, source), lenient=lenient)
