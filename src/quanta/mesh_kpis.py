"""Platform KPIs, consumer feedback and Prometheus metrics in the ``Mesh`` facade.

A mixin of :class:`quanta.mesh.Mesh`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.build.events import BuildObserver
    from quanta.registry import Registry
    from quanta.settings import Settings
    from quanta.workspace import Workspace


class MeshKpis:
    """Mixin of ``Mesh``."""

    workspace: Workspace | None
    settings: Settings

    if TYPE_CHECKING:  # provided by Mesh; declared here for the type checker only

        @property
        def registry(self) -> Registry: ...

    def metrics_observer(self) -> BuildObserver | None:
        """The build observer for build metrics (None: none)."""
        return None
