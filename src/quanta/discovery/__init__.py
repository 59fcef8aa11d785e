"""Discovery: finding data products in the marketplace (full-text search with facets)."""
