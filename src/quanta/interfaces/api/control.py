"""Control: access requests and grants, subscriptions, apply and build, policies, the audit log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from quanta.interfaces.api.deps import CallerDep, Limit, Offset
from quanta.interfaces.api.models import (
    AccessRequestIn,
    ApplyOut,
    AuditPage,
    BuildOut,
    DecisionIn,
    GrantPage,
    GrantRecord,
    NotificationOut,
    PolicyOut,
    ReceiptCheckOut,
    TermOut,
    problem_responses,
)
from quanta.mesh import TermsNotAccepted, answers, terms_digest
from quanta.mesh.answers import page

router = APIRouter(responses=problem_responses(400, 401, 403, 404, 409, 413, 422), tags=["control"])


@router.get("/access-requests", response_model=GrantPage)
def list_requests(
    caller: CallerDep,
    limit: Limit = 50,
    offset: Offset = 0,
    product: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, object]:
    """Requests and grants the caller may see: its own and those it may decide."""
    with caller.act() as mesh:
        grants = [asdict(g) for g in mesh.access_requests(product)]
    return page(grants, limit, offset)


@router.post("/access-requests", response_model=GrantRecord, status_code=201)
def request_access(caller: CallerDep, body: AccessRequestIn) -> dict[str, object]:
    """Ask for access, with a purpose, optional columns and a duration. The access policies decide:
    approved at once (``status: granted``, ``decided_by`` names the policy and its version), refused
    (403, naming the policy) or routed to the product's owners (``policy`` names what routed it)."""
    caller.require("request")
    with caller.act() as mesh:
        try:
            return answers.access_request(
                mesh,
                body.product_id,
                body.purpose,
                columns=body.columns,
                days=body.days,
                accept_terms=body.accept_terms,
                terms_digest=body.terms_digest,
            )
        except TermsNotAccepted as exc:  # the problem names the terms, their id and how to accept
            raise exc.for_interface("rest") from None


@router.get("/products/{product_id}/access-terms", response_model=list[TermOut])
def access_terms(caller: CallerDep, product_id: str, response: Response) -> list[dict[str, object]]:
    """The terms of use an access request to the product must accept (``accept_terms``): every term
    its contracts state. Their id is in the ``X-Quanta-Terms-Digest`` header (a request may name it
    as ``terms_digest`` to accept exactly these)."""
    with caller.act() as mesh:
        terms = mesh.access_terms(product_id)
    if terms:
        response.headers["X-Quanta-Terms-Digest"] = terms_digest(terms)
    return [asdict(t) for t in terms]


@router.post("/access-requests/{request_id}/approve", response_model=GrantRecord)
def approve(caller: CallerDep, request_id: int, body: DecisionIn | None = None) -> dict[str, object]:
    caller.require("write")
    with caller.act() as mesh:
        return asdict(mesh.decide_access(request_id, True, body.reason if body else None))


@router.post("/access-requests/{request_id}/reject", response_model=GrantRecord)
def reject(caller: CallerDep, request_id: int, body: DecisionIn | None = None) -> dict[str, object]:
    caller.require("write")
    with caller.act() as mesh:
        return asdict(mesh.decide_access(request_id, False, body.reason if body else None))


@router.post("/grants/{grant_id}/revoke", response_model=GrantRecord)
def revoke(caller: CallerDep, grant_id: int, body: DecisionIn | None = None) -> dict[str, object]:
    caller.require("write")
    with caller.act() as mesh:
        return asdict(mesh.revoke_access(grant_id, body.reason if body else None))


@router.get("/policies", response_model=list[PolicyOut])
def list_policies(caller: CallerDep) -> list[dict[str, object]]:
    with caller.act() as mesh:
        return mesh.policies.explain()


@router.get("/audit", response_model=AuditPage)
def audit(
    caller: CallerDep,
    limit: Limit = 100,
    offset: Offset = 0,
    domain: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, object]:
    """Audit entries (a domain's own view with ``domain``), oldest first."""
    with caller.act() as mesh:
        entries = [asdict(e) for e in mesh.audit_log(domain)]
    for entry in entries:
        entry.pop("prev_hash", None)
        entry.pop("hash", None)
    return page(entries, limit, offset)


@router.post("/audit/verify-receipt", response_model=ReceiptCheckOut)
def verify_receipt(
    caller: CallerDep,
    receipt: Annotated[dict[str, Any], Body(description="A receipt, as a query result carries it.")],
) -> dict[str, object]:
    """Check a query receipt: its signature (this mesh's receipt key signed exactly these fields) and
    the audit entries it names (present, unchanged, and the chain unbroken up to them)."""
    with caller.act() as mesh:
        return asdict(mesh.verify_receipt(receipt))


@router.get("/subscriptions", response_model=list[str])
def list_subscriptions(caller: CallerDep) -> list[str]:
    """Products the caller follows."""
    with caller.act() as mesh:
        return mesh.subscriptions()


@router.put("/products/{product_id}/subscription", status_code=204)
def subscribe(caller: CallerDep, product_id: str) -> Response:
    """Follow a product: new versions, publishes, quarantines, breaking changes upstream."""
    caller.require("request")
    with caller.act() as mesh:
        mesh.subscribe(product_id)
    return Response(status_code=204)


@router.delete("/products/{product_id}/subscription", status_code=204)
def unsubscribe(caller: CallerDep, product_id: str) -> Response:
    caller.require("request")
    with caller.act() as mesh:
        mesh.unsubscribe(product_id)
    return Response(status_code=204)


@router.get("/notifications", response_model=list[NotificationOut])
def notifications(
    caller: CallerDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, object]]:
    """What happened to the products the caller follows, newest first."""
    with caller.act() as mesh:
        return mesh.notifications(limit)


@router.post("/apply", response_model=ApplyOut)
def apply(caller: CallerDep) -> dict[str, object]:
    """Validate the workspace and register every changed product (producers, in their domains)."""
    caller.require("write")
    with caller.act() as mesh:
        report = mesh.apply()
    return {
        "applied": [
            {
                "product_id": a.registration.product_id,
                "version": a.registration.version,
                "status": a.registration.status,
            }
            for a in report.applied
        ],
        "warnings": [str(w) for w in report.warnings],
    }


@router.post("/products/{product_id}/build", response_model=list[BuildOut])
def build(caller: CallerDep, product_id: str, force: bool = False) -> list[dict[str, object]]:
    """Build, audit and publish one product now (write-audit-publish; producers, in their domains)."""
    caller.require("write")
    with caller.act() as mesh:
        results = mesh.build([product_id], force=force)
    return [
        {
            "product_id": r.product_id,
            "status": r.status,
            "version": r.version,
            "rows": r.rows,
            "error": r.error,
        }
        for r in results
    ]
