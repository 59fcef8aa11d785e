"""OpenLineage run events of a build: START, then COMPLETE (published), FAIL (failed, quarantined or
refused by policy) or ABORT (skipped: nothing changed, nothing written), made with openlineage-python.

Names follow the OpenLineage naming spec: jobs and product datasets in the namespace
``quanta://<workspace>`` (a product's output port ``orders`` of ``sales.orders`` is the dataset
``sales.orders.orders``), files in ``file`` by absolute path, databases by their server (``postgres://
host:5432``, ``sqlite`` for files). The Quanta run id maps to the OpenLineage run id by UUIDv5.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client.event_v2 import InputDataset, OutputDataset, RunEvent

    from quanta.build.context import BuildResult
    from quanta.observability.lineage.columns import ProductLineage
    from quanta.registry import Registry
    from quanta.spec.loader import LoadedProduct

RUN_NAMESPACE = uuid.UUID("9b1f2c3e-6f0a-5d1e-9a44-0c5b8e7d2a10")
STATES = {"published": "COMPLETE", "failed": "FAIL", "skipped": "ABORT"}


@dataclass(frozen=True)
class BuildFacts:
    """What events say about a build beyond the build's own result, read when the event is made."""

    namespace: str
    root: Path
    registry: Registry
    column_stats: Callable[[str, str, int], dict[str, Any]]
    """(product, port, snapshot) ► column ► stats with ``rows`` and ``nulls``"""
    lineage: Callable[[LoadedProduct], ProductLineage]
    sql: Callable[[LoadedProduct], str | None]
    quanta_version: str


def run_uuid(run_id: str) -> str:
    """The OpenLineage run id (a UUID) of a Quanta build run: START and the end event share it."""
    return str(uuid.uuid5(RUN_NAMESPACE, run_id))


def start_event(facts: BuildFacts, loaded: LoadedProduct, run_id: str, at: datetime) -> RunEvent:
    from openlineage.client.event_v2 import RunEvent, RunState

    return RunEvent(
        eventType=RunState.START,
        eventTime=at.isoformat(),
        run=_run(facts, run_id, at),
        job=_job(facts, loaded),
        inputs=_inputs(facts, loaded, None),
        outputs=[_output(facts, loaded, None, None, None)],
    )


def end_event(facts: BuildFacts, loaded: LoadedProduct, result: BuildResult, started: datetime) -> RunEvent:
    from datetime import UTC

    from openlineage.client.event_v2 import RunEvent, RunState

    state = RunState(STATES.get(result.status, "FAIL"))
    snapshot = _snapshot(facts.registry, result) if state != RunState.ABORT else None
    run = _run(facts, result.run_id, started, result.error if state == RunState.FAIL else None)
    outputs = (
        [] if state == RunState.ABORT else [_output(facts, loaded, result, snapshot, facts.lineage(loaded))]
    )
    return RunEvent(
        eventType=state,
        eventTime=datetime.now(UTC).isoformat(),
        run=run,
        job=_job(facts, loaded),
        inputs=_inputs(facts, loaded, result),
        outputs=outputs,
    )


def _run(facts: BuildFacts, run_id: str, started: datetime, error: str | None = None) -> Any:
    from openlineage.client import __version__ as client_version
    from openlineage.client.event_v2 import Run
    from openlineage.client.facet_v2 import error_message_run, nominal_time_run, processing_engine_run

    facets: dict[str, Any] = {
        "nominalTime": nominal_time_run.NominalTimeRunFacet(nominalStartTime=started.isoformat()),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=facts.quanta_version, name="quanta", openlineageAdapterVersion=client_version
        ),
    }
    if error:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    return Run(runId=run_uuid(run_id), facets=facets)


def _job(facts: BuildFacts, loaded: LoadedProduct) -> Any:
    from openlineage.client.event_v2 import Job
    from openlineage.client.facet_v2 import job_type_job, sql_job

    sql = facts.sql(loaded)
    facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="QUANTA", jobType="QUERY" if sql else "PYTHON"
        )
    }
    if sql:
        facets["sql"] = sql_job.SQLJobFacet(query=sql, dialect="duckdb")
    return Job(namespace=facts.namespace, name=loaded.product.id, facets=facets)


