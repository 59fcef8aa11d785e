"""ODPS 1.0 read and write.

A Quanta descriptor is ODPS plus a few platform fields. On export those fields travel as
``customProperties`` named ``quanta*``; on import they are lifted back, so a round trip is lossless.
"""

from __future__ import annotations

from typing import Any

from quanta.errors import FormatError
from quanta.spec.contract import Contract
from quanta.spec.formats import Exporter, Importer, ProductExport
from quanta.spec.formats.odcs import ensure_valid
from quanta.spec.yamlsource import dump_yaml, parse_yaml

# Quanta field ► customProperty name, per element.
_PRODUCT_EXTRAS = {"type": "quantaType", "owner": "quantaOwner", "build": "quantaBuild"}
_INPUT_EXTRAS = {
    "description": "quantaDescription",
    "product": "quantaProduct",
    "port": "quantaPort",
    "source": "quantaSource",
}
_OUTPUT_EXTRAS = {"contract": "quantaContractFile", "object": "quantaObject"}
_ODPS_ORDER = [
    "apiVersion",
    "kind",
    "id",
    "name",
    "version",
    "status",
    "domain",
    "tenant",
    "authoritativeDefinitions",
    "description",
    "customProperties",
    "tags",
    "inputPorts",
    "outputPorts",
    "managementPorts",
    "support",
    "team",
    "productCreatedTs",
]


class OdpsFormat(Exporter, Importer):
    name = "odps"

    def export_contract(self, contract: Contract, **options: Any) -> str:
        raise FormatError(
            "ODPS describes data products, not contracts",
            hint="export the product, or use 'odcs' for a contract",
        )

    def export_product(self, export: ProductExport, **options: Any) -> str:
        data = to_odps(export)
        ensure_valid(data, "odps", data.get("apiVersion", "v1.0.0"))
        return dump_yaml(data)

    def import_text(self, text: str, source: str) -> str:
        from quanta.spec.loader import load_odps_doc

        return dump_yaml(load_odps_doc(parse_yaml(text, source)).product.to_dict())


def to_odps(export: ProductExport) -> dict[str, Any]:
    """The product as an ODPS document; Quanta-only fields become ``quanta*`` custom properties."""
    data = export.product.to_dict()
    data.setdefault("apiVersion", "v1.0.0")
    data.setdefault("kind", "DataProduct")
    _move_out(data, _PRODUCT_EXTRAS)
    for port in data.get("inputPorts", []):
        _move_out(port, _INPUT_EXTRAS)
        port.setdefault("version", "latest")
        port.setdefault("contractId", _input_contract_id(port))
    for port in data.get("outputPorts", []):
        contract = export.contracts.get(port["name"])
        _move_out(port, _OUTPUT_EXTRAS)
        if contract is not None:
            port.setdefault("contractId", contract.id)
        port.setdefault("version", export.product.version or "1.0.0")
    return {key: data[key] for key in _ODPS_ORDER if key in data}


def from_odps(data: dict[str, Any]) -> dict[str, Any]:
    """An ODPS document as a Quanta descriptor, lifting ``quanta*`` custom properties back."""
    data = dict(data)
    _move_in(data, _PRODUCT_EXTRAS)
    data["inputPorts"] = [_move_in(dict(p), _INPUT_EXTRAS) for p in data.get("inputPorts", [])] or None
    data["outputPorts"] = [_move_in(dict(p), _OUTPUT_EXTRAS) for p in data.get("outputPorts", [])] or None
    return {k: v for k, v in data.items() if v is not None or k not in ("inputPorts", "outputPorts")}


def _input_contract_id(port: dict[str, Any]) -> str:
    for prop in port.get("customProperties", []):
        if prop["property"] == "quantaProduct":
            return f"{prop['value']}:{port['name']}"
    return f"external:{port['name']}"


def _move_out(element: dict[str, Any], extras: dict[str, str]) -> None:
    moved = [{"property": name, "value": element.pop(key)} for key, name in extras.items() if key in element]
    if moved:
        element["customProperties"] = [*element.get("customProperties", []), *moved]


def _move_in(element: dict[str, Any], extras: dict[str, str]) -> dict[str, Any]:
    names = {name: key for key, name in extras.items()}
    kept = []
    for prop in element.get("customProperties", []):
        if prop.get("property") in names:
            element[names[prop["property"]]] = prop.get("value")
        else:
            kept.append(prop)
    if "customProperties" in element:
        if kept:
            element["customProperties"] = kept
        else:
            del element["customProperties"]
    return element
