"""`quanta score [ID]`: DATSIS maturity, criterion by criterion."""

from __future__ import annotations

from quanta.interfaces.cli.app import app  # noqa: F401  (commands register on the one app)
