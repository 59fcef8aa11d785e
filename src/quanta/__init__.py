"""Quanta: a self-serve data mesh platform."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from quanta.sdk import Client

__version__ = "0.1.0"


def connect(
    url: str | None = None,
    *,
    token: str | None = None,
    workspace: str | Path | None = None,
    transport: str = "auto",
) -> Client:
    """The Python SDK: ``quanta.connect()`` in process, ``quanta.connect(url, token=...)`` remote (data
    over Arrow Flight SQL when the server serves it; ``transport='http'`` or ``'flight'`` to choose)."""
    from quanta.sdk import connect as _connect

    return _connect(url, token=token, workspace=workspace, transport=transport)
