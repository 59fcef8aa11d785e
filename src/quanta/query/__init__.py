"""Queries over data products: product names in SQL resolved to the snapshots they stand for."""
