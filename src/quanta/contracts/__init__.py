"""Testing data against contracts: rules compiled into as few scans as possible; results are data."""

from quanta.contracts.checks import compile_metrics, check_object
from quanta.contracts.run import Check, Run

__all__ = ["Check", "Run", "compile_metrics", "check_object"]
