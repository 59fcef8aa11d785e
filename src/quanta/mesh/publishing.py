"""Publishing: the catalog of registered products, builds and schedules, published data and its
quarantine, rollbacks.

An area of the :class:`~quanta.mesh.Mesh` facade over the shared :class:`~quanta.mesh.core.MeshCore`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from quanta.errors import EngineError, NotFoundError, Problem

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.build.events import BuildObserver
    from quanta.build.runner import BuildResult
    from quanta.build.scheduler import Schedule
    from quanta.mesh.changes import ChangesArea
    from quanta.mesh.core import MeshCore
    from quanta.mesh.governance import GovernanceArea
    from quanta.mesh.kpis import KpisArea
    from quanta.mesh.lineage import LineageArea
    from quanta.mesh.maturity import MaturityArea
    from quanta.mesh.observability import ObservabilityArea
    from quanta.mesh.specs import SpecsArea
    from quanta.registry import ProductSummary, VersionInfo
    from quanta.registry.stores.publishing import PublishRecord, RunRecord
    from quanta.spec.documents import JsonObject
    from quanta.storage import Quarantined


@dataclass(frozen=True)
class Observers:
    """The areas that hear of every build."""

    health: ObservabilityArea
    lineage: LineageArea
    kpis: KpisArea
    maturity: MaturityArea
    delivery: ChangesArea


@dataclass(frozen=True)
class ProductView:
    """Everything the registry knows about a product, for ``quanta show`` and the product page."""

    summary: ProductSummary
    descriptor: JsonObject
    contracts: dict[str, JsonObject]
    versions: list[VersionInfo]
    consumers: list[str]


class PublishingArea:
    """What is registered, how it gets built and published, and what consumers read."""

    def __init__(
        self, core: MeshCore, specs: SpecsArea, governance: GovernanceArea, observers: Observers
    ) -> None:
        self.core = core
        self._specs, self._governance, self._observers = specs, governance, observers

    def products(
        self, domain: str | None = None, type: str | None = None, status: str | None = None
    ) -> list[ProductSummary]:
        return list(
            self.core.current(
                ("products", domain, type, status),
                lambda: self.core.catalog.products(domain=domain, type=type, status=status),
            )
        )

    def product(self, ref: str) -> ProductView:
        """A registered product by id (the version consumers read, else the latest registered one),
        optionally ``id@version``."""
        return self.core.current(("product", ref), lambda: self._product(ref))

    def _product(self, ref: str) -> ProductView:
        product_id, _, version = ref.partition("@")
        self.core.descriptor(product_id)  # an unknown id: the helpful NotFoundError
        catalog = self.core.catalog
        [summary] = catalog.products(ids=[product_id])
        descriptor = catalog.descriptor(product_id, version or summary.served_version)
        contracts = self.core.immutable(  # a registered version never changes
            ("contracts", product_id, descriptor.get("version")),
            lambda: catalog.port_contracts(product_id, descriptor.get("version")),
        )
        return ProductView(
            summary=summary,
            descriptor=descriptor,
            contracts=contracts,
            versions=catalog.versions(product_id),
            consumers=catalog.consumers(product_id),
        )

    def build(
        self,
        selectors: list[str] | None = None,
        *,
        force: bool = False,
        trigger: str = "manual",
        progress: Callable[[str, str], None] | None = None,
        workers: int = 2,
    ) -> list[BuildResult]:
        """Validate and register what the selected products need (them and their inputs: another
        domain's broken or unregistered file does not stop them), then build them in dependency
        order, independent ones in parallel; products downstream of a failure are not built."""
        from concurrent.futures import ThreadPoolExecutor

        from quanta.build.planner import layers, upstream
        from quanta.build.runner import BuildContext, BuildResult, build_product
        from quanta.build.scope import needed

        validation, chosen = needed(self._specs.validate(), selectors or [])
        validation.raise_for_errors()
        self._specs.apply(validation=validation)
        self.core.may_publish([p.product for p in validation.products if p.product.id in chosen])
        ctx = BuildContext(
            self.core.registry,
            self.core.warehouse,
            self.core.require_workspace().root,
            self.core.settings.user,
            force=force,
            trigger=trigger,
            progress=progress,
            policies=self.core.policies,
            observers=self.build_observers(),
            maturity=self._observers.maturity.maturity_for_build,
        )
        results: dict[str, BuildResult] = {}
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for layer in layers(validation.products, chosen):
                runnable = []
                for loaded in layer:
                    broken = sorted(
                        u for u in upstream(loaded) if results.get(u) and results[u].status == "failed"
                    )
                    if broken:
                        results[loaded.product.id] = BuildResult(
                            loaded.product.id,
                            "not built",
                            "",
                            loaded.product.version or "",
                            error=f"upstream {', '.join(broken)} failed",
                            hint=f"fix {broken[0]} first, then: quanta build {broken[0]}+",
                        )
                    else:
                        runnable.append(loaded)
                for result in pool.map(lambda p: build_product(ctx, p), runnable):
                    results[result.product_id] = result
        return list(results.values())

    def build_observers(self) -> list[BuildObserver]:
        """Who hears of every build: incidents and alerts, OpenLineage, metrics, maturity scores, file
        deliveries."""
        found = (
            self._observers.health.health_observer(),
            self._observers.lineage.openlineage_observer(),
            self._observers.kpis.metrics_observer(),
            self._observers.maturity.maturity_observer(),
            self._observers.delivery.delivery_observer(),
        )
        return [observer for observer in found if observer is not None]

    def schedules(self, now: datetime | None = None, *, healthy_only: bool = False) -> list[Schedule]:
        """Every scheduled product: last fire, next fire, and fire times due (missed ones included).
        An error in the workspace is raised, unless ``healthy_only``: then the products whose files
        and inputs are valid are listed (:meth:`schedule_problems` says what holds the others back)."""
        from quanta.build.scheduler import schedules
        from quanta.build.scope import healthy

        validation = self._specs.validate()
        if not healthy_only:
            validation.raise_for_errors()
        ready = healthy(validation)
        crons = {
            p.product.id: p.product.build.schedule
            for p in validation.products
            if p.product.build and p.product.build.schedule and p.product.id in ready
        }
        return schedules(self.core.registry, crons, now or datetime.now(UTC))

    def schedule_problems(self) -> list[Problem]:
        """The errors in the workspace's descriptors that hold schedules back (positioned)."""
        return self._specs.validate().errors

    def run_schedule(self, now: datetime | None = None, owner: str = "scheduler") -> list[BuildResult]:
        """Build every product whose schedule is due (once, however many fire times were missed);
        those with an error in their files or their inputs' wait (:meth:`schedule_problems`)."""
        from quanta.build.scheduler import claim

        due = [
            s for s in self.schedules(now, healthy_only=True) if s.due and claim(self.core.registry, s, owner)
        ]
        if not due:
            return []
        return self.build([s.product_id for s in due], trigger="schedule")

    def runs(self, product_id: str | None = None, limit: int = 50) -> list[RunRecord]:
        return self.core.registry.runs(product_id, limit)

    def query(self, sql: str, *, limit: int | None = None, as_principal: str | None = None) -> pa.Table:
        """Run SQL over products by name through the governed query service (audited): the governed
        stream, collected into one table (use ``governed_stream`` for results of any size)."""
        return self._governance.governed_query(sql, as_principal=as_principal, limit=limit).table

    def quarantine(self, product_id: str | None = None) -> list[Quarantined]:
        """Quarantined snapshots of the products the acting principal produces (unpublished data is
        its producers' business only)."""
        if product_id:
            self.core.may_publish_id(product_id)
        actor = self.core.principal()
        products = (
            [product_id] if product_id else [p.id for p in self.products() if actor.can("publish", p.domain)]
        )
        found: list[Quarantined] = []
        for pid in products:
            descriptor = self.core.registry.descriptor(pid)
            for port in descriptor.get("outputPorts") or []:
                found += self.core.warehouse.quarantined(pid, port["name"])
        return found

    def quarantined_run(self, product_id: str, run_id: str) -> tuple[Quarantined, RunRecord | None]:
        entry = next((q for q in self.quarantine(product_id) if q.run_id == run_id), None)
        if entry is None:
            raise NotFoundError(
                f"no quarantined run {run_id} for {product_id}", hint="see quanta quarantine ls"
            )
        run = next((r for r in self.core.registry.runs(product_id, 1000) if r.id == run_id), None)
        return entry, run

    def query_quarantine(self, product_id: str, run_id: str, sql: str) -> pa.Table:
        """Query a quarantined snapshot: the product's id in the SQL stands for the failed data."""
        from quanta.query.products import bind_products
        from quanta.query.statements import parse_governed

        entry, _ = self.quarantined_run(product_id, run_id)  # checks the right to see it
        parse_governed(sql)  # the same refusals as any query: no files, no catalog, read-only
        rewritten, refs = bind_products(sql, {product_id})
        scan = self.core.warehouse.scan(product_id, entry.port, entry.snapshot_id)
        domain = product_id.partition(".")[0]
        actor, details = self.core.principal().id, {"sql": sql, "run": run_id}
        self.core.registry.audit(
            "quarantine.query", actor, product_id, "allow", domain=domain, details=details
        )
        try:
            return self._governance.queries.engine.query(rewritten, {ref.view: scan for ref in refs})
        except EngineError as exc:  # translated by the engine, without the storage paths
            raise self._governance.queries.failure(exc) from None

    def rollback(self, product_id: str, version: str) -> PublishRecord:
        """Make an earlier publish current again (recorded as a new publish, so history is kept)."""
        from dataclasses import replace

        self.core.may_publish_id(product_id)
        _, port, snapshot, target = self.core.resolve(f"{product_id}@{version}")
        record = replace(
            target,
            run_id="rollback-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f"),
            inputs={"rollback_of": target.run_id},
            created_at=datetime.now(UTC),
            created_by=self.core.settings.user,
        )
        self.core.registry.record_publish(record, event="product.rolled_back")
        self.core.warehouse.set_current(product_id, port, snapshot)
        return record
