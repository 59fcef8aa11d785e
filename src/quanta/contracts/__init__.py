"""Testing data against contracts: rules compiled into as few scans as possible; results are data."""

from quanta.contracts.checks import check_object, compile_metrics
from quanta.contracts.run import Check, Run

__all__ = ["Check", "Run", "check_object", "compile_metrics"]
