"""DATSIS maturity scoring in the ``Mesh`` facade: Discoverable, Addressable, Trustworthy,
Self-describing, Interoperable and Secure, each criterion explained.

A mixin of :class:`quanta.mesh.Mesh`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.registry import Registry
    from quanta.settings import Settings
    from quanta.workspace import Workspace


class MeshMaturity:
    """Mixin of ``Mesh``."""

    workspace: Workspace | None
    settings: Settings

    if TYPE_CHECKING:  # provided by Mesh; declared here for the type checker only

        @property
        def registry(self) -> Registry: ...
