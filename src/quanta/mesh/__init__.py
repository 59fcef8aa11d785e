"""The ``Mesh`` facade: the one object every interface (CLI, API, web, SDK, servers) calls.

``Mesh`` is composed of areas (specs, publishing, consumers, testing, governance, grants, discovery,
observability, lineage, maturity, KPIs) over one typed core (:class:`~quanta.mesh.core.MeshCore`: the
workspace, the settings, the registry, the warehouse, the acting principal). Each public method is an
area's method, named here once (:class:`_Via`); interfaces only translate between their protocol and
these methods.
The core never prints: results come back as data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, Generic, ParamSpec, TypeVar, overload

from quanta.lazy import lazy_names
from quanta.mesh.blueprints import BlueprintEntry, BlueprintsArea, Created, Suggested
from quanta.mesh.changes import ChangesArea, DeliveryRefused
from quanta.mesh.consumers import AccessExplanation, ConsumersArea, ProductColumn
from quanta.mesh.core import MeshCore, acting_as
from quanta.mesh.discovery import DiscoveryArea
from quanta.mesh.governance import GovernanceArea, ReadableTable, ReceiptCheck
from quanta.mesh.grants import GrantsArea, ScramSignIn, SharedSpace, TokenCheck
from quanta.mesh.kpis import KpisArea
from quanta.mesh.lineage import LineageArea
from quanta.mesh.maturity import MaturityArea
from quanta.mesh.observability import ObservabilityArea
from quanta.mesh.publishing import Observers, ProductView, PublishingArea
from quanta.mesh.specs import Applied, ApplyReport, CiReport, CiRuns, SpecsArea
from quanta.mesh.testing import TestingArea
from quanta.settings import Settings
from quanta.workspace import Workspace

if TYPE_CHECKING:
    from quanta.discovery.search.index import SearchIndex
    from quanta.governance.model import Governance
    from quanta.governance.policies import PolicySet
    from quanta.observability.alerts.config import AlertsConfig
    from quanta.observability.alerts.delivery import Deliverer
    from quanta.registry import Registry
    from quanta.storage import Warehouse

# --- What interfaces use, re-exported: they import only ``quanta.mesh`` (and ``quanta.errors``), so ---
# --- moving a core module never touches them. Loaded on first use (``__getattr__`` below): SQLAlchemy,
# --- DuckDB and Arrow are slow to import, and only commands that need them should pay for them. ---
if TYPE_CHECKING:
    from quanta.blueprints.catalog import Blueprint, Question
    from quanta.blueprints.inference import ColumnProfile, Profile
    from quanta.blueprints.render import NewProduct, parse_data
    from quanta.blueprints.suggest import Suggestion, Tightened
    from quanta.blueprints.update import Updated
    from quanta.build.demo_data import generate_demo_data
    from quanta.build.scheduler import ProblemLog
    from quanta.contracts.report import github_annotations, junit
    from quanta.contracts.run import Check, Run
    from quanta.contracts.selection import Selection, TestOptions
    from quanta.discovery.maturity.scoring import Maturity
    from quanta.discovery.search.index import SearchResult
    from quanta.governance.model import SCOPES, scope_covers, scopes_to_use
    from quanta.governance.requests import Term, TermsNotAccepted, terms_digest
    from quanta.governance.scram import MECHANISM, ScramError
    from quanta.observability.health import Freshness, ProductHealth, in_words
    from quanta.observability.impact import Impact, TouchedColumn
    from quanta.observability.kpis import Kpis, say_hours
    from quanta.observability.lineage.view import Direction, LineageNode, LineageView
    from quanta.observability.prometheus import (
        INTERFACE_ENV,
        MULTIPROC_ENV,
        enable_query_metrics,
        query_interface,
    )
    from quanta.query.cursor import QueryCancelled
    from quanta.query.export import write_csv, write_json
    from quanta.query.governed import GovernedStream
    from quanta.registry import ProductSummary, VersionInfo
    from quanta.registry.stores.audit_grants import GrantRecord
    from quanta.registry.stores.feedback import FeedbackRecord, ProductFeedback
    from quanta.registry.stores.file_deliveries import DeliverySubscriptionRecord
    from quanta.registry.stores.maturity_scores import MaturityRecord
    from quanta.registry.stores.observations import DeliveryRecord, IncidentRecord
    from quanta.registry.stores.publishing import PublishRecord, RunRecord

_REEXPORTED = {
    "quanta.blueprints.catalog": ["Blueprint", "Question"],
    "quanta.blueprints.inference": ["ColumnProfile", "Profile"],
    "quanta.blueprints.render": ["NewProduct", "parse_data"],
    "quanta.blueprints.suggest": ["Suggestion", "Tightened"],
    "quanta.blueprints.update": ["Updated"],
    "quanta.build.demo_data": ["generate_demo_data"],
    "quanta.build.scheduler": ["ProblemLog"],
    "quanta.contracts.report": ["github_annotations", "junit"],
    "quanta.contracts.run": ["Check", "Run"],
    "quanta.contracts.selection": ["Selection", "TestOptions"],
    "quanta.discovery.maturity.scoring": ["Maturity"],
    "quanta.discovery.search.index": ["SearchResult"],
    "quanta.governance.model": ["SCOPES", "scope_covers", "scopes_to_use"],
    "quanta.governance.requests": ["Term", "TermsNotAccepted", "terms_digest"],
    "quanta.governance.scram": ["MECHANISM", "ScramError"],
    "quanta.observability.health": ["Freshness", "ProductHealth", "in_words"],
    "quanta.observability.impact": ["Impact", "TouchedColumn"],
    "quanta.observability.kpis": ["Kpis", "say_hours"],
    "quanta.observability.lineage.view": ["Direction", "LineageNode", "LineageView"],
    "quanta.observability.prometheus": [
        "INTERFACE_ENV",
        "MULTIPROC_ENV",
        "enable_query_metrics",
        "query_interface",
    ],
    "quanta.query.cursor": ["QueryCancelled"],
    "quanta.query.export": ["write_csv", "write_json"],
    "quanta.query.governed": ["GovernedStream"],
    "quanta.registry": ["ProductSummary", "VersionInfo"],
    "quanta.registry.stores.feedback": ["FeedbackRecord", "ProductFeedback"],
    "quanta.registry.stores.audit_grants": ["GrantRecord"],
    "quanta.registry.stores.file_deliveries": ["DeliverySubscriptionRecord"],
    "quanta.registry.stores.maturity_scores": ["MaturityRecord"],
    "quanta.registry.stores.observations": ["DeliveryRecord", "IncidentRecord"],
    "quanta.registry.stores.publishing": ["PublishRecord", "RunRecord"],
}
_HOME = {name: module for module, names in _REEXPORTED.items() for name in names}

__all__ = [
    "INTERFACE_ENV",
    "MECHANISM",
    "MULTIPROC_ENV",
    "SCOPES",
    "AccessExplanation",
    "Applied",
    "ApplyReport",
    "Blueprint",
    "BlueprintEntry",
    "Check",
    "CiReport",
    "CiRuns",
    "ColumnProfile",
    "Created",
    "DeliveryRecord",
    "DeliveryRefused",
    "DeliverySubscriptionRecord",
    "Direction",
    "FeedbackRecord",
    "Freshness",
    "GovernedStream",
    "GrantRecord",
    "Impact",
    "IncidentRecord",
    "Kpis",
    "LineageNode",
    "LineageView",
    "Maturity",
    "MaturityRecord",
    "Mesh",
    "MeshCore",
    "NewProduct",
    "ProblemLog",
    "ProductColumn",
    "ProductFeedback",
    "ProductHealth",
    "ProductSummary",
    "ProductView",
    "Profile",
    "PublishRecord",
    "QueryCancelled",
    "Question",
    "ReadableTable",
    "ReceiptCheck",
    "Run",
    "RunRecord",
    "ScramError",
    "ScramSignIn",
    "SearchResult",
    "Selection",
    "SharedSpace",
    "Suggested",
    "Suggestion",
    "Term",
    "TermsNotAccepted",
    "TestOptions",
    "Tightened",
    "TokenCheck",
    "TouchedColumn",
    "Updated",
    "VersionInfo",
    "acting_as",
    "enable_query_metrics",
    "generate_demo_data",
    "github_annotations",
    "in_words",
    "junit",
    "parse_data",
    "query_interface",
    "say_hours",
    "scope_covers",
    "scopes_to_use",
    "terms_digest",
    "write_csv",
    "write_json",
]


__getattr__ = lazy_names(__name__, _HOME)
"""A re-exported name, imported from its home module on first use."""


_A = TypeVar("_A")
_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Via(Generic[_A, _P, _R]):
    """A facade method that is an area's method: ``mesh.validate(...)`` calls ``mesh.specs.validate(...)``
    with the same signature and docstring, declared once, on the area."""

    def __init__(self, area: str, method: Callable[Concatenate[_A, _P], _R]) -> None:
        self._area, self._name = area, method.__name__
        self.__doc__, self.__wrapped__ = method.__doc__, method  # for help() and inspect

    @overload
    def __get__(self, mesh: None, owner: type) -> _Via[_A, _P, _R]: ...

    @overload
    def __get__(self, mesh: Mesh, owner: type) -> Callable[_P, _R]: ...

    def __get__(self, mesh: Mesh | None, owner: type) -> _Via[_A, _P, _R] | Callable[_P, _R]:
        if mesh is None:
            return self
        method: Callable[_P, _R] = getattr(getattr(mesh, self._area), self._name)
        return method


class Mesh:
    """Facade over a workspace and its registry."""

    def __init__(
        self, workspace: Workspace | None, settings: Settings | None = None, *, light: bool = False
    ) -> None:
        core = self.core = MeshCore(workspace, settings or Settings(), light=light)
        self._governed = GovernanceArea(core)
        self._grants = GrantsArea(core)
        self._discovery = DiscoveryArea(core)
        self._observability = ObservabilityArea(core)
        self._lineage = LineageArea(core)
        self._maturity = MaturityArea(core, self._discovery, self._observability)
        self._kpis = KpisArea(core)
        self._testing = TestingArea(core)
        self._specs = SpecsArea(core, self._governed, self._lineage, self._discovery, self._testing)
        self._changes = ChangesArea(core, self._governed)
        observers = Observers(self._observability, self._lineage, self._kpis, self._maturity, self._changes)
        self._publishing = PublishingArea(core, self._specs, self._governed, observers)
        self._consumers = ConsumersArea(core, self._publishing)
        self._blueprints = BlueprintsArea(core, self._specs, self._governed)

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        required: bool = True,
        settings: Settings | None = None,
        light: bool = False,
    ) -> Mesh:
        """The mesh of the workspace at or above ``path``; ``required=False`` allows loose files.
        ``light``: for a command that only reads the catalog (:attr:`MeshCore.catalog`)."""
        from quanta.errors import WorkspaceError

        settings = settings or Settings()
        start = path or settings.workspace
        try:
            workspace = Workspace.find(start)
        except WorkspaceError:
            if required:
                raise
            workspace = None
        return cls(workspace, settings, light=light)

    @staticmethod
    def init(directory: Path, *, demo: bool = False, name: str | None = None) -> list[Path]:
        """Create a workspace (optionally with the demo mesh); returns the files written."""
        from quanta.blueprints.init import create_workspace

        return create_workspace(directory, demo=demo, name=name)

    # --- the core ---------------------------------------------------------------------------------

    @property
    def workspace(self) -> Workspace | None:
        return self.core.workspace

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def registry(self) -> Registry:
        return self.core.registry

    @property
    def warehouse(self) -> Warehouse:
        return self.core.warehouse

    @property
    def governance(self) -> Governance:
        return self.core.governance

    @property
    def policies(self) -> PolicySet:
        return self.core.policies

    @property
    def search_index(self) -> SearchIndex:
        return self._discovery.search_index

    @property
    def alerts_config(self) -> AlertsConfig:
        return self._observability.alerts_config

    @property
    def alert_deliverer(self) -> Deliverer:
        return self._observability.alert_deliverer

    def current(self, key: tuple[object, ...], load: Callable[[], _R]) -> _R:
        """``load()``, remembered until the catalog next changes (in any process; seen here within the
        registry's recheck interval): what an interface renders from catalog views, once per change."""
        return self.core.current(key, load)

    # --- who acts and what a reference reads ------------------------------------------------------------
    principal = _Via("core", MeshCore.principal)
    product_facts = _Via("core", MeshCore.product_facts)
    access = _Via("core", MeshCore.access)
    publishes = _Via("core", MeshCore.publishes)
    resolve = _Via("core", MeshCore.resolve)

    # --- specs: validate, apply, ci, diff, formats ------------------------------------------------------
    files = _Via("_specs", SpecsArea.files)
    validate = _Via("_specs", SpecsArea.validate)
    apply = _Via("_specs", SpecsArea.apply)
    ci = _Via("_specs", SpecsArea.ci)
    ci_runs = _Via("_specs", SpecsArea.ci_runs)
    diff = _Via("_specs", SpecsArea.diff)
    import_document = _Via("_specs", SpecsArea.import_document)
    export = _Via("_specs", SpecsArea.export)
    export_checked = _Via("_specs", SpecsArea.export_checked)

    # --- blueprints: new products, inferred contracts, community sources, updates ------------------------
    blueprints = _Via("_blueprints", BlueprintsArea.blueprints)
    blueprint = _Via("_blueprints", BlueprintsArea.blueprint)
    blueprint_entries = _Via("_blueprints", BlueprintsArea.blueprint_entries)
    add_blueprint = _Via("_blueprints", BlueprintsArea.add_blueprint)
    new_product = _Via("_blueprints", BlueprintsArea.new_product)
    update_product = _Via("_blueprints", BlueprintsArea.update_product)
    suggest_contract = _Via("_blueprints", BlueprintsArea.suggest_contract)

    # --- catalog, builds, schedules, published data -----------------------------------------------------
    products = _Via("_publishing", PublishingArea.products)
    product = _Via("_publishing", PublishingArea.product)
    build = _Via("_publishing", PublishingArea.build)
    build_observers = _Via("_publishing", PublishingArea.build_observers)
    schedules = _Via("_publishing", PublishingArea.schedules)
    schedule_problems = _Via("_publishing", PublishingArea.schedule_problems)
    run_schedule = _Via("_publishing", PublishingArea.run_schedule)
    runs = _Via("_publishing", PublishingArea.runs)
    query = _Via("_publishing", PublishingArea.query)
    quarantine = _Via("_publishing", PublishingArea.quarantine)
    quarantined_run = _Via("_publishing", PublishingArea.quarantined_run)
    query_quarantine = _Via("_publishing", PublishingArea.query_quarantine)
    rollback = _Via("_publishing", PublishingArea.rollback)

    # --- what consumers see of a product, and their access to it ------------------------------------------
    product_columns = _Via("_consumers", ConsumersArea.product_columns)
    explain_access = _Via("_consumers", ConsumersArea.explain_access)
    my_access = _Via("_consumers", ConsumersArea.my_access)

    # --- contract tests ---------------------------------------------------------------------------------
    test = _Via("_testing", TestingArea.test)

    # --- governed queries, exports, audit ---------------------------------------------------------------
    policy_problems = _Via("_governed", GovernanceArea.policy_problems)
    readable_tables = _Via("_governed", GovernanceArea.readable_tables)
    governed_query = _Via("_governed", GovernanceArea.governed_query)
    governed_stream = _Via("_governed", GovernanceArea.governed_stream)
    export_data = _Via("_governed", GovernanceArea.export_data)
    export_stream = _Via("_governed", GovernanceArea.export_stream)
    audit_log = _Via("_governed", GovernanceArea.audit_log)
    verify_audit = _Via("_governed", GovernanceArea.verify_audit)
    verify_receipt = _Via("_governed", GovernanceArea.verify_receipt)

    # --- change feeds and file delivery -----------------------------------------------------------------
    changes = _Via("_changes", ChangesArea.changes)
    export_changes = _Via("_changes", ChangesArea.export_changes)
    subscribe_delivery = _Via("_changes", ChangesArea.subscribe_delivery)
    delivery_subscriptions = _Via("_changes", ChangesArea.delivery_subscriptions)
    delivery_subscription = _Via("_changes", ChangesArea.delivery_subscription)
    unsubscribe_delivery = _Via("_changes", ChangesArea.unsubscribe_delivery)
    delivery_status = _Via("_changes", ChangesArea.delivery_status)
    delivery_root = _Via("_changes", ChangesArea.delivery_root)
    delivery_folder = _Via("_changes", ChangesArea.delivery_folder)
    deliver = _Via("_changes", ChangesArea.deliver)
    deliver_soon = _Via("_changes", ChangesArea.deliver_soon)
    run_deliveries = _Via("_changes", ChangesArea.run_deliveries)
    stop_deliveries = _Via("_changes", ChangesArea.stop_deliveries)
    delivery_observer = _Via("_changes", ChangesArea.delivery_observer)

    # --- access requests, shares, tokens, subscriptions -------------------------------------------------
    share = _Via("_grants", GrantsArea.share)
    create_token = _Via("_grants", GrantsArea.create_token)
    authenticate = _Via("_grants", GrantsArea.authenticate)
    verify_token = _Via("_grants", GrantsArea.verify_token)
    token_unchanged = _Via("_grants", GrantsArea.token_unchanged)
    scram_sign_in = _Via("_grants", GrantsArea.scram_sign_in)
    scram_signed_in = _Via("_grants", GrantsArea.scram_signed_in)
    tokens = _Via("_grants", GrantsArea.tokens)
    revoke_token = _Via("_grants", GrantsArea.revoke_token)
    access_terms = _Via("_grants", GrantsArea.access_terms)
    request_access = _Via("_grants", GrantsArea.request_access)
    decide_access = _Via("_grants", GrantsArea.decide_access)
    revoke_access = _Via("_grants", GrantsArea.revoke_access)
    subscribe = _Via("_grants", GrantsArea.subscribe)
    unsubscribe = _Via("_grants", GrantsArea.unsubscribe)
    subscriptions = _Via("_grants", GrantsArea.subscriptions)
    notifications = _Via("_grants", GrantsArea.notifications)
    access_requests = _Via("_grants", GrantsArea.access_requests)
    spaces = _Via("_grants", GrantsArea.spaces)

    # --- search -----------------------------------------------------------------------------------------
    search = _Via("_discovery", DiscoveryArea.search)
    reindex = _Via("_discovery", DiscoveryArea.reindex)
    keep_search_current = _Via("_discovery", DiscoveryArea.keep_search_current)

    # --- health, incidents, alerts ----------------------------------------------------------------------
    health_observer = _Via("_observability", ObservabilityArea.health_observer)
    sla = _Via("_observability", ObservabilityArea.sla)
    check_health = _Via("_observability", ObservabilityArea.check_health)
    product_health = _Via("_observability", ObservabilityArea.product_health)
    product_freshness = _Via("_observability", ObservabilityArea.product_freshness)
    health = _Via("_observability", ObservabilityArea.health)
    readable_products = _Via("_observability", ObservabilityArea.readable_products)
    slo_attainment = _Via("_observability", ObservabilityArea.slo_attainment)
    incidents = _Via("_observability", ObservabilityArea.incidents)
    incident = _Via("_observability", ObservabilityArea.incident)
    deliver_alerts = _Via("_observability", ObservabilityArea.deliver_alerts)
    flush_alerts = _Via("_observability", ObservabilityArea.flush_alerts)
    alert_deliveries = _Via("_observability", ObservabilityArea.alert_deliveries)
    retry_alerts = _Via("_observability", ObservabilityArea.retry_alerts)
    test_alert = _Via("_observability", ObservabilityArea.test_alert)

    # --- lineage and impact -----------------------------------------------------------------------------
    lineage_problems = _Via("_lineage", LineageArea.lineage_problems)
    lineage_graph = _Via("_lineage", LineageArea.lineage_graph)
    lineage = _Via("_lineage", LineageArea.lineage)
    impact = _Via("_lineage", LineageArea.impact)
    column_sources = _Via("_lineage", LineageArea.column_sources)
    openlineage_observer = _Via("_lineage", LineageArea.openlineage_observer)

    # --- maturity (DATSIS) ------------------------------------------------------------------------------
    maturity = _Via("_maturity", MaturityArea.maturity)
    maturity_all = _Via("_maturity", MaturityArea.maturity_all)
    maturity_history = _Via("_maturity", MaturityArea.maturity_history)
    maturity_for_build = _Via("_maturity", MaturityArea.maturity_for_build)
    maturity_observer = _Via("_maturity", MaturityArea.maturity_observer)

    # --- KPIs, feedback, metrics ------------------------------------------------------------------------
    metrics_observer = _Via("_kpis", KpisArea.metrics_observer)
    kpi_domains = _Via("_kpis", KpisArea.kpi_domains)
    kpis = _Via("_kpis", KpisArea.kpis)
    platform_metrics = _Via("_kpis", KpisArea.platform_metrics)
    product_feedback = _Via("_kpis", KpisArea.product_feedback)
    rate = _Via("_kpis", KpisArea.rate)
    delete_feedback = _Via("_kpis", KpisArea.delete_feedback)
