"""Trustworthy: the contract says what good data is, and the platform has seen the product keep it:
builds pass, data arrives on time, no incident is open."""

from __future__ import annotations

from quanta.discovery.maturity.facts import Facts, count, names
from quanta.discovery.maturity.scoring import Verdict, criterion

RECENT_RUNS = 10
PASS_RATE = 0.9
SLO_TARGET = 0.95
MIN_RULES = 2


@criterion("trustworthy", "quality-rules", "The contract has quality rules", 20)
def quality_rules(facts: Facts) -> Verdict:
    on_objects = sum(len(o.quality or []) for c in facts.contracts.values() for o in c.objects)
    on_columns = sum(len(col.prop.quality or []) for col in facts.columns)
    total = on_objects + on_columns
    files = names(sorted({facts.contract_file(p) for p in facts.contracts})) or "the contract"
    if not facts.contracts:
        return Verdict(0.0, "no contract", f"bind a contract to the output port in {facts.product_file}")
    evidence = f"{count(total, 'quality rule')} ({on_objects} on tables, {on_columns} on columns)"
    hint = f"add schema[].quality rules (e.g. rowCount, duplicateValues, a SQL rule) in {files}"
    return Verdict.share(total, MIN_RULES, evidence, hint)


@criterion("trustworthy", "sla", "A freshness SLA is declared", 10)
def sla(facts: Facts) -> Verdict:
    declared = [
        f"{s.property} {s.value} {s.unit or ''}".strip()
        for c in facts.contracts.values()
        for s in c.sla_properties or []
        if s.property in ("latency", "frequency")
    ]
    if declared:
        return Verdict(1.0, names(declared))
    files = names(sorted({facts.contract_file(p) for p in facts.contracts})) or "the contract"
    return Verdict(
        0.0,
        "no latency or frequency SLA",
        f"add slaProperties: [{{property: latency, value: 1, unit: d}}] to {files}",
    )


@criterion("trustworthy", "pass-rate", f"At least {PASS_RATE:.0%} of recent builds passed", 25)
def pass_rate(facts: Facts) -> Verdict:
    runs = [r for r in facts.observed.runs if r.status != "skipped"][:RECENT_RUNS]
    if not runs:
        return Verdict(0.0, "never built", f"build it: quanta build {facts.product.id}")
    passed = sum(r.status == "published" for r in runs)
    evidence = f"{passed} of {count(len(runs), 'recent build')} published"
    return Verdict.share(
        passed, len(runs), evidence, f"see why builds fail: quanta runs {facts.product.id}", PASS_RATE
    )


@criterion("trustworthy", "freshness", f"Fresh within its SLA {SLO_TARGET:.0%} of the last 30 days", 20)
def freshness(facts: Facts) -> Verdict:
    attained = facts.observed.slo_attainment
    if attained is not None:
        evidence = f"fresh {attained:.0%} of the last 30 days"
        hint = f"publish on time (quanta schedule ls); the incidents say when {facts.product.id} was late"
        return Verdict.share(round(attained * 1000), 1000, evidence, hint, SLO_TARGET)
    # Freshness is measured against a latency (or freshness) SLA: how old the newest data may be.
    measured = [
        port
        for port, c in facts.contracts.items()
        for s in c.sla_properties or []
        if s.property in ("latency", "freshness")
    ]
    if measured:
        return Verdict(
            0.0, "no freshness history yet", "publish it on schedule: attainment is measured over 30 days"
        )
    files = names(sorted({facts.contract_file(p) for p in facts.contracts})) or "the contract"
    return Verdict(
        0.0,
        "no latency SLA to measure freshness against",
        "add slaProperties: [{property: latency, value: 1, unit: d, element: <table>.<date column>}] "
        f"to {files}",
    )


@criterion("trustworthy", "incidents", "No open incident", 15)
def incidents(facts: Facts) -> Verdict:
    found = list(facts.observed.open_incidents)
    if not found:
        return Verdict(1.0, "no open incident")
    return Verdict(
        0.0,
        f"{count(len(found), 'open incident')}: {names(found, 3)}",
        "fix the cause; an incident closes when the product recovers (next passing build or fresh publish)",
    )


@criterion("trustworthy", "last-build", "The latest build passed", 10)
def last_build(facts: Facts) -> Verdict:
    latest = next((r for r in facts.observed.runs if r.status != "skipped"), None)
    if latest is None:
        return Verdict(0.0, "never built", f"build it: quanta build {facts.product.id}")
    if latest.status == "published":
        return Verdict(1.0, f"build {latest.id} published")
    reason = f": {latest.error}" if latest.error else ""
    hint = (
        f"inspect it: quanta quarantine show {facts.product.id} {latest.id}"
        if latest.quarantined
        else f"see quanta runs {facts.product.id}, fix, then quanta build {facts.product.id}"
    )
    return Verdict(0.0, f"build {latest.id} {latest.status}{reason[:200]}", hint)
