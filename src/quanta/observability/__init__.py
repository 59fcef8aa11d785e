"""Observability: health of every product (run history, freshness against SLAs, anomalies, schema
changes), incidents and alert sinks, OpenLineage events, Prometheus metrics, lineage and impact."""
