"""Prometheus metrics: governed-query latency recorded in process, and the exposition of everything.

Two kinds of series, so every worker of ``quanta serve --workers N`` answers a scrape the same:

- what the registry knows (builds, check failures, freshness, products, incidents, ratings) is read
  from the database at scrape time by :class:`~quanta.observability.collector.PlatformCollector`;
- what only the process sees (the latency of each governed query) is a histogram; with several
  workers, prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by
  ``quanta serve``) sums the workers' files at scrape time.

Importing this module is cheap: prometheus_client is imported only once a server turns the query
histogram on (:func:`enable_query_metrics`), so the CLI never pays for it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.build.context import BuildResult
    from quanta.registry import Registry
    from quanta.spec import LoadedProduct

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
INTERFACE_ENV = "QUANTA_INTERFACE"
"""The default ``interface`` label of queries in a process (``quanta serve`` sets ``http``)."""
QUERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OUTCOMES = ("ok", "denied", "error")

_INTERFACE: ContextVar[str | None] = ContextVar("quanta_query_interface", default=None)


class _QueryLatency:
    """The process's query latency histogram (a prometheus_client ``Histogram``) once enabled."""

    lock = threading.Lock()
    histogram: Any = None


@contextmanager
def query_interface(name: str) -> Iterator[None]:
    """Within the block, governed queries are counted under ``interface=name`` (e.g. ``pgwire``)."""
    token = _INTERFACE.set(name)
    try:
        yield
    finally:
        _INTERFACE.reset(token)


def current_interface() -> str:
    """The interface a query arrives through: the block's, else the process's, else ``python``."""
    return _INTERFACE.get() or os.environ.get(INTERFACE_ENV) or "python"


def enable_query_metrics() -> None:
    """Start recording query latency in this process (idempotent; servers call it at start)."""
    with _QueryLatency.lock:
        if _QueryLatency.histogram is not None:
            return
        from prometheus_client import Histogram

        _QueryLatency.histogram = Histogram(
            "quanta_query_duration_seconds",
            "Governed queries: how long each took, by interface and outcome (ok, denied, error).",
            ["interface", "outcome"],
            buckets=QUERY_BUCKETS,
            registry=None,  # exposed through each app's own registry (see exposition)
        )


def observe_query(outcome: str, seconds: float) -> None:
    """Record one governed query; a no-op until enabled, and it never raises into the query."""
    histogram = _QueryLatency.histogram
    if histogram is None:
        return
    try:
        histogram.labels(current_interface(), outcome if outcome in OUTCOMES else "error").observe(seconds)
    except Exception:  # metrics must never break a query
        log.exception("could not record a query metric")


def multiprocess_dir() -> str | None:
    """The folder the workers share their metric files in (None: one process)."""
    path = os.environ.get(MULTIPROC_ENV)
    return path if path and Path(path).is_dir() else None


class PlatformMetrics:
    """The ``/metrics`` document of one mesh: the registry's series and the query histogram."""

    def __init__(self, registry: Registry, cache_seconds: float = 5.0) -> None:
        from prometheus_client import CollectorRegistry

        from quanta.observability.collector import PlatformCollector

        enable_query_metrics()
        self.collectors = CollectorRegistry(auto_describe=False)
        self.collectors.register(PlatformCollector(registry, cache_seconds))
        shared = multiprocess_dir()
        if shared is not None:
            from prometheus_client.multiprocess import MultiProcessCollector

            MultiProcessCollector(self.collectors, path=shared)  # every worker's files, summed
        else:
            self.collectors.register(_QueryLatency.histogram)

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition in the format the scraper asks for (text 0.0.4 / 1.0.0 or OpenMetrics)."""
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.collectors), content_type


class BuildMetricsObserver:
    """Build observer: tallies each finished build's checks by verdict and severity in the registry,
    where the collector counts check failures (builds run in any process: CLI, scheduler, workers)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def build_started(self, loaded: LoadedProduct, run_id: str, at: datetime) -> None:
        """Nothing to count yet: durations come from the run's own start and end times."""

    def build_finished(self, loaded: LoadedProduct, result: BuildResult, started: datetime) -> None:
        checks = (result.checks or {}).get("checks") or []
        if checks and result.run_id:
            self.registry.record_check_tallies(result.run_id, result.product_id, list(checks))
