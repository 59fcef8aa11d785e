"""Change feeds and file delivery: the rows changed between two versions of a product (a governed
query over ``"product@since..until"``), and every new version written into a subscriber's folder as
Parquet or CSV, as the subscriber reads it, under the egress policies, retried through the outbox.

An area of the :class:`~quanta.mesh.Mesh` facade over the shared :class:`~quanta.mesh.core.MeshCore`.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.errors import QuantaError
from quanta.mesh.core import acting_as

if TYPE_CHECKING:
    from quanta.build.context import BuildResult
    from quanta.mesh.core import MeshCore
    from quanta.mesh.governance import GovernanceArea
    from quanta.observability.alerts.delivery import DeliveryReport
    from quanta.query.governed import GovernedStream
    from quanta.registry.stores.file_deliveries import DeliverySubscriptionRecord
    from quanta.registry.stores.observations import DeliveryRecord
    from quanta.spec import LoadedProduct
    from quanta.spec.documents import JsonObject

log = logging.getLogger("quanta.delivery")
FILE_CLAIM = timedelta(minutes=15)
"""How long a claimed file delivery is left to its deliverer: writing a large product takes a while, and
another server worker must not start the same version meanwhile. A deliverer that dies lets it lapse."""
_PRODUCT = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_FOLDER_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")
_VERSION = re.compile(r"^[A-Za-z0-9_.:+\-]+$")  # versions and ISO times; never a quote


class DeliveryRefused(QuantaError):
    """A delivery cannot be set up or made: bad format or mode, no access, egress refused."""

    status = 400


def changes_sql(product_id: str, since: str, until: str | None = None) -> str:
    """The governed SQL of a change feed: ``select * from "product@since..until"``."""
    from quanta.query.products import QueryError

    if not _PRODUCT.match(product_id):
        raise QueryError(f"{product_id!r} is not a product id", hint="use domain.name, e.g. sales.orders")
    for name, value in (("since", since), ("until", until or "x")):
        if not _VERSION.match(value):
            raise QueryError(f"{name}={value!r} is not a version", hint="give a version such as 1.2.0")
    return f'select * from "{product_id}@{since}..{until or ""}"'


@dataclass(frozen=True)
class _DeliveryObserver:
    """Puts a delivery of each published version in the outbox of its delivery subscriptions, then
    delivers what is due."""

    area: ChangesArea

    def build_started(self, loaded: LoadedProduct, run_id: str, at: datetime) -> None:
        return None

    def build_finished(self, loaded: LoadedProduct, result: BuildResult, started: datetime) -> None:
        if result.status != "published":
            return
        registry = self.area.core.registry
        subscriptions = registry.delivery_subscriptions(product_id=result.product_id)
        for subscription in subscriptions:
            registry.enqueue_file_delivery(subscription, result.version)
        if subscriptions:
            self.area.deliver_soon()


class ChangesArea:
    """Change feeds between versions, and deliveries of new versions into folders."""

    def __init__(self, core: MeshCore, governance: GovernanceArea) -> None:
        self.core = core
        self._governance = governance
        self._wake: threading.Event | None = None
        """Set while a background deliverer runs (``quanta serve``): what is queued wakes it."""

    def changes(
        self,
        product_id: str,
        since: str,
        until: str | None = None,
        *,
        as_principal: str | None = None,
        limit: int | None = None,
    ) -> GovernedStream:
        """The rows inserted, deleted and updated between version ``since`` and ``until`` (default:
        the current version), read through the governed query service (docs/changes.md)."""
        sql = changes_sql(product_id, since, until)
        return self._governance.governed_stream(sql, as_principal=as_principal, limit=limit)

    def export_changes(self, product_id: str, since: str, until: str | None, target: Path) -> int:
        """The change feed streamed to a .csv, .json or .parquet file (egress: like any export)."""
        return self._governance.export_data(changes_sql(product_id, since, until), target)

    def subscribe_delivery(
        self, product_id: str, folder: Path, *, format: str = "parquet", mode: str = "full"
    ) -> DeliverySubscriptionRecord:
        """Have every new version of a product delivered into ``folder`` as the acting principal
        reads it; the current version is queued at once (``deliver`` writes it)."""
        from quanta.query.delivery import FORMATS, MODES

        if format not in FORMATS:
            raise DeliveryRefused(
                f"cannot deliver {format!r} files", hint=f"use --format {'|'.join(FORMATS)}"
            )
        if mode not in MODES:
            raise DeliveryRefused(f"unknown delivery mode {mode!r}", hint=f"use --mode {'|'.join(MODES)}")
        principal = self.core.principal()
        access = self.core.access(principal, product_id)
        if not access.allowed:
            from quanta.mesh.governance import read_hint

            raise DeliveryRefused(
                f"{principal.id} may not read {product_id}: {access.reason}", hint=read_hint(product_id)
            )
        registry = self.core.registry
        registry.subscribe(principal.id, product_id)
        subscription = registry.add_delivery(
            principal.id, product_id, str(folder.expanduser().resolve()), format, mode
        )
        current = registry.current_publish(product_id)
        if current is not None and subscription.delivered_version != current.version:
            registry.enqueue_file_delivery(subscription, current.version)
        return subscription

    def delivery_subscriptions(self) -> list[DeliverySubscriptionRecord]:
        """The acting principal's delivery subscriptions (every one, for platform admins)."""
        principal = self.core.principal()
        mine = None if principal.can("impersonate") else principal.id
        return self.core.registry.delivery_subscriptions(principal=mine)

    def delivery_subscription(self, subscription_id: int) -> DeliverySubscriptionRecord:
        """One of the acting principal's delivery subscriptions (anyone's, for platform admins); another
        principal's is not found, as if it did not exist."""
        from quanta.errors import NotFoundError

        principal = self.core.principal()
        try:
            subscription = self.core.registry.delivery_subscription(subscription_id)
        except NotFoundError:
            subscription = None
        if subscription is None or (
            subscription.principal != principal.id and not principal.can("impersonate")
        ):
            raise NotFoundError(
                f"no delivery subscription {subscription_id} of {principal.id}",
                hint="list yours: GET /api/v1/deliveries or quanta deliver",
            )
        return subscription

    def unsubscribe_delivery(self, subscription_id: int) -> DeliverySubscriptionRecord:
        """Stop delivering into a folder: the subscription goes, with the versions still queued for it
        (files already delivered stay). Only its subscriber (or a platform admin) may."""
        subscription = self.delivery_subscription(subscription_id)
        self.core.registry.remove_delivery(subscription.id)
        return subscription

    def delivery_status(self, subscriptions: list[DeliverySubscriptionRecord]) -> dict[int, DeliveryRecord]:
        """The newest queued delivery of each subscription: its version, status, attempts and error."""
        return self.core.registry.latest_file_deliveries(subscriptions)

    def delivery_root(self) -> Path:
        """Where deliveries asked for over the network land (``QUANTA_DELIVERY_ROOT``, else the
        workspace's ``.quanta/deliveries``), one folder per principal."""
        root = self.core.settings.delivery_root
        if root is None:
            root = self.core.require_workspace().state_dir / "deliveries"
        return root.expanduser().resolve()

    def delivery_folder(self, relative: str) -> Path:
        """The acting principal's folder ``relative`` under :meth:`delivery_root`: what the REST API and
        the web offer, so that a remote caller writes only into its own part of the server's disk."""
        parts = relative.strip().strip("/").split("/") if relative.strip().strip("/") else []
        if not parts or not all(_FOLDER_PART.match(part) and part not in (".", "..") for part in parts):
            raise DeliveryRefused(
                f"{relative!r} is not a folder name under the delivery root",
                hint="give a relative path of letters, digits, _ . - separated by /, e.g. crm/inbox",
            )
        principal = re.sub(r"[^A-Za-z0-9_.@\-]", "_", self.core.principal().id).lstrip(".") or "_"
        base = self.delivery_root() / principal
        folder = base.joinpath(*parts).resolve()
        if not folder.is_relative_to(base):  # a symbolic link out of the principal's folder
            raise DeliveryRefused(f"{relative!r} leads outside your delivery folder", hint="use another name")
        return folder

    def deliver_soon(self) -> None:
        """What was queued goes out: at once in this thread, or, while a server's background deliverer
        runs (:meth:`run_deliveries`), in that one (a build request does not wait for the files)."""
        if self._wake is not None:
            self._wake.set()
        else:
            self.deliver()

    def run_deliveries(self, stop: threading.Event, interval: float = 2.0) -> None:
        """Make due deliveries until ``stop`` is set (``quanta serve``'s background thread, in each
        worker: a claim in the registry lets one worker write each version). Woken early by a publish
        or a new subscription."""
        wake = self._wake = threading.Event()
        try:
            while not stop.is_set():
                wake.wait(interval)
                wake.clear()
                if stop.is_set():
                    break
                try:
                    report = self.deliver()
                    if report.delivered or report.failed:
                        log.info("file deliveries: %d delivered, %d failed", report.delivered, report.failed)
                except Exception:  # the registry is down, or a bug: logged, tried again next round
                    log.exception("file delivery failed")
        finally:
            self._wake = None

    def stop_deliveries(self) -> None:
        """Wake a background deliverer so that it sees its stop event at once."""
        if self._wake is not None:
            self._wake.set()

    def deliver(self, *, now: datetime | None = None, seconds: float = 60.0) -> DeliveryReport:
        """Make the file deliveries that are due (``now``: a later time makes retries due sooner),
        each as its subscriber; failures are retried with backoff, refusals are not."""
        import time

        from quanta.observability.alerts.delivery import DeliveryReport

        report = DeliveryReport()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            when = now or datetime.now(UTC)
            claimed = self.core.registry.claim_deliveries(when, FILE_CLAIM, limit=1, files=True)
            if not claimed:
                break
            self._deliver_one(claimed[0], report)
        return report

    def delivery_observer(self) -> _DeliveryObserver:
        return _DeliveryObserver(self)

    def _deliver_one(self, delivery: DeliveryRecord, report: DeliveryReport) -> None:
        from quanta.observability.alerts.config import DeliverySettings
        from quanta.observability.alerts.delivery import backoff

        try:
            subscription = self.core.registry.delivery_subscription(int(delivery.payload["subscription"]))
            with acting_as(subscription.principal):
                self._write(subscription, str(delivery.payload["version"]))
        except Exception as exc:
            settings = DeliverySettings()
            # Access, egress and bad references fail the same way next time: not retried.
            again = not isinstance(exc, QuantaError) or isinstance(exc, OSError)
            attempts = delivery.attempts + 1
            again = again and attempts < settings.max_attempts
            retry_at = datetime.now(UTC) + backoff(attempts, settings) if again else None
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self.core.registry.finish_delivery(delivery.id, error, retry_at)
            report.retrying += again
            report.failed += not again
            report.errors.append(f"{delivery.product_id}: {error}")
            log.warning("delivery of %s failed (attempt %d): %s", delivery.product_id, attempts, error)
            return
        self.core.registry.finish_delivery(delivery.id)
        report.delivered += 1

    def _write(self, subscription: DeliverySubscriptionRecord, version: str) -> JsonObject:
        """One version into the subscription's folder, read as its subscriber: every row, or the
        changes since the version delivered last (every row the first time)."""
        from quanta.query.delivery import deliver_stream

        product_id, since = subscription.product_id, subscription.delivered_version
        changes = subscription.mode == "changes" and since is not None and since != version
        if changes and since is not None:
            sql, stem = changes_sql(product_id, since, version), f"{product_id}@{since}..{version}"
        else:
            sql, stem = f'select * from "{product_id}@{version}"', f"{product_id}@{version}"
        folder = Path(subscription.folder)
        facts = {
            "product": product_id,
            "version": version,
            "mode": "changes" if changes else "full",
            "since": since if changes else None,
            "principal": subscription.principal,
        }
        with self._governance.export_stream(sql, str(folder)) as stream:
            manifest = deliver_stream(stream, folder, stem, subscription.format, facts)
        self.core.registry.delivered(subscription.id, version)
        return manifest
