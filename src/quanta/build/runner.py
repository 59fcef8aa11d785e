"""Build one product with write-audit-publish.

1. resolve inputs (sources, or the *published* snapshots of upstream products) and fingerprint them;
   skip when nothing changed since the last publish;
2. run the transform and write its result as Parquet, cast to the contract's types, tagged with
   Iceberg field ids (the engine writes in parallel; PyIceberg only commits metadata);
3. commit those files to the branch ``wap-<run>`` and test the contract on that staged snapshot;
4. pass: record the publish in the registry, then make the snapshot current (a crash in between is
   repaired on the next build from the registry, which is what consumers read);
   fail: keep the snapshot as ``quarantine-<run>``; consumers stay on the previous version.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from quanta.build.audit import audit
from quanta.build.context import (
    Audited,
    BuildContext,
    BuildResult,
    Candidate,
    Staged,
    fault,
)
from quanta.build.events import tell_finished, tell_started
from quanta.build.inputs import read_inputs
from quanta.build.transforms import BuildError, Transform, load_transform, run_python, sql_error
from quanta.engines import Engine, Input, get_engine
from quanta.engines.base import Column
from quanta.errors import EngineConversionError, EngineError, QuantaError
from quanta.registry import Registry
from quanta.registry.stores.publishing import PublishRecord
from quanta.spec.contract import Contract, SchemaObject
from quanta.spec.loader import LoadedProduct
from quanta.storage.types import iceberg_type, sql_type

if TYPE_CHECKING:
    pass

LEASE = timedelta(minutes=2)
HEARTBEAT_SECONDS = 30.0


class _Heartbeat:
    """Keeps a build's lease alive while it runs, so a dead build's lease expires within minutes."""

    def __init__(self, registry: Registry, lease: str, owner: str) -> None:
        self._registry, self._lease, self._owner = registry, lease, owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease {lease}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._registry.renew(self._lease, self._owner, LEASE)


def build_product(ctx: BuildContext, loaded: LoadedProduct) -> BuildResult:
    """Build, audit and publish one product; a failed audit is a result, not an exception."""
    product = loaded.product
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    started = datetime.now(UTC)
    lease = f"build:{product.id}"
    ctx.registry.mark_crashed_runs(product.id)
    if not ctx.registry.acquire(lease, run_id, LEASE):
        raise BuildError(
            f"{product.id} is already being built", hint="wait for that build, or see quanta runs"
        )
    version = product.version or "0.0.0"
    ctx.registry.start_run(
        run_id, product.id, version, ctx.trigger, pid=os.getpid(), host=socket.gethostname()
    )
    heartbeat = _Heartbeat(ctx.registry, lease, run_id)
    heartbeat.start()
    tell_started(ctx.observers, loaded, run_id, started)
    try:
        _repair(ctx, loaded)
        result = _build(ctx, loaded, run_id, version)
    except QuantaError as exc:  # sources, storage, engines: every known failure is this product's result
        message = exc.message if exc.message.startswith(product.id) else f"{product.id}: {exc.message}"
        ctx.registry.finish_run(run_id, "failed", message)
        ctx.registry.append_event("build.failed", product.id, ctx.actor, {"run": run_id, "error": message})
        result = BuildResult(product.id, "failed", run_id, version, error=message, hint=exc.hint)
    except BaseException as exc:
        ctx.registry.finish_run(run_id, "failed", f"internal error: {type(exc).__name__}: {exc}")
        failed = BuildResult(product.id, "failed", run_id, version, error=f"internal error: {exc}")
        tell_finished(ctx.observers, loaded, failed, started)
        raise
    finally:
        heartbeat.stop()
        ctx.registry.release(lease, run_id)
    seconds = (datetime.now(UTC) - started).total_seconds()
    result = BuildResult(**{**result.__dict__, "seconds": seconds})
    tell_finished(ctx.observers, loaded, result, started)
    return result


def _repair(ctx: BuildContext, loaded: LoadedProduct) -> None:
    """Undo what a killed build left behind: move Iceberg's pointer to the recorded publish and drop
    unfinished staging branches (their data was never audited, so it is never published)."""
    product_id = loaded.product.id
    last = ctx.registry.current_publish(product_id)
    recorded = last.snapshots if last else {}
    for port in loaded.product.output_ports or []:
        if not ctx.warehouse.exists(product_id, port.name):
            continue
        snapshot = recorded.get(port.name)
        if snapshot is not None and ctx.warehouse.current_snapshot(product_id, port.name) != snapshot:
            ctx.warehouse.set_current(product_id, port.name, snapshot)
        for run in ctx.warehouse.staged_runs(product_id, port.name):
            ctx.warehouse.discard_stage(product_id, port.name, run)


def _build(ctx: BuildContext, loaded: LoadedProduct, run_id: str, version: str) -> BuildResult:
    product = loaded.product
    outputs = product.output_ports or []
    if len(outputs) != 1:
        raise BuildError(
            f"{product.id}: only products with one output port can be built ({len(outputs)} declared)",
            hint="split the product, one transform per output port",
        )
    port = outputs[0]
    contract = loaded.contracts[port.name].contract
    obj = _contract_object(contract, port.object, product.id)
    ctx.say(product.id, "reading inputs")
    last = ctx.registry.current_publish(product.id)
    transform = load_transform(loaded)
    definition = _definition_hash(product.to_dict(), contract.to_dict(), transform)
    # A new descriptor, contract or transform: rebuild everything, not only the rows past a cursor.
    redefined = last is not None and not last.fingerprint.startswith(definition + ":")
    last_data = None if redefined else last
    inputs, meta, cursors = read_inputs(ctx, loaded, last_data)
    # What it is : what it was built from, in the registry's 64 characters.
    fingerprint = f"{definition}:{_hash(meta)[:31]}"
    if last and last.fingerprint == fingerprint and not ctx.force:
        ctx.registry.finish_run(run_id, "skipped", reason="inputs, transform and contract unchanged")
        return BuildResult(product.id, "skipped", run_id, version, rows=last.rows)
    name = (product.build.engine if product.build else None) or "duckdb"
    engine = get_engine(name, storage_paths=[str(ctx.warehouse.root.resolve())], **ctx.engine_options)
    try:
        candidate = Candidate(
            loaded, transform, contract, obj, port=port.name, run_id=run_id, version=version, inputs=inputs,
            meta=meta, cursors=cursors, fingerprint=fingerprint, last=last_data,
        )  # fmt: skip
        return _write_audit_publish(ctx, engine, candidate)
    finally:
        engine.close()


def _contract_object(contract: Contract, name: str | None, product_id: str) -> SchemaObject:
    objects = contract.objects
    chosen = contract.object(name) if name else (objects[0] if objects else None)
    if chosen is None:
        raise BuildError(f"{product_id}: contract {contract.id} has no schema object to build")
    return chosen


def _definition_hash(descriptor: dict[str, Any], contract: dict[str, Any], transform: Transform) -> str:
    """What the product is: descriptor, contract and transform (the first half of a fingerprint)."""
    body = {"descriptor": descriptor, "contract": contract, "sql": transform.sql, "python": transform.python}
    return _hash(body)[:32]


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _write_audit_publish(ctx: BuildContext, engine: Engine, candidate: Candidate) -> BuildResult:
    """Stage the candidate, audit the staged snapshot, then publish it; each step may end the build."""
    staged = _stage(ctx, engine, candidate)
    if isinstance(staged, BuildResult):
        return staged
    audited = audit(ctx, engine, candidate, staged)
    if isinstance(audited, BuildResult):
        return audited
    return _publish(ctx, candidate, staged, audited)


def _stage(ctx: BuildContext, engine: Engine, candidate: Candidate) -> Staged | BuildResult:
    """Run the transform, write its result as Parquet and commit it to the run's branch; skipped when an
    appending build finds no rows past its cursors."""
    loaded, transform, port, run_id = candidate.loaded, candidate.transform, candidate.port, candidate.run_id
    product_id, inputs, cursors, last = (
        candidate.product_id,
        candidate.inputs,
        candidate.cursors,
        candidate.last,
    )
    ctx.warehouse.ensure_table(product_id, port, candidate.obj)
    if transform.python:
        inputs = {**inputs, "__result": run_python(loaded, transform.python, engine, inputs)}
    columns = _columns(ctx, product_id, port, candidate.obj)
    _conform(engine, transform, inputs, columns, product_id)
    new_cursors = _advance_cursors(engine, loaded, inputs, cursors)
    appending = bool(cursors) and last is not None
    if appending and last is not None and new_cursors == cursors and not ctx.force:
        ctx.registry.finish_run(run_id, "skipped", reason="no rows past the cursor")
        return BuildResult(product_id, "skipped", run_id, candidate.version, rows=last.rows)
    ctx.say(product_id, "writing")
    directory = ctx.warehouse.data_dir(product_id, port, run_id)
    try:
        files = engine.write_parquet(transform.sql, inputs, columns, str(directory))
    except EngineError as exc:  # the engine's own words, positioned in the transform
        error = sql_error(product_id, transform, exc, ", ".join(sorted(inputs)))
        if isinstance(exc, EngineConversionError):
            error = _cast_error(engine, transform, inputs, columns, loaded, port) or error
        raise error from None
    fault("written")
    properties = {"quanta.run-id": run_id, "quanta.product": product_id, "quanta.version": candidate.version}
    snapshot = ctx.warehouse.stage(product_id, port, run_id, files, append=appending, properties=properties)
    fault("staged")
    rows = {port: ctx.warehouse.rows(product_id, port, snapshot)}
    return Staged(snapshot, inputs, new_cursors, rows)


def _publish(ctx: BuildContext, candidate: Candidate, staged: Staged, audited: Audited) -> BuildResult:
    """Record the publish in the registry, then make the snapshot current (a crash in between is
    repaired on the next build from the registry, which is what consumers read)."""
    product_id, port, run_id, version = (
        candidate.product_id,
        candidate.port,
        candidate.run_id,
        candidate.version,
    )
    ctx.say(product_id, "publishing")
    ctx.registry.record_publish(
        PublishRecord(
            product_id,
            version,
            run_id,
            {port: staged.snapshot},
            staged.rows,
            candidate.meta,
            staged.cursors,
            audited.checks,
            candidate.fingerprint,
            datetime.now(UTC),
            ctx.actor,
        )
    )
    fault("recorded")
    ctx.warehouse.publish(product_id, port, run_id, staged.snapshot)
    fault("published")
    details = {
        "run": run_id,
        "version": version,
        "snapshot": staged.snapshot,
        "detections": audited.detections,
    }
    ctx.registry.audit(
        "publish", ctx.actor, product_id, "allow", domain=candidate.loaded.product.domain, details=details
    )
    return BuildResult(product_id, "published", run_id, version, staged.rows, audited.checks)


def _columns(ctx: BuildContext, product_id: str, port: str, obj: SchemaObject) -> list[Column]:
    ids = ctx.warehouse.field_ids(product_id, port)
    return [Column(ids[p.column], p.column, sql_type(iceberg_type(p))) for p in obj.properties or []]


def _conform(
    engine: Engine, transform: Transform, inputs: dict[str, Input], columns: list[Column], pid: str
) -> None:
    """The transform's columns must be exactly the contract's (order free); say which differ."""
    try:
        produced = [name for name, _ in engine.describe(transform.sql, inputs)]
    except EngineError as exc:
        raise sql_error(pid, transform, exc, ", ".join(sorted(inputs))) from None
    expected = [c.name for c in columns]
    missing = [c for c in expected if c not in produced]
    extra = [c for c in produced if c not in expected]
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(extra)}"] if extra else []
        )
        where = f" ({transform.file})" if transform.file else ""
        raise BuildError(
            f"{pid}: the transform's columns do not match the contract: {'; '.join(parts)}{where}",
            hint="rename columns in the transform (select x as y) or update the contract",
        )


def _advance_cursors(
    engine: Engine, loaded: LoadedProduct, inputs: dict[str, Input], cursors: dict[str, Any]
) -> dict[str, Any]:
    advanced = dict(cursors)
    for port in loaded.product.input_ports or []:
        if port.source and port.source.cursor and port.name in inputs:
            column, view = _quote(port.source.cursor), _quote(port.name)
            table = engine.query(f"select max({column}) from {view}", {port.name: inputs[port.name]})
            value = table.column(0)[0].as_py()
            if value is not None:
                advanced[port.name] = value.isoformat() if hasattr(value, "isoformat") else value
    return advanced


def _cast_error(
    engine: Engine,
    transform: Transform,
    inputs: dict[str, Input],
    columns: list[Column],
    loaded: LoadedProduct,
    port: str,
) -> BuildError | None:
    """Which columns hold values the contract's types cannot take, with an example of each; None when
    the failing cast is the transform's own (then the engine's positioned error says more)."""
    parts = []
    for c in columns:
        name = _quote(c.name)
        misfit = f"{name} is not null and try_cast({name} as {c.sql_type}) is null"
        parts.append(f"count(*) filter (where {misfit}), min({name}::varchar) filter (where {misfit})")
    try:
        row = engine.query(
            f"select {', '.join(parts)} from ({transform.sql}\n) as result", inputs
        ).to_pylist()[0]
    except EngineError:  # the transform itself fails to run: not the contract's cast
        return None
    values = list(row.values())
    bad = [
        f"{c.name} ({values[2 * i]:,} value(s) such as {values[2 * i + 1]!r} are not {c.sql_type})"
        for i, c in enumerate(columns)
        if values[2 * i]
    ]
    output = loaded.product.output(port)
    files = [f"transform {transform.file}"] if transform.file else []
    files += [f"contract {loaded.folder / output.contract}"] if output and output.contract else []
    where = f" ({', '.join(files)})" if files else ""
    if not bad:
        return None
    found = "; ".join(bad)
    return BuildError(
        f"{loaded.product.id}: the data does not fit the contract's types: {found}{where}",
        hint="cast or clean these columns in the transform, or fix the contract's logicalType/physicalType",
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
