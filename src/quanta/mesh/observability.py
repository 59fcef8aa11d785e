"""Health of every product in the ``Mesh`` facade: run history, freshness against SLAs, anomalies,
incidents and alert sinks.

An area of the ``Mesh`` facade. Who sees what: the health and incidents of a product are shown
to whoever may read the product (they tell about its data); alert deliveries to platform admins and
governance stewards. ``alerts.yaml`` at the workspace root configures sinks and routes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from quanta.errors import PermissionDenied

if TYPE_CHECKING:
    from quanta.build.events import BuildObserver
    from quanta.build.runner import BuildResult
    from quanta.engines.base import ColumnStats, TableScan
    from quanta.mesh.core import MeshCore
    from quanta.observability.alerts.config import AlertsConfig, Audience
    from quanta.observability.alerts.delivery import Deliverer, DeliveryReport
    from quanta.observability.health import Freshness, ProductHealth, Sla
    from quanta.observability.monitor import HealthMonitor
    from quanta.registry.stores.observations import DeliveryRecord, IncidentRecord, ProfileRecord
    from quanta.spec import LoadedProduct


class ObservabilityArea:
    """Product health, incidents, alerts."""

    def __init__(self, core: MeshCore) -> None:
        self.core = core
        self._alerts: tuple[int | None, AlertsConfig] | None = None

    # --- wiring ---------------------------------------------------------------------------------

    @property
    def alerts_config(self) -> AlertsConfig:
        """The workspace's ``alerts.yaml``, read again when it changes (a running server picks up new
        routes); raises a positioned error when it is invalid."""
        from quanta.observability.alerts.config import FILE, AlertsConfig

        root = self.core.workspace.root if self.core.workspace else None
        path = root / FILE if root else None
        stamp = path.stat().st_mtime_ns if path is not None and path.exists() else None
        if self._alerts is None or self._alerts[0] != stamp:
            self._alerts = (stamp, AlertsConfig.load(root))
        return self._alerts[1]

    @cached_property
    def alert_deliverer(self) -> Deliverer:
        from quanta.observability.alerts.delivery import Deliverer

        return Deliverer(self.core.registry, lambda: self.alerts_config)

    @cached_property
    def health_monitor(self) -> HealthMonitor:
        from quanta.observability.monitor import HealthMonitor

        return HealthMonitor(self.core.registry, self.sla, self._audience, self._routes, self.alert_deliverer)

    def _routes(self) -> AlertsConfig:
        """The alert routes; an invalid file routes nothing (and says so in the log) rather than
        breaking the build or check that raised the alert."""
        from quanta.observability.alerts.config import AlertsConfig, AlertsConfigError, DeliverySettings

        try:
            return self.alerts_config
        except AlertsConfigError as exc:
            import logging

            problems = "; ".join(str(p) for p in exc.problems)
            logging.getLogger("quanta.alerts").error("alerts.yaml is invalid, no alert queued: %s", problems)
            return AlertsConfig({}, [], DeliverySettings())

    def health_observer(self) -> BuildObserver | None:
        """The build observer for incidents and alerts."""
        return _HealthObserver(self)

    # --- health ---------------------------------------------------------------------------------

    def sla(self, product_id: str) -> Sla | None:
        """The product's tightest freshness promise (``latency``/``freshness`` SLA of its contracts)."""
        return self.core.current(("sla", product_id), lambda: self._sla(product_id))

    def _sla(self, product_id: str) -> Sla | None:
        from quanta.contracts.sla import duration
        from quanta.observability.health import Sla
        from quanta.spec.contract import Contract

        found = []
        for document in self.core.registry.port_contracts(product_id).values():
            contract = Contract.model_validate(document)
            for prop in contract.sla_properties or []:
                limit = duration(prop) if prop.property in ("latency", "freshness") else None
                if limit is not None:
                    element = prop.element or contract.sla_default_element
                    text = f"{prop.property} {prop.value}{prop.unit or 'd'}" + (
                        f" ({element})" if element else ""
                    )
                    found.append(Sla(limit, element, text))
        return min(found, key=lambda s: s.limit) if found else None

    def check_health(
        self, product_id: str | None = None, now: datetime | None = None
    ) -> list[IncidentRecord]:
        """Judge the freshness of every published product (or one) now: open, keep or close freshness
        incidents. Returns the open incidents afterwards (of the products the principal may read)."""
        ids = [product_id] if product_id else sorted(p.id for p in self.core.registry.products())
        for pid in ids:
            self.health_monitor.check(pid, now)
        found = self.core.registry.incidents(product_id, "open", limit=1000)
        visible = set(self._visible(sorted({i.product_id for i in found})))
        return [i for i in found if i.product_id in visible]

    def product_health(self, product_id: str, now: datetime | None = None, days: int = 30) -> ProductHealth:
        """Everything health knows about one product (for those who may read it)."""
        from quanta.observability.health import product_health

        self._may_see(product_id)
        return product_health(self.core.registry, product_id, self.sla(product_id), now, days)

    def product_freshness(self, product_id: str, now: datetime | None = None) -> Freshness:
        """The freshness of :meth:`product_health` alone (for those who may read the product)."""
        from quanta.observability.health import current_freshness

        self._may_see(product_id)
        return current_freshness(self.core.registry, product_id, self.sla(product_id), now)

    def health(self, now: datetime | None = None) -> list[ProductHealth]:
        """The health of every product the acting principal may read."""
        return [self.product_health(pid, now) for pid in self.readable_products()]

    def readable_products(self) -> list[str]:
        """Ids of the products the acting principal may read (and so see the health of), sorted."""
        return self._visible(sorted(p.id for p in self.core.registry.products()))

    def slo_attainment(self, product_id: str, days: int = 30) -> float | None:
        """Share (0..1) of the last ``days`` in which the product met its freshness SLA; None without
        an SLA or history."""
        from quanta.observability.health import slo_attainment, timeline

        sla = self.sla(product_id)
        if sla is None:
            return None
        points = timeline(
            self.core.registry.publishes(product_id), self.core.registry.profiles(product_id), sla
        )
        return slo_attainment(sla, points, datetime.now(UTC), days)

    # --- incidents ------------------------------------------------------------------------------

    def incidents(
        self,
        product_id: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 500,
    ) -> list[IncidentRecord]:
        """Incidents of the products the acting principal may read, newest first."""
        if product_id:
            self._may_see(product_id)
        found = self.core.registry.incidents(product_id, status, limit, kind=kind)
        visible = set(self._visible(sorted({i.product_id for i in found})))
        return [i for i in found if i.product_id in visible]

    def incident(self, incident_id: int) -> IncidentRecord:
        found = self.core.registry.incident(incident_id)
        self._may_see(found.product_id)
        return found

    # --- alerts ---------------------------------------------------------------------------------

    def deliver_alerts(self, seconds: float = 30.0) -> DeliveryReport:
        """Send the alerts that are due now, for at most about ``seconds``."""
        return self.alert_deliverer.deliver_due(seconds)

    def flush_alerts(self, seconds: float = 3.0) -> None:
        """Give alerts raised in this process a few seconds to go out (a CLI about to exit); the rest
        stay in the outbox for ``quanta serve`` or the next command."""
        due = bool(self.core.registry.deliveries(status="pending", limit=1))
        self.alert_deliverer.flush(seconds, kick=due)  # waits for a send under way in any case

    def alert_deliveries(
        self, status: str | None = None, sink: str | None = None, limit: int = 200
    ) -> list[DeliveryRecord]:
        """The alert outbox, newest first (platform admins and governance stewards)."""
        self._may_administer_alerts()
        return self.core.registry.deliveries(status, sink, limit)

    def retry_alerts(self, sink: str | None = None) -> int:
        """Send failed deliveries again (after the sink was fixed)."""
        self._may_administer_alerts()
        return self.core.registry.retry_failed_deliveries(sink)

    def test_alert(self, sink_name: str) -> str:
        """Send a test alert to one sink now, bypassing routes and the outbox; returns what was sent."""
        from quanta.errors import NotFoundError
        from quanta.observability.incidents import alert

        self._may_administer_alerts()
        sink = self.alerts_config.sinks.get(sink_name)
        if sink is None:
            known = ", ".join(sorted(self.alerts_config.sinks)) or "none (no alerts.yaml)"
            raise NotFoundError(f"no sink {sink_name!r}", hint=f"sinks in alerts.yaml: {known}")
        message = f"A test of sink {sink_name}, sent by {self.core.principal().id}."
        test = alert("incident.opened", None, "info", "Quanta test alert", message, datetime.now(UTC))
        sink.send(test)
        return test.id

    # --- who sees what --------------------------------------------------------------------------

    def _may_see(self, product_id: str) -> None:
        principal = self.core.principal()
        decision = self.core.access(principal, product_id)
        if not decision.allowed:
            raise PermissionDenied(
                f"{principal.id} may not see the health of {product_id}: {decision.reason}",
                hint=f"quanta access request {product_id} --purpose '...'",
            )

    def _visible(self, product_ids: list[str]) -> list[str]:
        principal = self.core.principal()
        return [pid for pid in product_ids if self.core.access(principal, pid).allowed]

    def _may_administer_alerts(self) -> None:
        actor = self.core.principal()
        if not actor.can("impersonate"):
            raise PermissionDenied(
                f"{actor.id} may not manage alert deliveries", hint="platform admins and stewards can"
            )

    def _audience(self, product_id: str) -> Audience:
        """The product's owners (its owner, its domain's owners) and subscribers, for routes."""
        from quanta.observability.alerts.config import Audience

        domain = self.core.product_facts(product_id).domain
        [summary] = self.core.registry.products(ids=[product_id])
        owners = {summary.owner} if summary.owner else set()
        for spec in self.core.governance.spec.principals:
            principal = self.core.governance.principal(spec.id)
            if "domain_owner" in principal.roles and domain in principal.domains:
                owners.add(principal.id)
        return Audience(
            product_id, domain, frozenset(owners), frozenset(self.core.registry.subscribers(product_id))
        )

    def _profile(self, product_id: str, run_id: str) -> ProfileRecord | None:
        """What the publish of ``run_id`` holds, from the table's metadata (one small query for the
        newest value of a freshness element the metadata cannot answer)."""
        from quanta.registry.stores.observations import ProfileRecord

        publish = next(
            (p for p in reversed(self.core.registry.publishes(product_id)) if p.run_id == run_id), None
        )
        if publish is None:
            return None
        port, snapshot = next(iter(publish.snapshots.items()))
        stats = self.core.warehouse.column_stats(product_id, port, snapshot)
        scan = self.core.warehouse.scan(product_id, port, snapshot)
        size = self.core.warehouse.snapshot(product_id, port, snapshot).properties.get("total-files-size")
        sla = self.sla(product_id)
        newest = _newest(sla.element.rpartition(".")[2], stats, scan) if sla and sla.element else None
        return ProfileRecord(
            product_id,
            run_id,
            publish.version,
            publish.created_at,
            rows=sum(publish.rows.values()),
            bytes=int(size) if size and str(size).isdigit() else None,
            newest_at=newest,
            columns={c.name: c.sql_type for c in scan.columns},
            nulls={name: s.nulls for name, s in stats.items() if s.nulls is not None},
        )


def _newest(column: str, stats: dict[str, ColumnStats], scan: TableScan) -> datetime | None:
    """The newest value of ``column``: the manifests' upper bound when exact, else a max() query."""
    from datetime import date

    value = stats[column].upper if column in stats else None
    if value is None and any(c.name == column for c in scan.columns):
        from quanta.engines import get_engine

        engine = get_engine()
        try:
            quoted = '"' + column.replace('"', '""') + '"'
            value = engine.query(f"select max({quoted}) from t", {"t": scan}).column(0)[0].as_py()
        finally:
            engine.close()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


class _HealthObserver:
    """Tells health how each build ended (a build observer: never raises into the build)."""

    def __init__(self, area: ObservabilityArea) -> None:
        self._area = area

    def build_started(self, loaded: LoadedProduct, run_id: str, at: datetime) -> None:
        return None

    def build_finished(self, loaded: LoadedProduct, result: BuildResult, started: datetime) -> None:
        from quanta.observability.monitor import BuildOutcome

        pid = result.product_id
        profile = self._area._profile(pid, result.run_id) if result.status == "published" else None
        outcome = BuildOutcome(
            pid, result.version, result.run_id, result.status, result.error, dict(result.checks), profile
        )
        self._area.health_monitor.after_build(outcome)
