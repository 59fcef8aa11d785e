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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.build.events import BuildObserver, tell_finished, tell_started
from quanta.build.transforms import BuildError, Transform, load_transform, run_python, sql_error
from quanta.contracts import Run, check_object
from quanta.engines import Engine, Input, get_engine
from quanta.engines.base import Column
from quanta.errors import QuantaError
from quanta.registry import Registry
from quanta.registry.stores.publishing import PublishRecord
from quanta.spec.contract import Contract, SchemaObject
from quanta.spec.loader import LoadedProduct
from quanta.storage import Warehouse
from quanta.storage.types import iceberg_type, sql_type

if TYPE_CHECKING:
    from quanta.governance.landing import LandingReport
    from quanta.governance.policies import PolicySet

LEASE = timedelta(minutes=2)
HEARTBEAT_SECONDS = 30.0
FAULT_ENV = "QUANTA_FAULT_INJECT"
"""Crash-safety tests set this to a stage name; the build process then kills itself there (SIGKILL)."""
Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class BuildResult:
    """What happened to one product: ``published``, ``skipped`` or ``failed``."""

    product_id: str
    status: str
    run_id: str
    version: str
    rows: dict[str, int] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    hint: str | None = None
    seconds: float = 0.0


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


@dataclass
class BuildContext:
    """The platform parts a build needs."""

    registry: Registry
    warehouse: Warehouse
    root: Path
    actor: str
    engine_options: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    trigger: str = "manual"
    progress: Progress | None = None
    policies: PolicySet | None = None
    """Publish-time policies (classification, ownership ...); None: none are checked."""
    observers: list[BuildObserver] = field(default_factory=list)
    """Told when each build starts and ends (OpenLineage, incidents, alerts); never block a build."""
    maturity: Callable[[LoadedProduct, list[dict[str, Any]]], dict[str, Any]] | None = None
    """The DATSIS maturity of the version being built, given what landed (``input.maturity`` of the
    publish policies); None: not computed."""

    def say(self, product_id: str, stage: str) -> None:
        if self.progress:
            self.progress(product_id, stage)


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
    inputs, meta, cursors = _inputs(ctx, loaded, last_data)
    # What it is : what it was built from, in the registry's 64 characters.
    fingerprint = f"{definition}:{_hash(meta)[:31]}"
    if last and last.fingerprint == fingerprint and not ctx.force:
        ctx.registry.finish_run(run_id, "skipped", reason="inputs, transform and contract unchanged")
        return BuildResult(product.id, "skipped", run_id, version, rows=last.rows)
    engine = get_engine((product.build.engine if product.build else None) or "duckdb", **ctx.engine_options)
    try:
        return _write_audit_publish(
            ctx,
            loaded,
            engine,
            inputs,
            transform,
            obj,
            contract,
            run_id,
            version,
            meta=meta,
            cursors=cursors,
            fingerprint=fingerprint,
            port=port.name,
            last=last_data,
        )
    finally:
        engine.close()


def _contract_object(contract: Contract, name: str | None, product_id: str) -> SchemaObject:
    objects = contract.objects
    chosen = contract.object(name) if name else (objects[0] if objects else None)
    if chosen is None:
        raise BuildError(f"{product_id}: contract {contract.id} has no schema object to build")
    return chosen


def _inputs(
    ctx: BuildContext, loaded: LoadedProduct, last: PublishRecord | None
) -> tuple[dict[str, Input], dict[str, Any], dict[str, Any]]:
    import pyarrow as pa

    from quanta.build.sources import reader_for
    from quanta.engines.base import ArrowInput

    inputs: dict[str, Input] = {}
    meta: dict[str, Any] = {}
    cursors: dict[str, Any] = {}
    for port in loaded.product.input_ports or []:
        if port.product:
            publish = _upstream_publish(ctx, port.product, port.version)
            upstream_port = port.port or next(iter(publish.snapshots))
            snapshot = publish.snapshots[upstream_port]
            inputs[port.name] = ctx.warehouse.scan(port.product, upstream_port, snapshot)
            meta[port.name] = {"product": port.product, "version": publish.version, "snapshot": snapshot}
        elif port.source:
            since = (last.cursors.get(port.name) if last else None) if port.source.cursor else None
            scan = reader_for(port.source).read(port.source, root=ctx.root, since=since)
            if isinstance(scan, ArrowInput) and not isinstance(scan.data, pa.Table):
                # A database stream can be read once; the build reads inputs more than once.
                scan = ArrowInput(scan.data.read_all())
            inputs[port.name] = scan
            meta[port.name] = _source_fingerprint(scan, since)
            if port.source.cursor:
                cursors[port.name] = since
    return inputs, meta, cursors


