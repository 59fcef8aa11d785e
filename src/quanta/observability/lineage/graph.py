"""The lineage graph in memory: products, the sources they read, and column edges, as adjacency dicts.

Built from the registry in four queries and cached under the registry's lineage state (the highest
product version id and lineage record id), which changes whenever a version is registered or its
lineage recorded: each process (each API worker) checks that state, one indexed query, before using
its copy, so a change made by another worker or a CLI is seen on the next call.
"""

from __future__ import annotations

import gc
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from quanta.observability.lineage.columns import WHOLE

if TYPE_CHECKING:
    from quanta.registry import Registry
    from quanta.registry.stores.column_lineage import LineageRows

_BATCH = 50_000
NodeColumn = tuple[str, str]
"""(node id, column): a product's output column, or a source's column."""


@dataclass(frozen=True)
class ProductNode:
    """A product as the lineage graph knows it (its latest registered version)."""

    id: str
    domain: str
    name: str
    type: str | None
    status: str
    owner: str | None
    version: str
    visibility: str | None
    description: str | None
    method: str | None
    """How its column lineage was found: sql, declared, sql+declared, none; None: not recorded yet."""


@dataclass(frozen=True)
class SourceNode:
    """An external source one product reads through an input port (files or a database)."""

    id: str
    product_id: str
    port: str
    kind: str
    location: str


class ColumnLink(NamedTuple):
    """``column`` of ``node`` is computed from ``upstream_column`` of ``upstream`` (a tuple: the graph
    holds one per column edge of the mesh, built in bulk)."""

    node: str
    column: str
    upstream: str
    upstream_column: str
    transformation: str
    origin: str
    masked: bool


@dataclass
class LineageGraph:
    """Adjacency in both directions, for products (and sources) and for columns."""

    products: dict[str, ProductNode] = field(default_factory=dict)
    sources: dict[str, SourceNode] = field(default_factory=dict)
    upstream: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    """node ► [(upstream node, input port)]"""
    downstream: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    """node ► [(downstream product, its input port)]"""
    column_up: dict[NodeColumn, list[ColumnLink]] = field(default_factory=lambda: defaultdict(list))
    column_down: dict[NodeColumn, list[ColumnLink]] = field(default_factory=lambda: defaultdict(list))
    columns: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """node ► the columns that take part in some column edge"""

    @classmethod
    def from_rows(cls, rows: LineageRows) -> LineageGraph:
        graph = cls()
        for pid, domain, name, kind, status, owner, version in rows.products:
            descriptor = rows.descriptors.get(pid) or {}
            graph.products[pid] = ProductNode(
                pid, domain, name, kind, status, owner, version, _visibility(descriptor),
                (descriptor.get("description") or {}).get("purpose"), rows.methods.get(pid),
            )  # fmt: skip
        ports: dict[tuple[str, str], str] = {}
        for pid, port, upstream, spec in rows.inputs:
            if upstream is not None and upstream not in graph.products:
                continue  # a product no longer registered: nothing to show or follow
            node = upstream or graph._source(pid, port, spec.get("source") or {})
            ports[(pid, port)] = node
            graph.upstream[pid].append((node, port))
            graph.downstream[node].append((pid, port))
        for pid, column, port, _up, up_column, origin, transformation, masked in rows.columns:
            upstream = ports.get((pid, port))
            if upstream is None:  # a port the latest version no longer has
                continue
            link = ColumnLink(pid, column, upstream, up_column, transformation, origin, bool(masked))
            graph.column_up[(pid, column)].append(link)
            graph.column_down[(upstream, up_column)].append(link)
            graph.columns[upstream].add(up_column)
            if column != WHOLE:  # an indirect edge (joins, filters) reaches the product, no column
                graph.columns[pid].add(column)
        return graph

    def _source(self, product_id: str, port: str, spec: dict[str, Any]) -> str:
        node = f"{product_id}:{port}"
        kind = str(spec.get("type") or "source")
        location = spec.get("path") if kind == "file" else _safe_url(spec.get("url"), spec.get("table"))
        self.sources[node] = SourceNode(node, product_id, port, kind, str(location or port))
        return node

    def label(self, node: str) -> str:
        """How a node is named to people: the product id, or ``port (kind location)`` for sources."""
        source = self.sources.get(node)
        return f"{source.port} ({source.kind} {source.location})" if source else node

    def owner_product(self, node: str) -> str:
        """The product whose visibility decides whether ``node`` is shown (a source: its reader)."""
        source = self.sources.get(node)
        return source.product_id if source else node


def _visibility(descriptor: dict[str, Any]) -> str | None:
    for prop in descriptor.get("customProperties") or []:
        if prop.get("property") == "visibility":
            return str(prop.get("value"))
    return None


def _safe_url(url: Any, table: Any) -> str:
    """A database source without its password (``sqlite:///legacy.db`` ► ``... table``)."""
    if not url:
        return str(table or "")
    try:
        from sqlalchemy.engine import make_url

        shown = make_url(str(url)).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy knows: show only its scheme
        shown = str(url).split("://")[0] + "://…"
    return f"{shown} {table}" if table else shown


class GraphCache:
    """One process's copy of the graph, rebuilt when the registry's lineage state moves on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._graph: LineageGraph | None = None

    def get(self, registry: Registry) -> LineageGraph:
        key = registry.lineage_state()
        graph = self._graph
        if graph is not None and key == self._key:
            return graph
        with self._lock:  # one rebuild at a time; the others wait for it instead of repeating it
            if self._graph is None or key != self._key:
                self._graph, self._key = LineageGraph.from_rows(registry.lineage_rows()), key
                # The graph lives until the registry changes and holds no cycles (refcounting frees
                # it): keep the cyclic collector from walking its ~10^5 containers on every full pass,
                # which otherwise adds a few hundred milliseconds to whichever call triggers one.
                gc.freeze()
            return self._graph


class QueryLog:
    """Who queried which product (from the audit log), read incrementally: only new entries each time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._last: dict[str, dict[str, datetime]] = defaultdict(dict)

    def consumers(self, registry: Registry, products: set[str]) -> dict[str, dict[str, datetime]]:
        """product ► principal ► when they last queried it, for ``products``."""
        with self._lock:
            while True:
                rows = registry.queries_since(self._seq, limit=_BATCH)
                for seq, product, principal, at in rows:
                    self._seq = seq
                    self._last[product][principal] = at
                if len(rows) < _BATCH:
                    break
            return {p: dict(self._last[p]) for p in products if p in self._last}
