"""Build events: what a build tells the rest of the platform as it starts and finishes.

Observers (OpenLineage emission, incidents and alerts, ...) implement :class:`BuildObserver`; the
``Mesh`` facade hands them to the build. An observer that fails is logged and skipped: observing a
build never changes its outcome or blocks it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from quanta.build.context import BuildResult
    from quanta.spec import LoadedProduct

log = logging.getLogger(__name__)


class BuildObserver(Protocol):
    """Told when a product's build starts and when it ends (published, skipped, failed, quarantined)."""

    def build_started(self, loaded: LoadedProduct, run_id: str, at: datetime) -> None: ...

    def build_finished(self, loaded: LoadedProduct, result: BuildResult, started: datetime) -> None: ...


def tell_started(observers: list[BuildObserver], loaded: LoadedProduct, run_id: str, at: datetime) -> None:
    for observer in observers:
        try:
            observer.build_started(loaded, run_id, at)
        except Exception:  # an observer's failure is logged; the build goes on
            log.exception("build observer %s failed on start of %s", type(observer).__name__, run_id)


def tell_finished(
    observers: list[BuildObserver], loaded: LoadedProduct, result: BuildResult, started: datetime
) -> None:
    for observer in observers:
        try:
            observer.build_finished(loaded, result, started)
        except Exception:  # an observer's failure is logged; the build goes on
            log.exception("build observer %s failed on end of %s", type(observer).__name__, result.run_id)
