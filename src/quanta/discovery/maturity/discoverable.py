"""Discoverable: consumers find the product and understand at a glance what it is, who owns it and
how to use it."""

from __future__ import annotations

from quanta.discovery.maturity.facts import Facts, count, glossary_terms, names
from quanta.discovery.maturity.scoring import Verdict, criterion

MIN_PURPOSE_WORDS = 5


@criterion("discoverable", "purpose", "The purpose says what the data is and why it exists", 20)
def purpose(facts: Facts) -> Verdict:
    text = (facts.product.description.purpose if facts.product.description else None) or ""
    words = len(text.split())
    hint = (
        f"write description.purpose in {facts.product_file}: what the data is, where it comes from, "
        f"who it is for (at least {MIN_PURPOSE_WORDS} words)"
    )
    if not words:
        return Verdict(0.0, "no purpose given", hint)
    return Verdict.share(words, MIN_PURPOSE_WORDS, f"purpose of {count(words, 'word')}", hint)


@criterion("discoverable", "usage", "Usage and limitations are described", 15)
def usage(facts: Facts) -> Verdict:
    description = facts.product.description
    given = {
        "usage": bool(description and description.usage),
        "limitations": bool(description and description.limitations),
    }
    missing = [name for name, ok in given.items() if not ok]
    evidence = "usage and limitations described" if not missing else f"no {' and no '.join(missing)}"
    hint = f"add description.{' and description.'.join(missing)} to {facts.product_file}"
    return Verdict.share(len(given) - len(missing), len(given), evidence, hint)


@criterion("discoverable", "tags", "Tagged with at least two keywords", 10)
def tags(facts: Facts) -> Verdict:
    found = facts.product.tags or []
    evidence = f"{count(len(found), 'tag')}: {names(found)}" if found else "no tags"
    return Verdict.share(len(found), 2, evidence, f"add tags: [...] to {facts.product_file}")


@criterion("discoverable", "owner", "An owner and a support channel are named", 20)
def owner(facts: Facts) -> Verdict:
    product = facts.product
    who, support = product.owner_name, [s.channel for s in product.support or []]
    parts = [
        f"owner {who}" if who else "no owner",
        f"support {names(support)}" if support else "no support channel",
    ]
    missing = ([] if who else ["owner (or a team member with role: owner)"]) + (
        [] if support else ["support: [{channel, url}]"]
    )
    hint = f"add {' and '.join(missing)} to {facts.product_file}"
    return Verdict.share(bool(who) + bool(support), 2, ", ".join(parts), hint)


@criterion("discoverable", "domain-type", "Domain and product type are declared", 5)
def domain_and_type(facts: Facts) -> Verdict:
    product = facts.product
    given = {"domain": product.domain, "type": product.type}
    evidence = ", ".join(f"{k} {v}" if v else f"no {k}" for k, v in given.items())
    missing = [k for k, v in given.items() if not v]
    kinds = "source-aligned, aggregate or consumer-aligned"
    hint = f"set {' and '.join(missing)} in {facts.product_file} (type: {kinds})"
    return Verdict.share(len(given) - len(missing), len(given), evidence, hint)


@criterion("discoverable", "glossary", "Linked to business glossary terms", 10)
def glossary(facts: Facts) -> Verdict:
    terms = glossary_terms(facts.product)
    for contract in facts.contracts.values():
        terms += glossary_terms(contract)
        for obj in contract.objects:
            terms += glossary_terms(obj)
    terms += [t for column in facts.columns for t in glossary_terms(column.prop)]
    unique = list(dict.fromkeys(terms))
    if unique:
        return Verdict(1.0, f"{count(len(unique), 'glossary term')}: {names(unique, 3)}")
    return Verdict(
        0.0,
        "no glossary term linked",
        "link business terms with authoritativeDefinitions: [{type: businessDefinition, url: ...}] on "
        f"the product ({facts.product_file}) or its key columns",
    )


@criterion("discoverable", "search", "Found by the marketplace search", 10)
def search(facts: Facts) -> Verdict:
    indexed = facts.observed.indexed
    if indexed is None:
        return Verdict(0.0, "the search index could not be asked", "open the marketplace once to build it")
    if indexed:
        return Verdict(1.0, f"the marketplace search finds {facts.product.id}")
    return Verdict(0.0, "not in the search index", "register it again with quanta apply (it re-indexes)")


@criterion("discoverable", "queries", "Predefined queries show how to use the data", 10)
def queries(facts: Facts) -> Verdict:
    found = next((p.value for p in facts.product.custom_properties or [] if p.property == "queries"), None)
    given = [q for q in found if isinstance(q, dict) and q.get("sql")] if isinstance(found, list) else []
    if given:
        return Verdict(1.0, f"{count(len(given), 'predefined query', 'predefined queries')}")
    return Verdict(
        0.0,
        "no predefined queries (the product page shows generic ones)",
        f"add customProperties: [{{property: queries, value: [{{name, sql}}]}}] to {facts.product_file}",
    )
