"""Secure: the product says how sensitive each column is, who may read it, and the platform has seen
that hold: what landed was classified, and access went through owner-approved requests."""

from __future__ import annotations

from datetime import timedelta

from quanta.discovery.maturity.facts import Facts, count, names
from quanta.discovery.maturity.scoring import Verdict, criterion

SENSITIVE_LEVELS = {"confidential", "restricted"}
VISIBILITIES = ("public", "organization", "domain", "private")
REQUEST_WAIT = timedelta(days=7)


@criterion("secure", "classified-columns", "Every column is classified (public included)", 40)
def classified_columns(facts: Facts) -> Verdict:
    columns = facts.columns
    bare = [c for c in columns if not c.prop.classification]
    evidence = f"{len(columns) - len(bare)} of {count(len(columns), 'column')} classified"
    hint = (
        f"set classification (public, internal, confidential or restricted) on {len(bare)} column(s): "
        f"{names([c.name for c in bare])}, e.g. {bare[0].at('classification')}"
        if bare
        else None
    )
    return Verdict.share(len(columns) - len(bare), len(columns), evidence, hint)


@criterion("secure", "visibility", "Who may see it is declared (visibility)", 15)
def visibility(facts: Facts) -> Verdict:
    declared = next(
        (p.value for p in facts.product.custom_properties or [] if p.property == "visibility"), None
    )
    hint = (
        f"declare it in {facts.product_file}: customProperties: [{{property: visibility, value: "
        f"{'|'.join(VISIBILITIES)}}}]"
    )
    if declared in VISIBILITIES:
        return Verdict(1.0, f"visibility {declared}")
    default = "domain" if facts.product.type == "source-aligned" else "organization"
    return Verdict(0.5, f"no visibility declared (the default for its type applies: {default})", hint)


@criterion("secure", "unmasked-sensitive", "Sensitive data found on landing is classified", 25)
def unmasked_sensitive(facts: Facts) -> Verdict:
    detections = facts.observed.detections
    if detections is None:
        return Verdict(
            0.0,
            "not landed yet: data is classified when it lands",
            f"build it: quanta build {facts.product.id}",
        )
    by_name = {c.name: c for c in facts.columns} | {f"{c.object}.{c.name}": c for c in facts.columns}
    exposed = []
    for found in detections:
        column = by_name.get(str(found.get("column")))
        tag = str(found.get("tag") or "").lower()
        declared = column is not None and (
            (column.prop.classification or "").lower() in SENSITIVE_LEVELS
            or tag in {t.lower() for t in column.prop.tags or []}
        )
        if not declared:
            exposed.append((str(found.get("column")), tag, column))
    if not detections:
        return Verdict(1.0, "no sensitive data found when the data landed")
    if not exposed:
        return Verdict(1.0, f"{count(len(detections), 'sensitive column')} found on landing, all classified")
    _, tag, column = exposed[0]
    where = column.at("tags") if column else "the contract"
    labels = [f"{n} ({t})" for n, t, _ in exposed]
    return Verdict(
        1.0 - len(exposed) / max(1, len(detections)),
        f"{count(len(exposed), 'detected sensitive column')} not classified: {names(labels)}",
        f"add tags: [{tag}] or classification: confidential, e.g. {where}",
    )


@criterion("secure", "approved-access", "Access grants were approved by an owner", 10)
def approved_access(facts: Facts) -> Verdict:
    grants = [g for g in facts.observed.grants if g.status in ("granted", "revoked") or g.decided_by]
    if not grants:
        return Verdict(1.0, "no grants: access follows the visibility and roles")
    unapproved = [
        g
        for g in grants
        if g.status in ("granted", "revoked") and (not g.decided_by or g.decided_by == g.principal)
    ]
    if not unapproved:
        return Verdict(1.0, f"{count(len(grants), 'access decision')}, each by an approver")
    return Verdict(
        1.0 - len(unapproved) / len(grants),
        f"{count(len(unapproved), 'grant')} without an independent approval: "
        + ", ".join(f"#{g.id}" for g in unapproved),
        "revoke them (quanta access revoke GRANT) and let the requester ask the owner",
    )


@criterion("secure", "requests-answered", f"Access requests are answered within {REQUEST_WAIT.days} days", 10)
def requests_answered(facts: Facts) -> Verdict:
    waiting = [
        g
        for g in facts.observed.grants
        if g.status == "requested" and facts.observed.now - g.requested_at > REQUEST_WAIT
    ]
    if not waiting:
        return Verdict(1.0, "no access request waiting too long")
    return Verdict(
        0.0,
        f"{count(len(waiting), 'request')} waiting more than {REQUEST_WAIT.days} days: "
        + ", ".join(f"#{g.id}" for g in waiting),
        f"answer them: quanta access approve|reject {waiting[0].id}",
    )
