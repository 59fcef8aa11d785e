"""Discovery in the ``Mesh`` facade: product search over the registry.

A mixin of :class:`quanta.mesh.Mesh`. The search index is derived data (a SQLite FTS5 file in the
workspace's state folder), built on first use and kept current by ``apply``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.discovery.search import SearchIndex, SearchResult
    from quanta.registry import Registry
    from quanta.workspace import Workspace


class MeshDiscovery:
    """Mixin of ``Mesh``: find products by name, description, column, tag, owner or glossary term."""

    workspace: Workspace | None

    if TYPE_CHECKING:  # provided by Mesh; declared here for the type checker only

        @property
        def registry(self) -> Registry: ...

    @cached_property
    def search_index(self) -> SearchIndex:
        from quanta.discovery.search import SearchIndex
        from quanta.errors import WorkspaceError

        if self.workspace is None:
            raise WorkspaceError("search needs a workspace", hint="run inside a workspace ('quanta init')")
        self.workspace.state_dir.mkdir(parents=True, exist_ok=True)
        index = SearchIndex(self.workspace.state_dir / "search.db")
        if not index.path.exists():
            index.rebuild(self.registry)
        return index

    def search(
        self, query: str, *, filters: dict[str, str] | None = None, limit: int = 20, offset: int = 0
    ) -> SearchResult:
        """Products matching ``query`` (typos tolerated; '' lists all), best first, with facet counts.
        An index that is missing, corrupt or from an older Quanta is rebuilt from the registry once."""
        from quanta.discovery.search import REBUILD_HINT, SearchError

        try:
            return self.search_index.search(query, filters=filters, limit=limit, offset=offset)
        except SearchError as exc:
            if exc.hint != REBUILD_HINT:
                raise
        self.search_index.rebuild(self.registry)
        return self.search_index.search(query, filters=filters, limit=limit, offset=offset)

    def reindex(self, product_ids: list[str] | None = None) -> None:
        """Bring the search index up to date with the registry (some products, or all)."""
        if product_ids is None:
            self.search_index.rebuild(self.registry)
            return
        for product_id in product_ids:
            self.search_index.update(self.registry, product_id)