def _upstream_publish(ctx: BuildContext, product_id: str, pin: str | None) -> PublishRecord:
    import semver

    publishes = ctx.registry.publishes(product_id)
    if pin and pin != "latest":
        publishes = [p for p in publishes if _matches(semver.Version.parse(p.version), pin)]
    if not publishes:
        raise BuildError(
            f"input product {product_id} has no published version" + (f" matching {pin}" if pin else ""),
            hint=f"build it first: quanta build +{product_id}" if not pin else "relax the version pin",
        )
    return publishes[-1]


def _matches(version: Any, pin: str) -> bool:
    for part in (p.strip() for p in pin.split(",")):
        if part.startswith("^"):
            base = part[1:].lstrip("v").split(".")
            if version.major != int(base[0]) or (len(base) > 1 and version.minor < int(base[1])):
                return False
        elif part.startswith("~"):
            base = part[1:].lstrip("v").split(".")
            if version.major != int(base[0]) or (len(base) > 1 and version.minor != int(base[1])):
                return False
        elif part[:1] in "<>=":
            if not version.match(part if part[1:2] in "=" or part[0] in "<>" else "==" + part):
                return False
        elif str(version) != part.lstrip("v"):
            return False
    return True


def _source_fingerprint(scan: Input, since: Any) -> dict[str, Any]:
    from quanta.engines.base import FileScan

    if isinstance(scan, FileScan):
        stats = [(f, Path(f).stat().st_size, Path(f).stat().st_mtime_ns) for f in scan.files]
        return {"files": hashlib.sha256(json.dumps(stats).encode()).hexdigest(), "since": str(since)}
    # A database cannot be fingerprinted without reading it: it always counts as changed.
    return {"read_at": datetime.now(UTC).isoformat(), "since": str(since)}


def _definition_hash(descriptor: dict[str, Any], contract: dict[str, Any], transform: Transform) -> str:
    """What the product is: descriptor, contract and transform (the first half of a fingerprint)."""
    body = {"descriptor": descriptor, "contract": contract, "sql": transform.sql, "python": transform.python}
    return _hash(body)[:32]


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _write_audit_publish(
    ctx: BuildContext,
    loaded: LoadedProduct,
    engine: Engine,
    inputs: dict[str, Input],
    transform: Transform,
    obj: SchemaObject,
    contract: Contract,
    run_id: str,
    version: str,
    *,
    meta: dict[str, Any],
    cursors: dict[str, Any],
    fingerprint: str,
    port: str,
    last: PublishRecord | None,
) -> BuildResult:
    product_id = loaded.product.id
    ctx.warehouse.ensure_table(product_id, port, obj)
    if transform.python:
        inputs = {**inputs, "__result": run_python(loaded, transform.python, engine, inputs)}
    columns = _columns(ctx, product_id, port, obj)
    _conform(engine, transform, inputs, columns, product_id)
    new_cursors = _advance_cursors(engine, loaded, inputs, cursors)
    appending = bool(cursors) and last is not None
    if appending and last is not None and new_cursors == cursors and not ctx.force:
        ctx.registry.finish_run(run_id, "skipped", reason="no rows past the cursor")
        return BuildResult(product_id, "skipped", run_id, version, rows=last.rows)
    ctx.say(product_id, "writing")
    directory = ctx.warehouse.data_dir(product_id, port, run_id)
    try:
        files = engine.write_parquet(transform.sql, inputs, columns, str(directory))
    except Exception as exc:  # engine errors carry the useful text; translate them once, here
        error = sql_error(product_id, transform, exc, ", ".join(sorted(inputs)))
        if "Conversion Error" in str(exc) or "Could not convert" in str(exc):
            error = _cast_error(engine, transform, inputs, columns, loaded, port) or error
        raise error from None
    _fault("written")
    properties = {"quanta.run-id": run_id, "quanta.product": product_id, "quanta.version": version}
    snapshot = ctx.warehouse.stage(product_id, port, run_id, files, append=appending, properties=properties)
    _fault("staged")
    ctx.say(product_id, "auditing")
    stats = ctx.warehouse.column_stats(product_id, port, snapshot)
    staged = ctx.warehouse.scan(product_id, port, snapshot)
    # Classification, lineage tags, maturity and policies read the same staged snapshot: they run
    # while the contract scan (which releases the GIL) runs, and count only if the checks pass.
    with ThreadPoolExecutor(1, thread_name_prefix=f"landing {product_id}") as pool:
        landed = pool.submit(_governance, ctx, loaded, engine, staged, contract, transform, meta)
        # Relationships can be checked against the product's own inputs, by port name.
        run = check_object(contract, obj, engine, staged, stats, related=inputs)
    checks = {"summary": run.summary(), "checks": [c.to_dict() for c in run.checks]}
    rows = {port: ctx.warehouse.rows(product_id, port, snapshot)}
    if not run.passed:
        ctx.warehouse.quarantine(product_id, port, run_id, snapshot)
        message = _failure_message(product_id, run)
        ctx.registry.finish_run(run_id, "failed", message, checks=checks, snapshot=snapshot, port=port)
        ctx.registry.append_event(
            "build.quarantined",
            product_id,
            ctx.actor,
            {"run": run_id, "snapshot": snapshot, "failed": run.summary()["failed"]},
        )
        return BuildResult(
            product_id,
            "failed",
            run_id,
            version,
            rows,
            checks,
            message,
            hint=f"inspect it: quanta quarantine show {product_id} {run_id}",
        )
    landing = landed.result()
    governance = landing.to_dict()
    checks["governance"] = governance
    if landing.denied:
        ctx.warehouse.quarantine(product_id, port, run_id, snapshot)
        message = f"{product_id}: refused by policy: " + "; ".join(
            f"{d.policy}: {' '.join(d.messages)}" for d in landing.denied
        )
        ctx.registry.finish_run(run_id, "failed", message, checks=checks, snapshot=snapshot, port=port)
        ctx.registry.append_event("build.quarantined", product_id, ctx.actor, {"run": run_id, "policy": True})
        denied = {"run": run_id, "version": version, "policies": governance["policies"]}
        ctx.registry.audit(
            "publish", ctx.actor, product_id, "deny", domain=loaded.product.domain, details=denied
        )
        hint = f"classify the contract's columns; maturity gates: quanta score {product_id}; quanta policy ls"
        return BuildResult(product_id, "failed", run_id, version, rows, checks, message, hint=hint)
    _fault("audited")
    ctx.say(product_id, "publishing")
    ctx.registry.record_publish(
        PublishRecord(
            product_id,
            version,
            run_id,
            {port: snapshot},
            rows,
            meta,
            new_cursors,
            checks,
            fingerprint,
            datetime.now(UTC),
            ctx.actor,
        )
    )
    _fault("recorded")
    ctx.warehouse.publish(product_id, port, run_id, snapshot)
    _fault("published")
    ctx.registry.audit(
        "publish", ctx.actor, product_id, "allow", domain=loaded.product.domain,
        details={"run": run_id, "version": version, "snapshot": snapshot,
                 "detections": [d["column"] for d in governance["detections"]]},
    )  # fmt: skip
    return BuildResult(product_id, "published", run_id, version, rows, checks)


