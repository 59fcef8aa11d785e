"""The audit step of write-audit-publish: the contract's checks and the landing governance
(classification, inherited tags, maturity, publish policies) on the staged snapshot; a snapshot that
fails either is quarantined and the failure is the build's result."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from quanta.build.context import Audited, BuildContext, BuildResult, Candidate, Staged, fault
from quanta.contracts import Run, check_object
from quanta.engines import Engine, Input
from quanta.spec.contract import Contract

if TYPE_CHECKING:
    from quanta.governance.landing import LandingReport


def audit(ctx: BuildContext, engine: Engine, candidate: Candidate, staged: Staged) -> Audited | BuildResult:
    """Test the contract on the staged snapshot and run the landing governance on it; a failure
    quarantines the snapshot and is the build's result."""
    product_id, port = candidate.product_id, candidate.port
    ctx.say(product_id, "auditing")
    stats = ctx.warehouse.column_stats(product_id, port, staged.snapshot)
    data = ctx.warehouse.scan(product_id, port, staged.snapshot)
    # Classification, lineage tags, maturity and policies read the same staged snapshot: they run
    # while the contract scan (which releases the GIL) runs, and count only if the checks pass.
    with ThreadPoolExecutor(1, thread_name_prefix=f"landing {product_id}") as pool:
        landed = pool.submit(_governance, ctx, candidate, engine, data)
        # Relationships can be checked against the product's own inputs, by port name.
        run = check_object(candidate.contract, candidate.obj, engine, data, stats, related=staged.inputs)
    checks = {"summary": run.summary(), "checks": [c.to_dict() for c in run.checks]}
    if not run.passed:
        message = _failure_message(product_id, run)
        _quarantine(
            ctx,
            candidate,
            staged,
            message,
            checks,
            {"snapshot": staged.snapshot, "failed": run.summary()["failed"]},
        )
        hint = f"inspect it: quanta quarantine show {product_id} {candidate.run_id}"
        return _failed(candidate, staged, checks, message, hint)
    landing = landed.result()
    governance = landing.to_dict()
    checks["governance"] = governance
    if landing.denied:
        message = f"{product_id}: refused by policy: " + "; ".join(
            f"{d.policy}: {' '.join(d.messages)}" for d in landing.denied
        )
        _quarantine(ctx, candidate, staged, message, checks, {"policy": True})
        denied = {"run": candidate.run_id, "version": candidate.version, "policies": governance["policies"]}
        domain = candidate.loaded.product.domain
        ctx.registry.audit("publish", ctx.actor, product_id, "deny", domain=domain, details=denied)
        hint = f"classify the contract's columns; maturity gates: quanta score {product_id}; quanta policy ls"
        return _failed(candidate, staged, checks, message, hint)
    fault("audited")
    return Audited(checks, [d["column"] for d in governance["detections"]])


def _quarantine(
    ctx: BuildContext,
    candidate: Candidate,
    staged: Staged,
    message: str,
    checks: dict[str, Any],
    why: dict[str, Any],
) -> None:
    """Keep a snapshot that failed its audit as ``quarantine-<run>`` and record the failed run."""
    product_id, port, run_id = candidate.product_id, candidate.port, candidate.run_id
    ctx.warehouse.quarantine(product_id, port, run_id, staged.snapshot)
    ctx.registry.finish_run(run_id, "failed", message, checks=checks, snapshot=staged.snapshot, port=port)
    ctx.registry.append_event("build.quarantined", product_id, ctx.actor, {"run": run_id, **why})


def _failed(
    candidate: Candidate, staged: Staged, checks: dict[str, Any], message: str, hint: str
) -> BuildResult:
    return BuildResult(
        candidate.product_id,
        "failed",
        candidate.run_id,
        candidate.version,
        staged.rows,
        checks,
        message,
        hint=hint,
    )


def _governance(ctx: BuildContext, candidate: Candidate, engine: Engine, staged: Input) -> LandingReport:
    """Classify a sample of the staged rows, inherit tags through lineage, run the publish policies."""
    from quanta.governance.landing import inherited_tags, inspect_landing

    loaded, contract, transform = candidate.loaded, candidate.contract, candidate.transform
    sample = engine.query("select * from staged limit 1000", {"staged": staged})
    objects = {}
    for name, info in candidate.meta.items():
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


def _failure_message(product_id: str, run: Run) -> str:
    failed = run.failures
    listed = "; ".join(f"{c.name} ({c.outcome()})" for c in failed[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    return f"{product_id}: contract checks failed, nothing published: {listed}{more}"
