"""Grants: access requests and their decisions, partner-space shares, API tokens, subscriptions.

An area of the :class:`~quanta.mesh.Mesh` facade over the shared :class:`~quanta.mesh.core.MeshCore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from quanta.errors import NotFoundError
from quanta.mesh.governance import contract_objects

TOKEN_USE_PRECISION = timedelta(minutes=1)
"""How stale a token's ``last used`` may be (its listing shows minutes): saves a write per request."""

if TYPE_CHECKING:
    from quanta.governance.access import ProductFacts
    from quanta.governance.model import Principal
    from quanta.governance.requests import RequestDecision, RequestInput, Term
    from quanta.governance.scram import ServerExchange, Verifier
    from quanta.mesh.core import MeshCore
    from quanta.registry.stores.audit_grants import GrantRecord, TokenRecord
    from quanta.spec.documents import JsonObject


@dataclass(frozen=True)
class TokenCheck:
    """A bearer token verified: whom it stands for, its scopes, when it expires, and the catalog
    counter read just before (a token revoked since has moved it)."""

    principal: Principal
    scopes: list[str]
    expires_at: datetime
    catalog: int


@dataclass(frozen=True)
class ScramSignIn:
    """A SCRAM exchange in progress, and the tokens (with their verifiers) that may complete it."""

    exchange: ServerExchange
    records: list[TokenRecord]
    verifiers: list[Verifier]


@dataclass(frozen=True)
class SharedSpace:
    """A partner space of governance.yaml and the products shared into it (declared or granted)."""

    id: str
    kind: str
    products: list[str]


