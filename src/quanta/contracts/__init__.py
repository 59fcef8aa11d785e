"""Testing data against contracts: rules compiled into as few scans as possible; results are data."""

from quanta.contracts.aggregates import compile_metrics
from quanta.contracts.execute import check_object
from quanta.contracts.run import Check, Run

__all__ = ["Check", "Run", "check_object", "compile_metrics"]
