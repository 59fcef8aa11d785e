"""Discovery in the ``Mesh`` facade: product search over the registry.

An area of the ``Mesh`` facade. The search index is derived data, built on first use and kept
current by ``apply``: a SQLite FTS5 file in the workspace's state folder, or, when the registry is
PostgreSQL, full-text tables in that same database, which every API worker shares.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.discovery.search.index import SearchIndex, SearchResult
    from quanta.mesh.core import MeshCore


class DiscoveryArea:
    """Find products by name, description, column, tag, owner or glossary term."""

    def __init__(self, core: MeshCore) -> None:
        self.core = core

    @cached_property
    def search_index(self) -> SearchIndex:
        """The index for the registry's backend, built from the registry when there is none yet."""
        index = self._search_backend
        if not index.exists():
            index.rebuild(self.core.registry)
        return index

    @cached_property
    def _search_backend(self) -> SearchIndex:
        from quanta.discovery.search.index import open_search_index

        state_dir = self.core.workspace.state_dir if self.core.workspace is not None else None
        return open_search_index(self.core.registry, state_dir)

    def search(
        self, query: str, *, filters: dict[str, str] | None = None, limit: int = 20, offset: int = 0
    ) -> SearchResult:
        """Products matching ``query`` (typos tolerated; '' lists all), best first, with facet counts.
        An index that is missing, corrupt or from an older Quanta is rebuilt from the registry once."""
        from quanta.discovery.search.index import REBUILD_HINT, SearchError

        try:
            return self.search_index.search(query, filters=filters, limit=limit, offset=offset)
        except SearchError as exc:
            if exc.hint != REBUILD_HINT:
                raise
        self.search_index.rebuild(self.core.registry)
        return self.search_index.search(query, filters=filters, limit=limit, offset=offset)

    def reindex(self, product_ids: list[str] | None = None) -> None:
        """Bring the search index up to date with the registry (some products, or all)."""
        if product_ids is None:
            self.search_index.rebuild(self.core.registry)
        else:
            self.search_index.update(self.core.registry, product_ids)

    def keep_search_current(self, product_ids: list[str]) -> None:
        """After ``apply``: re-index these products if an index exists (else it is built on first use)."""
        if product_ids and self._search_backend.exists():
            self._search_backend.update(self.core.registry, product_ids)
