"""Importers and exporters, registered lazily by name (``quanta import FORMAT`` / ``quanta export FORMAT``).

A format is a class in its own module; the registry maps a name to ``module:Class`` so that nothing
is imported until the format is used. Third parties add formats through the ``quanta.formats``
entry point group.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from quanta.errors import FormatError
from quanta.plugins import PluginRegistry
from quanta.spec.contract import Contract
from quanta.spec.product import DataProduct

EXPORTERS: dict[str, str] = {
    "odcs": "quanta.spec.formats.odcs:OdcsFormat",
    "odps": "quanta.spec.formats.odps:OdpsFormat",
    "jsonschema": "quanta.spec.formats.jsonschema:JsonSchemaExporter",
    "sql": "quanta.spec.formats.sql:SqlDdlExporter",
    "markdown": "quanta.spec.formats.markdown:MarkdownExporter",
}
IMPORTERS: dict[str, str] = {
    "odcs": "quanta.spec.formats.odcs:OdcsFormat",
    "odps": "quanta.spec.formats.odps:OdpsFormat",
    "dcs": "quanta.spec.formats.dcs:DcsImporter",
}


@dataclass
class ProductExport:
    """A product with the contracts of its output ports, ready to be written in some format."""

    product: DataProduct
    contracts: dict[str, Contract] = field(default_factory=dict)


class Exporter(ABC):
    """Writes a contract or a product in one format."""

    name: ClassVar[str]
    options: ClassVar[dict[str, str]] = {}

    @abstractmethod
    def export_contract(self, contract: Contract, **options: Any) -> str: ...

    def export_product(self, export: ProductExport, **options: Any) -> str:
        """By default, a product exports as the concatenation of its contracts."""
        parts = [self.export_contract(c, **options) for c in export.contracts.values()]
        return "\n".join(parts)


class Importer(ABC):
    """Reads a document in one format and returns it as Quanta-native YAML text."""

    name: ClassVar[str]

    @abstractmethod
    def import_text(self, text: str, source: str) -> str: ...


def _load(table: dict[str, str], name: str, what: str) -> Any:
    registry: PluginRegistry[Any] = PluginRegistry("quanta.formats", table)
    found = registry.find(name)
    if found is None:
        raise FormatError(
            f"unknown {what} format {name!r}", hint=f"use one of: {', '.join(registry.names())}"
        )
    return found()


def exporter(name: str) -> Exporter:
    instance: Exporter = _load(EXPORTERS, name, "export")
    return instance


def importer(name: str) -> Importer:
    instance: Importer = _load(IMPORTERS, name, "import")
    return instance
