"""Governance commands: who am I, access requests and grants, the audit log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from quanta.interfaces.cli import render
from quanta.interfaces.cli.app import Debug, Json, app, open_mesh

access_app = typer.Typer(help="Access requests and grants: request, approve, reject, revoke, list.")
app.add_typer(access_app, name="access")
token_app = typer.Typer(help="API tokens for the REST API and SQL clients: create, list, revoke.")
app.add_typer(token_app, name="token")
space_app = typer.Typer(help="Partner spaces: list them, share a product into one (share policies apply).")
app.add_typer(space_app, name="space")
audit_app = typer.Typer(help="The tamper-evident audit log: list entries (per domain), verify the chain.")
app.add_typer(audit_app, name="audit")


@app.command()
def whoami(json_: Json = False, debug: Debug = False) -> None:
    """The acting principal (QUANTA_USER): roles, domains, clearance, tags, partner space."""
    p = open_mesh().principal()
    data = {
        "id": p.id,
        "roles": sorted(p.roles),
        "domains": sorted(p.domains),
        "clearance": p.clearance,
        "tags": sorted(p.tags),
        "space": p.space,
        "attributes": p.attributes,
    }
    if json_:
        render.emit_json(data)
        return
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        render.out.print(
            f"[bold]{key}[/bold]: {render.escape(str(shown if shown not in (None, '') else '-'))}"
        )


@access_app.command("request")
def access_request(
    product_id: Annotated[str, typer.Argument(metavar="ID", help="The product to read.")],
    purpose: Annotated[str, typer.Option(help="What you will use it for (shown to the owner).")],
    columns: Annotated[str | None, typer.Option(help="Only these columns, comma-separated.")] = None,
    days: Annotated[int, typer.Option(help="How long the grant should last.")] = 90,
    accept_terms: Annotated[
        bool,
        typer.Option(
            "--accept-terms",
            help="Accept every term of use the product states (price, usage, limitations, custom terms: "
            "quanta access terms ID); required when it states some.",
        ),
    ] = False,
    terms_digest: Annotated[
        str | None,
        typer.Option(
            "--terms-digest",
            metavar="DIGEST",
            help="The id of the terms you read (sha256:..., from quanta access terms ID): refused if "
            "they changed since.",
        ),
    ] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Ask for access with a purpose, optional columns and a duration: the access policies grant it at
    once, refuse it (saying why), or send it to the product's owners; the answer names the policy.
    The product's terms of use are shown, and must be accepted (--accept-terms)."""
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    mesh = open_mesh()
    request_id = mesh.request_access(
        product_id, purpose, columns=wanted, days=days, accept_terms=accept_terms, terms_digest=terms_digest
    )
    grant = next(g for g in mesh.access_requests(product_id) if g.id == request_id)
    if json_:
        render.emit_json({"request": request_id, **asdict(grant)})
        return
    if grant.terms:
        render.out.print(f"accepted the terms of use of {product_id} (terms {grant.terms['digest']}):")
        for term in grant.terms["terms"]:
            render.out.print(f"  [bold]{term['kind']}[/bold] ({term['port']}): {render.escape(term['text'])}")
    if grant.status == "granted":
        until = f" until {grant.expires_at:%Y-%m-%d}" if grant.expires_at else ""
        render.out.print(f"[green]✓[/green] request #{request_id} granted{until} by {grant.decided_by}")
        render.out.print(f"  {render.escape(grant.reason or '')}")
        return
    render.out.print(f"request #{request_id} sent to the owners of {product_id}")
    if grant.policy_reason:
        by = f" ({grant.policy})" if grant.policy else ""
        render.out.print(f"  {render.escape(grant.policy_reason)}{render.escape(by)}")


