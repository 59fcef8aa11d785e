"""The facets of a product's output dataset in OpenLineage events: schema, documentation and ownership
from the descriptor and contract; column lineage; the contract's checks, null counts and the Iceberg
snapshot of a run; rows written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.build.context import BuildResult
    from quanta.observability.lineage.columns import ProductLineage
    from quanta.observability.lineage.events import BuildFacts
    from quanta.spec.loader import LoadedProduct

from quanta.observability.lineage.columns import WHOLE

_FAILED = ("failed", "error")


def dataset_facets(loaded: LoadedProduct) -> dict[str, Any]:
    """Schema (from the contract), documentation (the product's purpose) and ownership."""
    from openlineage.client.facet_v2 import documentation_dataset, ownership_dataset, schema_dataset

    facets: dict[str, Any] = {}
    fields = [
        schema_dataset.SchemaDatasetFacetFields(
            name=p.column, type=p.physical_type or p.logical_type, description=p.description
        )
        for p in _properties(loaded)
    ]
    if fields:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=fields)
    product = loaded.product
    purpose = product.description.purpose if product.description else None
    if purpose:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(description=purpose)
    owners = (
        [ownership_dataset.Owner(name=f"user:{product.owner_name}", type="OWNER")]
        if product.owner_name
        else []
    )
    if product.team and product.team.name:
        owners.append(ownership_dataset.Owner(name=f"team:{product.team.name}", type="TEAM"))
    if owners:
        facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(owners=owners)
    return facets


def _properties(loaded: LoadedProduct) -> list[Any]:
    ports = loaded.product.output_ports or []
    bound = loaded.contracts.get(ports[0].name) if ports else None
    if bound is None or not bound.contract.objects:
        return []
    obj = bound.contract.object(ports[0].object) if ports[0].object else bound.contract.objects[0]
    return list((obj.properties if obj else None) or [])


def column_lineage_facet(facts: BuildFacts, loaded: LoadedProduct, lineage: ProductLineage) -> Any:
    """Each output column ► the input dataset fields it is computed from, with how (DIRECT subtypes)."""
    from openlineage.client.facet_v2 import column_lineage_dataset as cl

    from quanta.observability.lineage.events import source_dataset

    ports = {p.name: p for p in loaded.product.input_ports or []}
    fields: dict[str, list[Any]] = {}
    indirect: list[Any] = []
    for edge in lineage.edges:
        port = ports.get(edge.port)
        if port is None:
            continue
        namespace, name = source_dataset(facts, loaded, port)
        if edge.column == WHOLE:  # joins, filters, groupings: they shape every row, no single column
            step = cl.Transformation(type="INDIRECT")
            indirect.append(cl.InputField(namespace=namespace, name=name, field=edge.upstream_column,
                                          transformations=[step]))  # fmt: skip
            continue
        step = cl.Transformation(type="DIRECT", subtype=edge.transformation, masking=edge.masked)
        fields.setdefault(edge.column, []).append(
            cl.InputField(namespace=namespace, name=name, field=edge.upstream_column, transformations=[step])
        )
    return cl.ColumnLineageDatasetFacet(
        fields={column: cl.Fields(inputFields=found) for column, found in sorted(fields.items())},
        dataset=indirect,
    )


def quality_facets(
    result: BuildResult, snapshot: tuple[str, int] | None, stats: dict[str, Any]
) -> dict[str, Any]:
    """The Iceberg snapshot written, every contract check as an assertion, rows and null counts."""
    from openlineage.client.facet_v2 import (
        data_quality_assertions_dataset as dqa,
    )
    from openlineage.client.facet_v2 import (
        data_quality_metrics_dataset as dqm,
    )
    from openlineage.client.facet_v2 import (
        dataset_version_dataset,
    )

    facets: dict[str, Any] = {}
    if snapshot is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(snapshot[1])
        )
    checks = (result.checks or {}).get("checks") or []
    if checks:
        facets["dataQualityAssertions"] = dqa.DataQualityAssertionsDatasetFacet(
            assertions=[_assertion(dqa, check) for check in checks]
        )
    if stats:
        rows = next(iter(stats.values())).rows
        metrics = {
            column: dqm.ColumnMetrics(nullCount=s.nulls) for column, s in stats.items() if s.nulls is not None
        }
        facets["dataQualityMetrics"] = dqm.DataQualityMetricsDatasetFacet(
            columnMetrics=metrics, rowCount=rows
        )
    return facets


def _assertion(dqa: Any, check: dict[str, Any]) -> Any:
    measured = check.get("measured")
    return dqa.Assertion(
        assertion=str(check.get("kind") or "check"),
        success=check.get("verdict") not in _FAILED,
        column=check.get("column") or None,
        severity=check.get("severity"),
        name=check.get("name"),
        description=check.get("message"),
        expected=check.get("threshold"),
        actual=None if measured is None else str(measured),
    )


def statistics_facet(result: BuildResult) -> dict[str, Any]:
    from openlineage.client.facet_v2 import output_statistics_output_dataset as stats

    if result.status != "published" or not result.rows:
        return {}
    return {"outputStatistics": stats.OutputStatisticsOutputDatasetFacet(rowCount=sum(result.rows.values()))}