class GrantsArea:
    """Who was given what, for how long, and the tokens that prove who asks."""

    def __init__(self, core: MeshCore) -> None:
        self.core = core

    def share(self, space_id: str, product_id: str, days: int = 365) -> GrantRecord:
        """Share a product into a partner space (stewards and the product's domain owners), if the share
        policies allow it (no restricted or pii data goes to partners)."""
        from quanta.governance.model import GovernanceError

        actor = self.core.principal()
        domain = self.core.product_facts(product_id).domain
        if not (actor.can("manage_spaces") or actor.can("approve_access", domain)):
            raise GovernanceError(f"{actor.id} may not share {product_id}", hint="ask a governance steward")
        if self.core.governance.space(space_id) is None:
            known = ", ".join(s.id for s in self.core.governance.spec.spaces) or "none"
            raise GovernanceError(f"unknown space {space_id!r}", hint=f"spaces in governance.yaml: {known}")
        refused = self.core.share_refusals(space_id, product_id)
        if refused:
            self.core.registry.audit("share", actor.id, product_id, "deny", domain=domain,
                                details={"space": space_id, "policies": refused})  # fmt: skip
            raise GovernanceError("sharing refused by policy: " + "; ".join(refused), hint="quanta policy ls")
        request = self.core.registry.request_grant(
            f"space:{space_id}", product_id, [], f"shared into {space_id}", days
        )
        grant = self.core.registry.decide_grant(request, "granted", actor.id, "share")
        self.core.registry.audit(
            "share", actor.id, product_id, "allow", domain=domain, details={"space": space_id}
        )
        return grant

    # --- tokens ---------------------------------------------------------------------------------

    def create_token(
        self, name: str, *, scopes: list[str] | None = None, days: int = 30, principal_id: str | None = None
    ) -> tuple[str, TokenRecord]:
        """A new API token (returned once, in clear; only its hash is stored) for the acting principal,
        or for another one (admins: service accounts)."""
        import hashlib
        import secrets

        from quanta.governance import scram
        from quanta.governance.model import CONSUMER_SCOPES, SCOPES, GovernanceError

        actor = self.core.principal()
        owner = self.core.principal(principal_id) if principal_id else actor
        if owner.id != actor.id and not actor.can("impersonate"):
            raise GovernanceError(
                f"{actor.id} may not create tokens for {owner.id}", hint="ask a platform admin"
            )
        chosen = scopes or list(CONSUMER_SCOPES)
        unknown = sorted(set(chosen) - set(SCOPES))
        if unknown:
            raise GovernanceError(f"unknown scope {', '.join(unknown)}", hint=f"scopes: {', '.join(SCOPES)}")
        beyond = sorted(s for s in chosen if not _scope_allowed(owner, s))
        if beyond:
            held = [s for s in SCOPES if _scope_allowed(owner, s)]
            raise GovernanceError(
                f"{owner.id} cannot hold scope {', '.join(beyond)}",
                hint=f"a token grants at most what its principal may do: use --scopes "
                f"{','.join(s for s in held if s in chosen) or ','.join(CONSUMER_SCOPES)} "
                f"({owner.id} may hold {', '.join(held)})",
            )
        if not 1 <= days <= 365:
            raise GovernanceError(f"a token lasts 1 to 365 days, not {days}", hint="--days 30")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        wire = scram.verifier(f"qt_{token_id}_{secret}", scram.salt_for(owner.id))
        record = self.core.registry.add_token(token_id, owner.id, name, digest, chosen, days, wire)
        self.core.registry.audit(
            "token.create", actor.id, owner.id, "allow", details={"token": token_id, "scopes": chosen}
        )
        return f"qt_{token_id}_{secret}", record

    def authenticate(self, token: str) -> tuple[Principal, list[str]]:
        """The principal and scopes a bearer token stands for; a clear error for any bad token."""
        checked = self.verify_token(token)
        return checked.principal, checked.scopes

    def verify_token(self, token: str) -> TokenCheck:
        """:meth:`authenticate`, with what a server needs to check the token again cheaply
        (:meth:`token_unchanged`): when it expires, and the catalog counter read before the check."""
        catalog = self.core.registry.catalog_version(0)  # before the token row: a revocation moves it
        principal, scopes, expires = self._verified(token)
        return TokenCheck(principal, scopes, expires, catalog)

    def token_unchanged(self, checked: TokenCheck) -> bool:
        """Whether a token verified earlier still stands without reading its row: not expired, and no
        catalog change since (revoking a token is one). False: verify it again."""
        from datetime import UTC

        return (
            datetime.now(UTC) < checked.expires_at
            and self.core.registry.catalog_version(0) == checked.catalog
        )

    def _verified(self, token: str) -> tuple[Principal, list[str], datetime]:
        import hashlib
        import hmac
        from datetime import UTC

        from quanta.errors import AuthenticationError

        prefix, _, rest = token.strip().partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != "qt" or not token_id or not secret:
            raise AuthenticationError("not a Quanta API token", hint="tokens look like qt_<id>_<secret>")
        found = self.core.registry.token(token_id)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if found is None or not hmac.compare_digest(found[1], digest):
            raise AuthenticationError(
                "unknown or wrong API token", hint="create one: quanta token create NAME"
            )
        record = found[0]
        if record.status == "revoked":
            raise AuthenticationError(
                f"token {token_id} was revoked", hint="create a new one: quanta token create NAME"
            )
        if record.status == "expired":
            raise AuthenticationError(
                f"token {token_id} expired on {record.expires_at:%Y-%m-%d %H:%M} UTC",
                hint="create a new one: quanta token create NAME",
            )
        principal = self.core.principal(record.principal)
        used = record.last_used_at
        if used is None or datetime.now(UTC) - used.replace(tzinfo=used.tzinfo or UTC) > TOKEN_USE_PRECISION:
            self.core.registry.token_used(token_id)  # a write: once a minute is what the listing shows
        expires = record.expires_at.replace(tzinfo=record.expires_at.tzinfo or UTC)
        return principal, record.scopes, expires

    def scram_sign_in(self, principal_id: str) -> ScramSignIn:
        """A SCRAM-SHA-256 exchange for ``principal_id`` whose proof is checked against the verifiers of
        the principal's active tokens (the wire protocol's sign-in: the token is the password)."""
        from quanta.governance.scram import ServerExchange, Verifier, salt_for

        active = [(r, v) for r, v in self.core.registry.scram_verifiers(principal_id) if r.status == "active"]
        records = [r for r, _ in active]
        verifiers = [Verifier.parse(v) for _, v in active]
        return ScramSignIn(ServerExchange(salt_for(principal_id)), records, verifiers)

    def scram_signed_in(self, sign_in: ScramSignIn, index: int) -> tuple[Principal, list[str]]:
        """The principal and scopes of the token a finished exchange proved (recorded as used)."""
        record = sign_in.records[index]
        self.core.registry.token_used(record.id)
        return self.core.principal(record.principal), record.scopes

    def tokens(self) -> list[TokenRecord]:
        actor = self.core.principal()
        return self.core.registry.tokens(None if actor.can("impersonate") else actor.id)

    def revoke_token(self, token_id: str) -> TokenRecord:
        from quanta.governance.model import GovernanceError

        actor = self.core.principal()
        mine = {t.id for t in self.core.registry.tokens(actor.id)}
        if token_id not in mine and not actor.can("impersonate"):
            raise GovernanceError(f"{actor.id} may not revoke token {token_id}", hint="see quanta token ls")
        record = self.core.registry.revoke_token(token_id)
        self.core.registry.audit(
            "token.revoke", actor.id, record.principal, "revoke", details={"token": token_id}
        )
        return record

    # --- access requests ------------------------------------------------------------------------

    def access_terms(self, product_id: str) -> list[Term]:
        """The terms of use a requester accepts with an access request: every term the product's
        contracts state (price, usage, limitations, custom terms); their id is ``terms_digest``."""
        from quanta.governance.requests import terms_of

        self.core.product_facts(product_id)  # raises for an unknown product
        return terms_of(self.core.registry.port_contracts(product_id, None))

    def request_access(
        self,
        product_id: str,
        purpose: str,
        *,
        columns: list[str] | None = None,
        days: int = 90,
        accept_terms: bool = False,
        terms_digest: str | None = None,
    ) -> int:
        """Ask for access; the access policies deny it (raising, with their reason), approve it at once
        (for at most the days they allow) or route it to the owners. Returns the request's id.

        Every term of use the product's contracts state must be accepted (``accept_terms``;
        ``terms_digest``, when given, must be the id of the terms in force): the request, and the grant
        it becomes, record which terms (their id and text), and every read under the grant names them.
        """
        from quanta.governance.model import GovernanceError
        from quanta.governance.requests import RequestInput, terms_of
        from quanta.governance.requests import terms_digest as digest_of

        principal = self.core.principal()
        facts = self.core.product_facts(product_id)  # raises for an unknown product
        contracts = self.core.registry.port_contracts(product_id, None)
        terms = terms_of(contracts)
        request = RequestInput(purpose, columns or [], days, terms, accept_terms, terms_digest)
        _check_request(product_id, contracts, request)
        decision = self._decision(principal, facts, contracts, request)
        details = {"purpose": purpose, "columns": columns or [], "days": days, "policy": decision.policy,
                   "outcome": decision.outcome, "reasons": decision.reasons}  # fmt: skip
        if terms:
            details["terms"] = digest_of(terms)
        if decision.outcome == "deny":
            self.core.registry.audit(
                "access.request", principal.id, product_id, "deny", domain=facts.domain, details=details
            )
            raise GovernanceError(
                f"access request refused by policy {decision.policy}: " + "; ".join(decision.reasons),
                hint="quanta policy ls",
            )
        granted = min(days, decision.max_days or days) if decision.outcome == "approve" else days
        accepted = {"digest": digest_of(terms), "terms": [vars(t) for t in terms]} if terms else None
        grant_id = self.core.registry.request_grant(
            principal.id, product_id, columns or [], purpose, granted,
            policy=(decision.policy or "", "; ".join(decision.reasons)), terms=accepted,
        )  # fmt: skip
        self.core.registry.audit(
            "access.request", principal.id, product_id, "requested", domain=facts.domain,
            details={"request": grant_id, **details},
        )  # fmt: skip
        if decision.outcome == "approve":
            by = f"policy {decision.policy}"[:200]
            self.core.registry.decide_grant(grant_id, "granted", by, "; ".join(decision.reasons))
            self.core.registry.audit(
                "access.grant", by, product_id, "allow", domain=facts.domain,
                details={"request": grant_id, "principal": principal.id, "days": granted,
                         "purpose": purpose, "policy": decision.policy,
                         **({"terms": accepted["digest"]} if accepted else {})},
            )  # fmt: skip
        return grant_id

    def _decision(
        self, principal: Principal, facts: ProductFacts, contracts: JsonObject, request: RequestInput
    ) -> RequestDecision:
        """What the access policies decide about a request."""
        from quanta.governance.requests import decide_request, request_document

        descriptor = self.core.registry.descriptor(facts.product_id, None)
        organisation = self.core.governance.spec.organisation
        document = request_document(principal, facts, descriptor, contracts, request, organisation)
        return decide_request(self.core.policies, document, facts.domain)

    def decide_access(self, request_id: int, approve: bool, reason: str | None = None) -> GrantRecord:
        from quanta.governance.model import GovernanceError

        actor = self.core.principal()
        request = next((g for g in self.core.registry.grants() if g.id == request_id), None)
        if request is None:
            raise NotFoundError(f"no access request {request_id}", hint="see quanta access ls")
        domain = self.core.product_facts(request.product_id).domain
        if not actor.can("approve_access", domain):
            raise GovernanceError(
                f"{actor.id} may not decide access to {request.product_id}", hint="ask its owner"
            )
        if request.status != "requested":
            raise GovernanceError(
                f"request {request_id} is already {request.status}", hint="see quanta access ls"
            )
        decided = self.core.registry.decide_grant(
            request_id, "granted" if approve else "rejected", actor.id, reason
        )
        self.core.registry.audit(
            "access.grant" if approve else "access.reject", actor.id, request.product_id,
            "allow" if approve else "deny", domain=domain,
            details={"request": request_id, "principal": request.principal, "reason": reason},
        )  # fmt: skip
        return decided

    def revoke_access(self, grant_id: int, reason: str | None = None) -> GrantRecord:
        from quanta.governance.model import GovernanceError

        actor = self.core.principal()
        grant = next((g for g in self.core.registry.grants() if g.id == grant_id), None)
        if grant is None:
            raise NotFoundError(f"no grant {grant_id}", hint="see quanta access ls")
        domain = self.core.product_facts(grant.product_id).domain
        if not actor.can("approve_access", domain) and actor.id != grant.principal:
            raise GovernanceError(f"{actor.id} may not revoke grant {grant_id}", hint="ask its owner")
        revoked = self.core.registry.decide_grant(grant_id, "revoked", actor.id, reason)
        self.core.registry.audit(
            "access.revoke", actor.id, grant.product_id, "deny", domain=domain,
            details={"grant": grant_id, "principal": grant.principal, "reason": reason},
        )  # fmt: skip
        return revoked

    # --- subscriptions ---------------------------------------------------------------------------

    def subscribe(self, product_id: str) -> bool:
        """Follow a product (new versions, publishes, failures, breaking changes upstream)."""
        self.core.product_facts(product_id)  # raises for an unknown product
        return self.core.registry.subscribe(self.core.principal().id, product_id)

    def unsubscribe(self, product_id: str) -> bool:
        return self.core.registry.unsubscribe(self.core.principal().id, product_id)

    def subscriptions(self) -> list[str]:
        return self.core.registry.subscriptions(self.core.principal().id)

    def notifications(self, limit: int = 50) -> list[JsonObject]:
        """What happened to the products the acting principal follows, newest first."""
        followed = set(self.subscriptions())
        if not followed:
            return []
        found = []
        for event in self.core.registry.events(limit=2000):
            upstream = event.payload.get("upstream") if event.kind == "contract.breaking_change" else None
            product = upstream or event.subject
            if event.kind in NOTIFIED and (product in followed or event.subject in followed):
                what = NOTIFIED[event.kind]
                found.append(
                    {"at": event.at, "product_id": event.subject, "kind": event.kind, "message": what,
                     "details": event.payload}
                )  # fmt: skip
            if len(found) >= limit:
                break
        return found

    def access_requests(self, product_id: str | None = None) -> list[GrantRecord]:
        """Requests and grants the acting principal may see: its own, and those on products of the
        domains it approves for (all of them, for stewards and admins)."""
        actor = self.core.principal()
        found = self.core.registry.grants(product_id=product_id)
        if actor.can("read_any_product"):
            return found
        return [
            g
            for g in found
            if g.principal == actor.id or actor.can("approve_access", g.product_id.partition(".")[0])
        ]

    def spaces(self) -> list[SharedSpace]:
        """The partner spaces of governance.yaml, each with the products shared into it."""
        shared = [g for g in self.access_requests() if g.principal.startswith("space:") and g.active()]
        spaces = []
        for space in self.core.governance.spec.spaces:
            products = sorted(
                {*space.products, *(g.product_id for g in shared if g.principal == f"space:{space.id}")}
            )
            spaces.append(SharedSpace(space.id, space.kind, products))
        return spaces


