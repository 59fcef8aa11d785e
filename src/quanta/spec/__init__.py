"""Specs of data products (ODPS-aligned) and data contracts (ODCS 3.1/3.2), with positioned validation."""

from quanta.spec.contract import Contract
from quanta.spec.loader import LoadedContract, LoadedProduct
from quanta.spec.product import DataProduct
from quanta.spec.validation import Validation, validate_files

__all__ = ["Contract", "DataProduct", "LoadedContract", "LoadedProduct", "Validation", "validate_files"]
