"""Sending what the outbox holds: each due delivery is claimed, sent within its sink's timeout, and
recorded as delivered, due again after an exponential backoff with jitter, or failed for good.

Whoever raises an alert only writes the outbox, so a slow or dead receiver never holds up a build.
Delivery is at least once: a deliverer that dies mid-send lets its claim lapse and the alert goes
out again (receivers de-duplicate by the alert id).
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from quanta.observability.alerts.base import Alert, DeliveryError

if TYPE_CHECKING:
    from quanta.observability.alerts.config import AlertsConfig, DeliverySettings
    from quanta.registry import Registry
    from quanta.registry.stores.observations import DeliveryRecord

log = logging.getLogger("quanta.alerts")
CLAIM = timedelta(minutes=2)
"""How long a claimed delivery is left to its deliverer (more than any sink's timeout)."""
EXIT_FLUSH_SECONDS = 3.0
"""How long a process that raised alerts waits for them to go out when it exits (a CLI build)."""


def backoff(attempts: int, settings: DeliverySettings) -> timedelta:
    """The wait after the ``attempts``-th failure: doubling from ``backoff_seconds``, capped, and
    between half and all of that at random, so many failed alerts do not retry in lockstep."""
    ceiling = min(settings.max_backoff_seconds, settings.backoff_seconds * 2 ** (attempts - 1))
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # jitter, not security


@dataclass
class DeliveryReport:
    """What one round of delivery did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Deliverer:
    """Sends due deliveries: in the caller's thread (:meth:`deliver_due`), in a background thread
    started after alerts are raised (:meth:`kick`, waited for briefly by :meth:`flush`), or in a
    server's loop (:meth:`run`)."""

    def __init__(self, registry: Registry, config: Callable[[], AlertsConfig]) -> None:
        self._registry, self._config = registry, config
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._exit_hook = False

    def deliver_due(self, seconds: float = 30.0) -> DeliveryReport:
        """Send deliveries that are due, one at a time, until none is or ``seconds`` have passed (a
        send under way finishes within its sink's timeout)."""
        report = DeliveryReport()
        try:
            config = self._config()
        except Exception as exc:  # an invalid alerts.yaml: nothing can be sent, nothing is lost
            report.errors.append(str(exc))
            log.error("alerts not delivered: %s", exc)
            return report
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            claimed = self._registry.claim_deliveries(datetime.now(UTC), CLAIM, limit=1)
            if not claimed:
                break
            self._send(claimed[0], config, report)
        return report

    def _send(self, delivery: DeliveryRecord, config: AlertsConfig, report: DeliveryReport) -> None:
        sink = config.sinks.get(delivery.sink)
        try:
            if sink is None:
                raise DeliveryError(f"sink {delivery.sink} is not in alerts.yaml any more")
            sink.send(Alert.from_dict(delivery.payload))
        except Exception as exc:
            retry = getattr(exc, "retry", True) and sink is not None
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            attempts = delivery.attempts + 1
            again = retry and attempts < config.delivery.max_attempts
            retry_at = datetime.now(UTC) + backoff(attempts, config.delivery) if again else None
            self._registry.finish_delivery(delivery.id, error, retry_at)
            report.retrying += again
            report.failed += not again
            report.errors.append(error)
            log.warning(
                "alert %s to %s: attempt %d failed: %s", delivery.alert_id, delivery.sink, attempts, error
            )
            return
        self._registry.finish_delivery(delivery.id)
        report.delivered += 1

    def kick(self) -> None:
        """Deliver in a background thread now (unless one is already at it). A process about to exit
        gives that thread a few seconds first, so a CLI build's alerts usually leave with it."""
        with self._lock:
            if not self._exit_hook:
                atexit.register(self.flush, EXIT_FLUSH_SECONDS, kick=False)
                self._exit_hook = True
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._quietly, name="alert delivery", daemon=True)
            self._thread.start()

    def flush(self, seconds: float, *, kick: bool = True) -> None:
        """Give the background delivery at most ``seconds`` to finish (a CLI about to exit). What is
        not sent by then stays in the outbox for the next deliverer."""
        if kick:
            self.kick()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout=seconds)

    def run(self, stop: threading.Event, interval: float = 2.0) -> None:
        """Deliver until ``stop`` is set (a server's background thread)."""
        while not stop.wait(interval):
            self._quietly()

    def _quietly(self) -> None:
        try:
            self.deliver_due()
        except Exception:  # the registry is down, or a bug: logged, tried again on the next round
            log.exception("alert delivery failed")
