"""Health of every product in the ``Mesh`` facade: run history, freshness against SLAs, anomalies,
incidents and alert sinks.

A mixin of :class:`quanta.mesh.Mesh`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.build.events import BuildObserver
    from quanta.registry import Registry
    from quanta.settings import Settings
    from quanta.workspace import Workspace


class MeshObservability:
    """Mixin of ``Mesh``."""

    workspace: Workspace | None
    settings: Settings

    if TYPE_CHECKING:  # provided by Mesh; declared here for the type checker only

        @property
        def registry(self) -> Registry: ...

    def health_observer(self) -> BuildObserver | None:
        """The build observer for incidents and alerts (None: none)."""
        return None

    def slo_attainment(self, product_id: str, days: int = 30) -> float | None:
        """Share (0..1) of the last ``days`` in which the product met its freshness SLA; None without
        an SLA or history."""
        return None  # placeholder until health checks land (issue 7)
