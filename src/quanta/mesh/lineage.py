"""Lineage in the ``Mesh`` facade: the product and column lineage graph, impact analysis and
OpenLineage events of builds.

An area of the ``Mesh`` facade. Column lineage is computed when versions are applied (SQL traced
by sqlglot, Python transforms declared) and stored in the registry. Who sees what: a lineage graph or
an impact analysis names only the products the viewer may read (and the product asked about); the
others are counted, never named.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.errors import NotFoundError, SpecError

if TYPE_CHECKING:
    from quanta.build.events import BuildObserver
    from quanta.errors import Problem
    from quanta.mesh.core import MeshCore
    from quanta.observability.impact import Impact, TouchedColumn
    from quanta.observability.lineage.columns import ProductLineage, UpstreamColumns
    from quanta.observability.lineage.graph import GraphCache, LineageGraph, QueryLog
    from quanta.observability.lineage.view import Direction, LineageView, Visible
    from quanta.registry import Registration
    from quanta.spec import LoadedProduct

log = logging.getLogger(__name__)


class LineageArea:
    """The product and column lineage graph, impact analysis, OpenLineage events of builds."""

    def __init__(self, core: MeshCore) -> None:
        self.core = core

    # --- recording, when versions are applied ------------------------------------------------------

    def record_lineage(self, products: list[LoadedProduct], registrations: list[Registration]) -> None:
        """Store the column lineage of every applied version that has none yet (new versions, and
        versions registered before lineage was recorded)."""
        recorded = self.core.registry.recorded_lineage(r.product_id for r in registrations)
        columns = self._upstream_columns(products)
        problems: list[Problem] = []
        for loaded, registration in zip(products, registrations, strict=True):
            if (registration.product_id, registration.version) in recorded:
                continue
            lineage, found = self._product_lineage(loaded, columns)
            problems += found
            if not found:
                self.core.registry.record_lineage(
                    lineage.product_id, lineage.version, lineage.method, lineage.edges
                )
        if problems:
            raise SpecError(problems, "the declared column lineage has problems; fix them and apply again")

    def lineage_problems(self, products: list[LoadedProduct]) -> list[Problem]:
        """Problems of the declared column lineage (the ``lineage`` custom property), positioned; SQL
        lineage is traced once, at apply, not on every validation."""
        from quanta.observability.lineage.columns import output_columns
        from quanta.observability.lineage.declared import declared_edges

        columns = self._upstream_columns(products)
        return [p for loaded in products for p in declared_edges(loaded, output_columns(loaded), columns)[1]]

    def _product_lineage(
        self, loaded: LoadedProduct, columns: UpstreamColumns
    ) -> tuple[ProductLineage, list[Problem]]:
        from quanta.observability.lineage.columns import product_lineage

        return product_lineage(loaded, _transform_sql(loaded), columns)

    def _upstream_columns(self, products: list[LoadedProduct]) -> UpstreamColumns:
        """A product's output columns: from the products at hand first, else its registered contract."""
        from quanta.observability.lineage.columns import output_columns

        known: dict[str, list[str] | None] = {p.product.id: output_columns(p) for p in products}

        def columns(product_id: str) -> list[str] | None:
            if product_id not in known:
                known[product_id] = self._registered_columns(product_id)
            return known[product_id]

        return columns

    def _registered_columns(self, product_id: str) -> list[str] | None:
        try:
            contracts = self.core.registry.port_contracts(product_id)
        except NotFoundError:
            return None
        for document in contracts.values():
            for obj in (document.get("schema") or [])[:1]:
                return [str(p.get("name")) for p in obj.get("properties") or []]
        return None

    # --- the graph, views and impact ---------------------------------------------------------------

    @cached_property
    def _lineage_cache(self) -> GraphCache:
        from quanta.observability.lineage.graph import GraphCache

        return GraphCache()

    @cached_property
    def _query_log(self) -> QueryLog:
        from quanta.observability.lineage.graph import QueryLog

        return QueryLog()

    def lineage_graph(self) -> LineageGraph:
        """The whole mesh's lineage (latest versions), from this process's cache when still current."""
        return self._lineage_cache.get(self.core.registry)

    def lineage(
        self,
        product_id: str,
        *,
        direction: Direction = "both",
        depth: int | None = None,
        columns: bool = False,
    ) -> LineageView:
        """The products and sources upstream and/or downstream of ``product_id``, as the acting
        principal may see them; with ``columns``, the column edges between them too."""
        from quanta.observability.lineage.view import lineage_view

        graph = self._graph_with(product_id)
        return lineage_view(graph, product_id, self._visibility(graph), direction, depth, columns)

    def impact(self, ref: str, *, depth: int | None = None) -> Impact:
        """What a change to ``domain.product`` or ``domain.product.column`` would touch downstream:
        products and columns (with paths) and the principals using them (grants, queries)."""
        from quanta.observability.impact import analyse, with_consumers

        product_id, column = _split_ref(ref)
        graph = self._graph_with(product_id)
        if column is not None and column not in graph.columns.get(product_id, ()):
            self._check_column(product_id, column)  # a column without lineage edges: ask its contract
        found = analyse(graph, product_id, column, self._visibility(graph), depth)
        touched = {product_id, *(p.product_id for p in found.products)}
        grants = self.core.registry.active_grantees(touched, datetime.now(UTC))
        return with_consumers(found, grants, self._query_log.consumers(self.core.registry, touched))

    def column_sources(self, ref: str, *, depth: int | None = None) -> tuple[list[TouchedColumn], int]:
        """The columns upstream that ``domain.product.column`` is computed from (products' and
        sources'), and how many products among them the acting principal may not see."""
        from quanta.observability.impact import column_sources

        product_id, column = _split_ref(ref)
        graph = self._graph_with(product_id)
        if column is None:
            raise NotFoundError(f"{ref!r} names no column", hint="use domain.product.column")
        if column not in graph.columns.get(product_id, ()):
            self._check_column(product_id, column)
        return column_sources(graph, product_id, column, self._visibility(graph), depth)

    def _graph_with(self, product_id: str) -> LineageGraph:
        graph = self.lineage_graph()
        if product_id not in graph.products:
            self.core.registry.descriptor(product_id)  # the helpful error (did you mean ...?)
            raise NotFoundError(f"no product {product_id!r} in the lineage graph", hint="quanta apply")
        return graph

    def _check_column(self, product_id: str, column: str) -> None:
        import difflib

        known = self._registered_columns(product_id) or []
        if column not in known:
            close = difflib.get_close_matches(column, known, n=1)
            hint = f"did you mean {product_id}.{close[0]}?" if close else f"columns: {', '.join(known)}"
            raise NotFoundError(f"{product_id} has no column {column!r}", hint=hint)

    def _visibility(self, graph: LineageGraph) -> Visible:
        """Whether the acting principal may see a product: the access decision to read it."""
        from quanta.governance.access import ProductFacts, decide

        principal = self.core.principal()
        owners = [principal.id] + ([f"space:{principal.space}"] if principal.space else [])
        grants = [g for who in owners for g in self.core.registry.grants(principal=who)]
        governance = self.core.governance
        decided: dict[str, bool] = {}

        def visible(product_id: str) -> bool:
            node = graph.products.get(product_id)
            if node is None:
                return False
            if product_id not in decided:
                facts = ProductFacts(product_id, node.domain, node.type, node.visibility)
                decided[product_id] = decide(principal, facts, grants, governance).allowed
            return decided[product_id]

        return visible

    # --- OpenLineage -------------------------------------------------------------------------------

    def openlineage_observer(self) -> BuildObserver | None:
        """The build observer for OpenLineage run events (None: QUANTA_OPENLINEAGE_TRANSPORT=none)."""
        from quanta import __version__
        from quanta.observability.lineage.events import BuildFacts
        from quanta.observability.openlineage import OpenLineageObserver, sender_for

        state = self.core.workspace.state_dir if self.core.workspace else None
        try:
            sender = sender_for(self.core.settings, state)
        except Exception as exc:  # a misconfigured destination is logged; builds go on without it
            log.warning("OpenLineage events are off: %s", getattr(exc, "message", exc))
            return None
        if sender is None:
            return None
        workspace = self.core.workspace
        facts = BuildFacts(
            namespace=self.core.settings.openlineage_namespace
            or f"quanta://{workspace.name if workspace else 'mesh'}",
            root=workspace.root if workspace else Path.cwd(),
            registry=self.core.registry,
            column_stats=self.core.warehouse.column_stats,
            lineage=lambda loaded: self._product_lineage(loaded, self._upstream_columns([loaded]))[0],
            sql=_transform_sql,
            quanta_version=__version__,
        )
        return OpenLineageObserver(sender, facts)


def _split_ref(ref: str) -> tuple[str, str | None]:
    """``sales.orders`` ► (sales.orders, None); ``sales.orders.customer_id`` ► (sales.orders, customer_id)."""
    parts = ref.strip().split(".")
    if len(parts) >= 3:
        return ".".join(parts[:2]), ".".join(parts[2:])
    return ref.strip(), None


def _transform_sql(loaded: LoadedProduct) -> str | None:
    """The SQL a build of ``loaded`` runs (None: a Python transform, or a transform that cannot load)."""
    from quanta.build.transforms import load_transform
    from quanta.errors import QuantaError

    try:
        transform = load_transform(loaded)
    except (QuantaError, OSError):
        return None
    return None if transform.python else transform.sql
