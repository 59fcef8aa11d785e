"""Lineage commands: `quanta lineage ID`, `quanta impact ID[.column]`, OpenLineage events."""

from __future__ import annotations

from quanta.interfaces.cli.app import app  # noqa: F401  (commands register on the one app)