@access_app.command("terms")
def access_terms(
    product_id: Annotated[str, typer.Argument(metavar="ID", help="The product.")],
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """The terms of use of a product (price, usage, limitations, custom terms) and their id: a request
    must accept every one (--accept-terms)."""
    from quanta.mesh import terms_digest

    terms = open_mesh().access_terms(product_id)
    digest = terms_digest(terms) if terms else None
    if json_:
        render.emit_json({"product_id": product_id, "digest": digest, "terms": terms})
        return
    if not terms:
        render.out.print(f"{product_id} states no terms of use")
        return
    for term in terms:
        render.out.print(f"[bold]{term.kind}[/bold] ({term.port}): {render.escape(term.text)}")
    render.out.print(
        f"terms {digest}: accept them with quanta access request {product_id} --purpose '...' "
        f"--accept-terms [--terms-digest {digest}]",
        markup=False,
    )


@access_app.command("approve")
def access_approve(
    request_id: Annotated[int, typer.Argument(metavar="REQUEST")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Approve a request: the grant lasts the requested number of days."""
    _decided(open_mesh().decide_access(request_id, True, reason), json_)


@access_app.command("reject")
def access_reject(
    request_id: Annotated[int, typer.Argument(metavar="REQUEST")],
    reason: Annotated[str | None, typer.Option(help="Why (shown to the requester).")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Reject a request."""
    _decided(open_mesh().decide_access(request_id, False, reason), json_)


@access_app.command("revoke")
def access_revoke(
    grant_id: Annotated[int, typer.Argument(metavar="GRANT")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Revoke a grant now."""
    _decided(open_mesh().revoke_access(grant_id, reason), json_)


def _decided(grant: Any, json_: bool) -> None:
    if json_:
        render.emit_json(grant)
        return
    until = f" until {grant.expires_at:%Y-%m-%d}" if grant.status == "granted" and grant.expires_at else ""
    render.out.print(f"#{grant.id} {grant.principal} ► {grant.product_id}: {grant.status}{until}")


@access_app.command("ls")
def access_ls(
    product_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Access requests and grants, with their status and expiry."""
    grants = open_mesh().access_requests(product_id)
    if json_:
        render.emit_json(grants)
        return
    rows = [
        [
            str(g.id), g.principal, g.product_id, ", ".join(g.columns) or "all", g.purpose,
            "expired" if g.status == "granted" and not g.active() else g.status,
            f"{g.expires_at:%Y-%m-%d}" if g.expires_at else "-", g.decided_by or g.policy or "-",
        ]
        for g in grants
    ]  # fmt: skip
    headers = ["#", "principal", "product", "columns", "purpose", "status", "expires", "decided by"]
    render.table(None, headers, rows)


@audit_app.command("ls")
def audit_ls(
    domain: Annotated[
        str | None, typer.Option(help="Only this domain's entries (its own audit view).")
    ] = None,
    limit: Annotated[int, typer.Option(help="The newest this many entries.")] = 50,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Audit entries: every query, access decision, grant and publish, oldest first."""
    entries = open_mesh().audit_log(domain, limit)
    if json_:
        render.emit_json(entries)
        return
    rows = [
        [
            str(e.seq),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.kind,
            e.actor,
            e.subject,
            e.decision,
            _summary(e.details, e.actor),
        ]
        for e in entries
    ]
    render.table(None, ["#", "at (UTC)", "kind", "actor", "subject", "decision", "details"], rows)


def _summary(details: dict[str, Any], actor: str) -> str:
    parts = []
    if details.get("as") and details.get("as") != actor:
        parts.append(f"as {details['as']}")
    if details.get("masked"):
        parts.append("masked " + ", ".join(details["masked"]))
    if details.get("row_filter"):
        parts.append(f"rows where {details['row_filter']}")
    if details.get("error"):
        parts.append(str(details["error"])[:80])
    return "; ".join(parts)


@audit_app.command("verify")
def audit_verify(json_: Json = False, debug: Debug = False) -> None:
    """Recompute the hash chain: report every edited, deleted or reordered entry (exit 1 if any)."""
    count, problems = open_mesh().verify_audit()
    if json_:
        render.emit_json({"entries": count, "intact": not problems, "problems": problems})
    else:
        for problem in problems:
            render.err.print(f"[red]✗[/red] {render.escape(problem)}")
        if not problems:
            render.out.print(f"[green]✓[/green] audit log intact: {count} entries, every link verified")
    if problems:
        raise typer.Exit(1)


@audit_app.command("verify-receipt")
def audit_verify_receipt(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="A receipt (JSON); '-' reads stdin.")],
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Check a query receipt: the signature, and that the audit log still holds its entries unchanged
    (exit 1 with every reason if not)."""
    import json
    import sys
    from pathlib import Path

    from quanta.errors import QuantaError

    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise QuantaError(
            f"cannot read {where}: {exc.strerror}", hint="pass a receipt file, or - for stdin"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuantaError(
            f"{where}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})",
            hint="pass the receipt as a query wrote it (quanta query ... --receipt FILE)",
        ) from None
    if isinstance(document, dict) and isinstance(document.get("receipt"), dict):
        document = document["receipt"]  # a whole query result (REST, --json) holds its receipt
    check = open_mesh().verify_receipt(document)
    if json_:
        render.emit_json(check)
    elif check.valid:
        entries = ", ".join(str(i) for i in check.audit_ids)
        render.out.print(f"[green]✓[/green] receipt {check.receipt_id} verified: audit entries {entries}")
    else:
        for problem in check.problems:
            render.err.print(f"[red]✗[/red] {render.escape(problem)}")
    if not check.valid:
        raise typer.Exit(1)


policy_app = typer.Typer(help="Policies as code (Rego): list them with their lifecycle, run their tests.")
app.add_typer(policy_app, name="policy")


@policy_app.command("ls")
def policy_ls(json_: Json = False, debug: Debug = False) -> None:
    """Every policy: shipped, workspace (policies/) and domain-local (domains/<d>/policies/)."""
    rows = open_mesh().policies.explain()
    if json_:
        render.emit_json(rows)
        return
    render.table(
        None,
        ["policy", "version", "title", "stage", "events", "scope"],
        [[r["id"], r["version"], r["title"], r["stage"], ", ".join(r["events"]), r["scope"]] for r in rows],
    )


@policy_app.command("test")
def policy_test(json_: Json = False, debug: Debug = False) -> None:
    """Run the test_* rules of every *_test.rego file (exit 1 when one fails)."""
    results = open_mesh().policies.test()
    if json_:
        render.emit_json(
            [{"test": f"{r.package}.{r.name}", "outcome": r.outcome, "message": r.message} for r in results]
        )
    else:
        for r in results:
            mark = "[green]✓[/green]" if r.passed else "[red]✗[/red]"
            note = f" — {render.escape(r.message)}" if r.message else ""
            render.out.print(f"{mark} {r.package}.{r.name} ({r.source.name}:{r.line}){note}")
        passed = sum(r.passed for r in results)
        render.out.print(f"{passed} of {len(results)} policy tests passed")
    if any(not r.passed for r in results):
        raise typer.Exit(1)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'tableau'.")],
    scopes: Annotated[
        str,
        typer.Option(
            help="Comma-separated: read, request, write, admin, metrics, agent (replaces the default)."
        ),
    ] = "read,request",
    days: Annotated[int, typer.Option(help="Days until it expires (1-365).")] = 30,
    for_: Annotated[str | None, typer.Option("--for", help="Another principal (admins).")] = None,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Create a token; it is shown once (only its hash is kept)."""
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    token, record = open_mesh().create_token(name, scopes=wanted, days=days, principal_id=for_)
    if json_:
        render.emit_json({"token": token, "id": record.id, "expires_at": record.expires_at})
        return
    render.out.print(token)
    render.err.print(
        f"token {record.id} for {record.principal}, expires {record.expires_at:%Y-%m-%d}; store it now"
    )


@token_app.command("ls")
def token_ls(json_: Json = False, debug: Debug = False) -> None:
    """Your tokens (every token, for admins), without their secrets."""
    tokens = open_mesh().tokens()
    if json_:
        render.emit_json(tokens)
        return
    rows = [
        [t.id, t.principal, t.name, ", ".join(t.scopes), t.status, f"{t.expires_at:%Y-%m-%d}",
         f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"]
        for t in tokens
    ]  # fmt: skip
    render.table(None, ["id", "principal", "name", "scopes", "status", "expires", "last used"], rows)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID")], json_: Json = False, debug: Debug = False
) -> None:
    """Revoke a token now."""
    record = open_mesh().revoke_token(token_id)
    if json_:
        render.emit_json(record)
        return
    render.out.print(f"token {record.id} ({record.name}) revoked")


@space_app.command("ls")
def space_ls(json_: Json = False, debug: Debug = False) -> None:
    """Spaces from governance.yaml with the products shared into each."""
    rows = [{"space": s.id, "kind": s.kind, "products": s.products} for s in open_mesh().spaces()]
    if json_:
        render.emit_json(rows)
        return
    render.table(
        None, ["space", "kind", "products"], [[r["space"], r["kind"], ", ".join(r["products"])] for r in rows]
    )


@space_app.command("share")
def space_share(
    space: Annotated[str, typer.Argument(metavar="SPACE")],
    product_id: Annotated[str, typer.Argument(metavar="ID")],
    days: Annotated[int, typer.Option(help="How long the share lasts.")] = 365,
    json_: Json = False,
    debug: Debug = False,
) -> None:
    """Share a product into a space; refused when it holds restricted or pii data."""
    grant = open_mesh().share(space, product_id, days)
    if json_:
        render.emit_json(grant)
        return
    render.out.print(f"{product_id} shared into {space} until {grant.expires_at:%Y-%m-%d}")