NOTIFIED = {
    "product.registered": "a new version was registered",
    "product.published": "new data was published",
    "product.rolled_back": "it was rolled back to an earlier version",
    "build.failed": "a build failed",
    "build.quarantined": "new data failed its contract and was quarantined",
    "contract.breaking_change": "an input's contract changed incompatibly",
}
"""The events a subscriber hears about, and how they read."""


def _check_request(product_id: str, contracts: JsonObject, request: RequestInput) -> None:
    """A request has a purpose, a duration of 1 to 365 days, known columns, and accepts every term of
    use the product's contracts state (the terms in force, when it names their id)."""
    from quanta.governance.model import GovernanceError
    from quanta.governance.requests import check_terms

    if not request.purpose.strip():
        raise GovernanceError(
            "an access request needs a purpose", hint="--purpose 'what you will do with it'"
        )
    if request.days < 1 or request.days > 365:
        raise GovernanceError(f"duration {request.days} days is out of range", hint="ask for 1 to 365 days")
    objects = [o for c in contracts.values() for o in contract_objects(c)]
    known = {p.column for o in objects for p in o.properties or []}
    unknown = sorted(set(request.columns) - known)
    if unknown:
        raise GovernanceError(
            f"{product_id} has no column {', '.join(unknown)}", hint=f"columns: {', '.join(sorted(known))}"
        )
    check_terms(product_id, request.terms, request.terms_accepted, request.terms_digest)


def _scope_allowed(principal: Principal, scope: str) -> bool:
    """A token's scope may not exceed its principal's roles."""
    if scope == "admin":
        return principal.can("impersonate")
    if scope == "metrics":  # the metrics name every product: platform-wide readers only
        from quanta.governance.model import PLATFORM_ROLES

        return principal.space is None and bool(principal.roles & PLATFORM_ROLES)
    if scope == "write":
        return principal.can("publish", next(iter(principal.domains), None)) or principal.can(
            "read_any_product"
        )
    return True
