"""Addressable: the product has a stable, versioned address that SQL, the API and other products can
rely on, and its earlier versions stay readable."""

from __future__ import annotations

from quanta.discovery.maturity.facts import Facts, count, names
from quanta.discovery.maturity.scoring import Verdict, criterion
from quanta.spec.checks import is_semver


@criterion("addressable", "version", "A stable id and a semantic version", 15)
def version(facts: Facts) -> Verdict:
    given = facts.product.version
    if given and is_semver(given.lstrip("v")):
        return Verdict(1.0, f"{facts.product.id} version {given}")
    evidence = f"version {given!r} is not semantic" if given else "no version"
    return Verdict(0.0, evidence, f"set version: MAJOR.MINOR.PATCH (e.g. 1.0.0) in {facts.product_file}")


@criterion("addressable", "contracts", "Every output port is bound to a data contract", 20)
def contracts(facts: Facts) -> Verdict:
    ports = [p.name for p in facts.product.output_ports or []]
    bound = [p for p in ports if p in facts.contracts]
    unbound = [p for p in ports if p not in facts.contracts]
    if not ports:
        return Verdict(0.0, "no output port", f"declare outputPorts with a contract in {facts.product_file}")
    hint = f"set outputPorts[].contract for {names(unbound)} in {facts.product_file}"
    return Verdict.share(
        len(bound), len(ports), f"{len(bound)} of {count(len(ports), 'output port')} bound", hint
    )


@criterion("addressable", "port-versions", "Output ports declare their version", 10)
def port_versions(facts: Facts) -> Verdict:
    ports = facts.product.output_ports or []
    versioned = [p for p in ports if p.version]
    unversioned = names([p.name for p in ports if not p.version])
    hint = f"set outputPorts[].version for {unversioned} in {facts.product_file}"
    evidence = f"{len(versioned)} of {count(len(ports), 'output port')} versioned"
    return Verdict.share(len(versioned), len(ports), evidence, hint)


@criterion("addressable", "published", "Published: readable by SQL, the API and other products", 25)
def published(facts: Facts) -> Verdict:
    seen = facts.observed
    if seen.candidate:
        return Verdict(1.0, f"this build publishes {facts.product.version}")
    if not seen.published_versions:
        return Verdict(0.0, "never published", f"build it: quanta build {facts.product.id}")
    times = count(len(seen.published_versions), "time")
    return Verdict(1.0, f"published {times}, current version {seen.published_versions[-1]}")


@criterion("addressable", "history", "Earlier published versions stay readable", 20)
def history(facts: Facts) -> Verdict:
    readable = facts.observed.previous_readable
    if readable is None:
        return Verdict(
            1.0, "one published version so far: time travel starts with the next", applicable=False
        )
    if readable:
        return Verdict(1.0, "the previous published version is readable (id@version, id@time)")
    return Verdict(
        0.0,
        "the previous published version is no longer readable (its major version was retired)",
        f"keep majors readable longer: customProperties majorGraceDays in {facts.product_file}",
    )


@criterion("addressable", "management", "Management ports give its observability and control addresses", 10)
def management(facts: Facts) -> Verdict:
    ports = [p.name for p in facts.product.management_ports or []]
    if ports:
        return Verdict(1.0, f"{count(len(ports), 'management port')}: {names(ports)}")
    return Verdict(
        0.0,
        "no management port",
        f"add managementPorts: [{{name: observability, content: observability, type: rest, url: "
        f"/api/v1/products/{facts.product.id}/health}}] to {facts.product_file}",
    )