def dataset_name(product_id: str, port: str) -> str:
    return f"{product_id}.{port}"


def _inputs(facts: BuildFacts, loaded: LoadedProduct, result: BuildResult | None) -> list[InputDataset]:
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.facet_v2 import dataset_version_dataset

    read = _inputs_read(facts.registry, loaded.product.id, result)
    inputs = []
    for port in loaded.product.input_ports or []:
        namespace, name = source_dataset(facts, loaded, port)
        facets: dict[str, Any] = {}
        snapshot = (read.get(port.name) or {}).get("snapshot")
        if snapshot is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(snapshot)
            )
        inputs.append(InputDataset(namespace=namespace, name=name, facets=facets))
    return inputs


def source_dataset(facts: BuildFacts, loaded: LoadedProduct, port: Any) -> tuple[str, str]:
    """(namespace, name) of what an input port reads: another product's output, files or a table."""
    if port.product:
        upstream_port = port.port or _first_port(facts.registry, port.product)
        return facts.namespace, dataset_name(port.product, upstream_port)
    source = port.source
    if source is not None and source.type == "file":
        path = Path(source.path)
        path = path if path.is_absolute() else facts.root / path
        folder = path.parent if any(ch in path.name for ch in "*?[") else path
        return "file", str(folder.resolve())
    if source is not None and source.type == "database":
        return _database(source.url, source.table or f"{loaded.product.id}.{port.name}", facts.root)
    return facts.namespace, f"{loaded.product.id}.{port.name}"


def _database(url: str, table: str, root: Path) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = Path(parsed.database or "")
        return "sqlite", f"{(database if database.is_absolute() else root / database).resolve()}.{table}"
    host = f"{parsed.host or 'localhost'}" + (f":{parsed.port}" if parsed.port else "")
    return f"{parsed.get_backend_name()}://{host}", f"{parsed.database}.{table}"


def _first_port(registry: Registry, product_id: str) -> str:
    try:
        return next(iter(registry.port_contracts(product_id)), "data")
    except Exception:  # an upstream not registered (yet): name its dataset by the product only
        return "data"


def _inputs_read(registry: Registry, product_id: str, result: BuildResult | None) -> dict[str, Any]:
    """Input port ► what the run read (product, version, snapshot), for a published run."""
    if result is None or result.status != "published":
        return {}
    current = registry.current_publish(product_id)
    return dict(current.inputs) if current is not None and current.run_id == result.run_id else {}


def _snapshot(registry: Registry, result: BuildResult) -> tuple[str, int] | None:
    """(port, Iceberg snapshot) the run wrote: published, or kept in quarantine."""
    current = registry.current_publish(result.product_id)
    if result.status == "published" and current is not None and current.run_id == result.run_id:
        return next(iter(current.snapshots.items()))
    run = next((r for r in registry.runs(result.product_id, 20) if r.id == result.run_id), None)
    if run is not None and run.details.get("snapshot") is not None:
        return str(run.details.get("port")), int(run.details["snapshot"])
    return None


def _output(
    facts: BuildFacts,
    loaded: LoadedProduct,
    result: BuildResult | None,
    snapshot: tuple[str, int] | None,
    lineage: ProductLineage | None,
) -> OutputDataset:
    from openlineage.client.event_v2 import OutputDataset

    from quanta.observability.lineage.facets import (
        column_lineage_facet,
        dataset_facets,
        quality_facets,
        statistics_facet,
    )

    port = (loaded.product.output_ports or [])[0].name if loaded.product.output_ports else "data"
    facets = dataset_facets(loaded)
    output_facets: dict[str, Any] = {}
    if lineage is not None and lineage.edges:
        facets["columnLineage"] = column_lineage_facet(facts, loaded, lineage)
    if result is not None:
        stats = facts.column_stats(loaded.product.id, snapshot[0], snapshot[1]) if snapshot else {}
        facets.update(quality_facets(result, snapshot, stats))
        output_facets.update(statistics_facet(result))
    return OutputDataset(
        namespace=facts.namespace,
        name=dataset_name(loaded.product.id, port),
        facets=facets,
        outputFacets=output_facets,
    )
