"""Lineage: column lineage traced from transforms (``columns``) or declared (``declared``), the graph of
the whole mesh (``graph``), one product's view of it (``view``), and OpenLineage events and facets."""
