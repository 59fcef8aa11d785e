"""Specs of data products (ODPS-aligned) and data contracts (ODCS 3.1/3.2), with positioned validation.

The names below load on first use: reading a YAML file (``quanta.spec.yamlsource``, what every command
does with ``quanta.yaml``) does not build the pydantic models of products and contracts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module 'quanta.spec' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value