def _governance(
    ctx: BuildContext,
    loaded: LoadedProduct,
    engine: Engine,
    staged: Input,
    contract: Contract,
    transform: Transform,
    meta: dict[str, Any],
) -> LandingReport:
    """Classify a sample of the staged rows, inherit tags through lineage, run the publish policies."""
    from quanta.governance.landing import inherited_tags, inspect_landing

    sample = engine.query("select * from staged limit 1000", {"staged": staged})
    objects = {}
    for name, info in meta.items():
        if isinstance(info, dict) and "product" in info:
            upstream = ctx.registry.port_contracts(info["product"], info["version"])
            if upstream:
                objects[name] = Contract.model_validate(next(iter(upstream.values()))).objects[0]
    obj = contract.objects[0]
    inherited = inherited_tags(transform.sql, obj, objects) if transform.sql and objects else {}
    contracts = {name: c.contract for name, c in loaded.contracts.items()}
    maturity = ctx.maturity
    scored = (lambda detections: maturity(loaded, detections)) if maturity else None
    return inspect_landing(loaded.product, contracts, sample, ctx.policies, inherited, scored)


def _columns(ctx: BuildContext, product_id: str, port: str, obj: SchemaObject) -> list[Column]:
    ids = ctx.warehouse.field_ids(product_id, port)
    return [Column(ids[p.column], p.column, sql_type(iceberg_type(p))) for p in obj.properties or []]


def _conform(
    engine: Engine, transform: Transform, inputs: dict[str, Input], columns: list[Column], pid: str
) -> None:
    """The transform's columns must be exactly the contract's (order free); say which differ."""
    try:
        produced = [name for name, _ in engine.describe(transform.sql, inputs)]
    except Exception as exc:
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
    except Exception:  # the transform itself fails to run: not the contract's cast
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


def _fault(stage: str) -> None:
    import os
    import signal

    if os.environ.get(FAULT_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _failure_message(product_id: str, run: Run) -> str:
    failed = run.failures
    listed = "; ".join(f"{c.name} ({c.outcome()})" for c in failed[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    return f"{product_id}: contract checks failed, nothing published: {listed}{more}"
