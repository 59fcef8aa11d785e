"""Specs of data products (ODPS-aligned) and data contracts (ODCS 3.1/3.2), with positioned validation.

The names below load on first use: reading a YAML file (``quanta.spec.yamlsource``, what every command
does with ``quanta.yaml``) does not build the pydantic models of products and contracts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta.lazy import lazy_names

if TYPE_CHECKING:
    from quanta.spec.contract import Contract
    from quanta.spec.loader import LoadedContract, LoadedProduct
    from quanta.spec.product import DataProduct
    from quanta.spec.validation import Validation, validate_files

_HOME = {
    "Contract": "quanta.spec.contract",
    "LoadedContract": "quanta.spec.loader",
    "LoadedProduct": "quanta.spec.loader",
    "DataProduct": "quanta.spec.product",
    "Validation": "quanta.spec.validation",
    "validate_files": "quanta.spec.validation",
}

__all__ = ["Contract", "DataProduct", "LoadedContract", "LoadedProduct", "Validation", "validate_files"]

__getattr__ = lazy_names(__name__, _HOME)
